"""`batos eval`, `send`, `run`, `inspect` through typer's CliRunner and one real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import batos
from batos.cli.lang_cmd import send_source
from batos.cli.main import app

runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
    else CliRunner()


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM", "off")


@pytest.fixture
def img(tmp_path: Path) -> Path:
    path = tmp_path / "cli.fs"
    with batos.open_image(path) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 0. "
            "counter >> increment [ count := count + 1. ^count ]. "
            "Image at: #d put: Dictionary new"), note="setup")
    return path


def cli(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


# --- eval -------------------------------------------------------------------------------------

def test_eval_prints_the_print_string(img: Path) -> None:
    result = cli("eval", "3 + 4 * 2", "-i", img)
    assert result.exit_code == 0
    assert result.stdout == "14\n"
    assert cli("eval", "'it''s'", "--image", img).stdout == "'it''s'\n"
    assert cli("eval", "#(1 $a #b)", "-i", img).stdout == "#(1 $a #b)\n"


def test_eval_json(img: Path) -> None:
    result = cli("eval", "3/4", "-i", img, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"ok": True, "printString": "(3/4)"}
    data = json.loads(cli("eval", "40 + 2", "-i", img, "--json").stdout)
    assert data == {"ok": True, "printString": "42", "value": 42}


def test_eval_commits_one_transaction_and_no_save_does_not(img: Path) -> None:
    assert cli("eval", "counter increment", "-i", img).stdout == "1\n"
    assert cli("eval", "counter increment", "-i", img, "--no-save").stdout == "2\n"
    assert cli("eval", "counter count", "-i", img).stdout == "1\n"
    with batos.open_image(img) as im:
        notes = [h.get("note") or h.get("description") for h in im.history(5)]
    assert any("eval counter increment" in str(n) for n in notes)


def test_eval_syntax_error_shows_caret(img: Path) -> None:
    result = cli("eval", "3 + (4 * ", "-i", img)
    assert result.exit_code == 1
    assert result.stderr == ("error: <eval>:1:10: unexpected end of input: expected an "
                             "expression\n  3 + (4 * \n           ^\n")


def test_eval_unknown_name_suggests(img: Path) -> None:
    result = cli("eval", "countr increment", "-i", img)
    assert result.exit_code == 1
    assert "unknown name 'countr' (did you mean counter?)" in result.stderr


def test_eval_not_understood(img: Path) -> None:
    result = cli("eval", "3 frobnicate", "-i", img, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["error"] == "MessageNotUnderstood"
    assert data["message"].startswith("<eval>:1:3: 3 does not understand #frobnicate")


def test_eval_read_only(img: Path) -> None:
    assert cli("eval", "counter count", "-i", img, "--read-only").stdout == "0\n"
    result = cli("eval", "counter increment", "-i", img, "--read-only")
    assert result.exit_code == 1
    assert "read-only" in result.stderr
    assert cli("eval", "counter count", "-i", img).stdout == "0\n"


# --- send -------------------------------------------------------------------------------------

def test_send_joins_arguments(img: Path) -> None:
    assert cli("send", "counter", "increment", "-i", img).stdout == "1\n"
    assert cli("send", "-i", img, "counter", "increment").stdout == "2\n"
    result = cli("send", "d", "at:", "3", "put:", "4", "-i", img)
    assert result.exit_code == 0 and result.stdout == "4\n"
    assert cli("eval", "d at: 3", "-i", img).stdout == "4\n"
    assert cli("send", "d", "at:", "-1", "put:", "'minus one'", "-i", img).stdout == \
        "'minus one'\n"
    # an argument with spaces (quoted in the shell) is one string
    assert cli("send", "d", "at:", "5", "put:", "hello world", "-i", img).stdout == \
        "'hello world'\n"


def test_send_source() -> None:
    assert send_source("counter", ["at:", "3", "put:", "4"]) == "counter at: 3 put: 4"
    assert send_source("g", ["greet:", "Bob Smith"]) == "g greet: 'Bob Smith'"
    assert send_source("g", ["greet:", "'Bob'"]) == "g greet: 'Bob'"
    assert send_source("g", ["greet:", "it's me"]) == "g greet: 'it''s me'"
    assert send_source("g", ["foo:", "(3 + 4)"]) == "g foo: (3 + 4)"


def test_send_errors(img: Path) -> None:
    result = cli("send", "genesis", "frobnicate", "-i", img)
    assert result.exit_code == 1
    assert "<send>:1:9: a Proto(genesis) does not understand #frobnicate" in result.stderr
    assert cli("send", "counter", "-i", img).exit_code == 2   # no message: usage


# --- inspect -------------------------------------------------------------------------------------

def test_inspect_renders_slots(img: Path) -> None:
    result = cli("inspect", "counter", "-i", img)
    assert result.exit_code == 0
    out = result.stdout
    for fragment in ("a Proto(counter)", "slot", "kind", "defined on", "count", "data",
                     "increment", "bst: count := count + 1. ^count", "traits*", "parent",
                     "#increment (bst)"):
        assert fragment in out


def test_inspect_json(img: Path) -> None:
    data = json.loads(cli("inspect", "counter", "-i", img, "--json").stdout)
    assert data["printString"] == "a Proto(counter)"
    rows = {r["slot"]: r for r in data["slots"]}
    assert rows["count"] == {"slot": "count", "kind": "data", "value": "0",
                             "defined_on": "counter", "inherited": False}
    assert "description" not in rows     # genesis's own: its clones neither copy nor inherit it
    assert rows["clone"]["inherited"] is True and rows["clone"]["defined_on"] == "traits"
    assert data["methods"] == [{"selector": "increment", "language": "bst",
                                "source": "increment\n\tcount := count + 1. ^count"}]
    data = json.loads(cli("inspect", "3 + 4", "-i", img, "--json").stdout)
    assert data == {"printString": "7", "class": "SmallInteger"}


def test_inspect_unknown_name(img: Path) -> None:
    result = cli("inspect", "countre", "-i", img)
    assert result.exit_code == 1 and "did you mean counter" in result.stderr


def test_inspector_golden() -> None:
    from rich.console import Console

    from batos.image.proto import Proto
    base = Proto("base")
    base.set_slot("greeting", "hi")
    base.define("hello", "hello\n\t^greeting , '!'", language="bst")
    kid = Proto("kid")
    kid.set_slot("parent*", base)
    kid.set_slot("count", 3)
    kid.set_slot("items", [1, 2])
    kid.define("bump", "bump\n\tcount := count + 1", language="bst")
    console = Console(width=100, color_system=None, record=True, file=open(os.devnull, "w"))
    console.print(kid)   # Proto.__rich__ is the Inspector
    assert console.export_text() == (
        "                        a Proto(kid)                        \n"
        "┏━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┓\n"
        "┃ slot     ┃ kind   ┃ value                   ┃ defined on ┃\n"
        "┡━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━┩\n"
        "│ parent*  │ parent │ a Proto(base)           │ kid        │\n"
        "│ count    │ data   │ 3                       │ kid        │\n"
        "│ items    │ data   │ #(1 2)                  │ kid        │\n"
        "│ bump     │ method │ bst: count := count + 1 │ kid        │\n"
        "│ greeting │ data   │ 'hi'                    │ base       │\n"
        "│ hello    │ method │ bst: ^greeting , '!'    │ base       │\n"
        "└──────────┴────────┴─────────────────────────┴────────────┘\n"
        "#bump (bst)\n"
        "bump\n"
        "    count := count + 1\n")


# --- the real console script -----------------------------------------------------------------------

def _batos(*args: Any, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATOS_LLM": "off", "NO_COLOR": "1"}
    exe = Path(sys.executable).with_name("batos")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "batos.cli.main"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, env=env, **kw)


def test_console_script_end_to_end(img: Path, tmp_path: Path) -> None:
    out = _batos("send", "counter", "increment", "-i", img)
    assert (out.returncode, out.stdout) == (0, "1\n"), out.stderr
    script = tmp_path / "m.bst"
    script.write_text("Transcript show: 'count is ', counter count printString; cr.\n"
                      "counter nonesuch.\n")
    out = _batos("run", script, "-i", img)
    assert out.returncode == 1
    assert out.stdout == "count is 1\n"
    assert out.stderr == (f"error: {script}:2:9: a Proto(counter) does not understand "
                          "#nonesuch\n  counter nonesuch.\n          ^\n")


def test_locked_image_exits_3(img: Path) -> None:
    with batos.open_image(img):
        out = _batos("eval", "3 + 4", "-i", img)
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith("error:")


# --- the typer-free fast path for cold eval/send ---------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["eval", "3 + 4 * 2"],
    ["eval", "--json", "40 + 2"],
    ["eval", "3 + (4 *"],
    ["eval", "countr", "--json"],
    ["eval", "counter increment", "--no-save"],
    ["eval", "counter increment", "--read-only"],
    ["send", "counter", "increment"],
    ["send", "d", "at:", "-1", "put:", "hello world", "--json"],
    ["send", "genesis", "frobnicate"],
])
def test_fast_path_matches_typer(img: Path, argv: list[str], capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:
    import shutil

    from batos.cli.lang_cmd import fast_path
    twin = tmp_path / "twin.fs"
    shutil.copy(img, twin)
    typer_result = cli(*argv, "-i", twin)
    code = fast_path([*argv, "--image", str(img)])
    out = capsys.readouterr()
    assert code == typer_result.exit_code
    assert out.out == typer_result.stdout
    assert out.err == typer_result.stderr.replace(str(twin), str(img))
    assert cli("eval", "counter count", "-i", img).stdout == \
        cli("eval", "counter count", "-i", twin).stdout


@pytest.mark.parametrize("argv", [
    [], ["repl"], ["eval"], ["eval", "--help"], ["eval", "1", "2"], ["send", "counter"],
    ["eval", "1", "--persona", "BRICK"], ["eval", "1", "-i"], ["run", "x.bst"],
])
def test_fast_path_leaves_the_rest_to_typer(argv: list[str]) -> None:
    from batos.cli.lang_cmd import fast_path
    assert fast_path(argv) is None


def test_inspect_collections_lists_elements(img: Path) -> None:
    data = json.loads(cli("inspect", "#(1 $a 'x')", "-i", img, "--json").stdout)
    assert data == {"printString": "#(1 $a 'x')", "class": "Array",
                    "elements": [{"key": "1", "value": "1"}, {"key": "2", "value": "$a"},
                                 {"key": "3", "value": "'x'"}]}
    data = json.loads(cli("inspect", "Dictionary new at: #a put: 1; yourself", "-i", img,
                          "--json").stdout)
    assert data["elements"] == [{"key": "#a", "value": "1"}]
    out = cli("inspect", "(1 to: 100) asOrderedCollection", "-i", img).stdout
    assert "│ 50  │ 50    │" in out and "│ 51 " not in out
    data = json.loads(cli("inspect", "#(3 1 2) asSet", "-i", img, "--json").stdout)
    assert data["class"] == "Set" and [e["value"] for e in data["elements"]] == ["1", "2", "3"]
