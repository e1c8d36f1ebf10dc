"""``batos repl`` as a command: pipe mode (stdin not a TTY), exit codes, options."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from batos.image.image import open_image


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e.update(BATOS_LLM="off", XDG_STATE_HOME=str(tmp_path / "state"),
             XDG_CONFIG_HOME=str(tmp_path / "config"))
    e.pop("NO_COLOR", None)
    e.pop("BATOS_REPL_CONFIG", None)
    return e


def repl(tmp_path, env, stdin, *args):
    return subprocess.run(["batos", "repl", str(tmp_path / "x.fs"), *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


def test_one_line_per_statement_and_exit_1_on_an_error(tmp_path, env):
    result = repl(tmp_path, env, "3 + 4\ngenesis foo\n")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "7"
    assert lines[1].startswith("ERROR: ") and "foo" in lines[1]
    assert len(lines) == 2
    assert "\x1b[" not in result.stdout + result.stderr      # no prompts, no colours


def test_success_exits_0_and_statements_commit(tmp_path, env):
    script = ("Image at: #counter put: genesis clone\n"
              "counter setSlot: #count value: 41\n"
              "#(1 2\n 3) inject: 0 into: [:a :b |\n  a + b]\n"
              "x := counter count. x + 1\n")
    result = repl(tmp_path, env, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["a Proto(counter)", "a Proto(counter)", "6", "42"]
    with open_image(tmp_path / "x.fs", read_only=True) as image:
        assert image.globals["counter"].count == 41


def test_a_failed_statement_leaves_the_image_unchanged(tmp_path, env):
    result = repl(tmp_path, env, "Image at: #half put: 1. 1/0\nImage includesKey: #half\n")
    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == "false"


def test_transcript_prints_in_pipe_mode(tmp_path, env):
    result = repl(tmp_path, env, "Transcript show: 'hi'; cr. 3\n")
    assert result.stdout.splitlines() == ["hi", "3"]


def test_meta_commands_work_in_pipe_mode(tmp_path, env):
    result = repl(tmp_path, env, "total := 7\n:vars\n:nope\n")
    assert result.returncode == 1
    assert "total" in result.stdout and "unknown command :nope" in result.stdout


def test_no_color_and_colour_free_pipe_output(tmp_path, env):
    env["NO_COLOR"] = "1"
    result = repl(tmp_path, env, ":inspect genesis\n", "--no-color")
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout and "description" in result.stdout


def test_locked_image_exits_3(tmp_path, env):
    with open_image(tmp_path / "x.fs"):
        result = repl(tmp_path, env, "3 + 4\n")
    assert result.returncode == 3
    assert "error:" in result.stderr and "lock" in result.stderr.lower()
    assert result.stdout == ""


def test_read_only_refuses_changes_but_answers_queries(tmp_path, env):
    repl(tmp_path, env, "3\n")                                 # create the image
    with open_image(tmp_path / "x.fs"):                        # another writer holds it
        result = repl(tmp_path, env, "3 + 4\nImage at: #y put: 1\n", "--read-only")
    assert result.stdout.splitlines()[0] == "7"
    assert result.stdout.splitlines()[1].startswith("ERROR: ")
    assert result.returncode == 1


def test_verbose_says_which_config_file_was_loaded(tmp_path, env):
    config = tmp_path / "config" / "batos" / "repl.toml"
    config.parent.mkdir(parents=True)
    config.write_text("vi_mode = true\n")
    result = repl(tmp_path, env, "1\n", "--verbose")
    assert f"config: loaded {config}" in result.stderr
    assert result.stdout == "1\n"
    os.remove(config)
    result = repl(tmp_path, env, "1\n", "--verbose")
    assert f"config: no file at {config}" in result.stderr


def test_image_given_twice_is_a_usage_error(tmp_path, env):
    result = repl(tmp_path, env, "", "--image", str(tmp_path / "other.fs"))
    assert result.returncode == 2


def test_help_lists_the_options(env):
    result = subprocess.run([sys.executable, "-m", "batos.cli.main", "repl", "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    for option in ("--image", "--read-only", "--no-color", "--vi", "--verbose", "--persona"):
        assert option in result.stdout


def test_persona_option_keeps_stdout_for_values(tmp_path, env):
    result = repl(tmp_path, env, "3 + 4\n", "--persona", "robin")
    assert result.returncode == 0 and result.stdout == "7\n"
    assert "ROBIN" in result.stderr
    result = repl(tmp_path, env, "3 + 4\n", "--persona", "nobody")
    assert result.returncode == 1 and "nobody" in result.stdout.lower() + result.stderr.lower()
