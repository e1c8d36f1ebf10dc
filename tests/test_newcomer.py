"""What a newcomer hits in the first hour (issue 19): each through the real CLI.

Generations use the scripted fake backend inside the CLI's own process (a
``python -c`` wrapper around ``batos.cli.main.main`` in a ``use_backend`` block).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import batos

ROOT = Path(__file__).resolve().parents[1]

_FAKE_MAIN = """
import json, sys
from batos.llm import FakeBackend
from batos.mind.dnu import use_backend
from batos.cli.main import main
answers = json.loads(sys.argv[1])
sys.argv = ["batos"] + sys.argv[2:]
with use_backend(FakeBackend(answers, repeat_last=True)):
    main()
"""

ADD_TO = "    self.count = self.count + number\n    self._p_changed = True\n    return self.count\n```"


def batos_cli(*args: Any, answers: list[str] | None = None, cwd: Path | None = None,
              stdin: str | None = None, timeout: float = 120, **env: str) -> Any:
    """Run the CLI in a subprocess (with the fake model when ``answers`` is given)."""
    e = dict(os.environ, BATOS_LLM="off", BATOS_STREAM="0", NO_COLOR="1", **env)
    if answers is None:
        argv = [sys.executable, "-m", "batos.cli.main", *map(str, args)]
    else:
        argv = [sys.executable, "-c", _FAKE_MAIN, json.dumps(answers), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, env=e, input=stdin,
                          cwd=str(cwd) if cwd else None, timeout=timeout)


@pytest.fixture
def img(tmp_path: Path) -> Path:
    """An image with ``counter`` (count = 3)."""
    path = tmp_path / "world.fs"
    with batos.open_image(path) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 3"),
            note="setup")
    return path


def log_json(img: Path) -> list[dict[str, Any]]:
    result = batos_cli("log", "-i", img, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- 1. big integers print in full ----------------------------------------------------

def test_big_integers_print_every_digit(img: Path) -> None:
    for expr, expected in [("(2 raisedTo: 100000) printString size", "30103"),
                           ("(2 raisedTo: 100000) numberOfDigits", "30103"),
                           ("((2 raisedTo: 100000) printString: 10) size", "30103"),
                           ("(2 raisedTo: 100000) negated printString size", "30104"),
                           ("(2 raisedTo: 100000) displayString size", "30103"),
                           ("((2 raisedTo: 20000) / 3) printString size", "6025")]:
        result = batos_cli("eval", "-i", img, "--no-save", expr)
        assert (result.returncode, result.stdout.strip()) == (0, expected), (expr, result.stderr)
    from batos.lang.bigint import decimal_string
    result = batos_cli("eval", "-i", img, "--no-save", "2 raisedTo: 20000")
    assert result.stdout == decimal_string(2 ** 20000) + "\n" and len(result.stdout) == 6022
    data = json.loads(batos_cli("eval", "-i", img, "--no-save", "--json", "10 raisedTo: 5000").stdout)
    assert data["printString"] == "1" + "0" * 5000 and data["value"] == 10 ** 5000


def test_decimal_string_matches_python_and_is_fast() -> None:
    from batos.lang.bigint import decimal_string, digit_count
    for n in (0, 7, -12, 10 ** 4299, 10 ** 4300, -(3 ** 30000), 2 ** 1_000_000 + 12345):
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            assert decimal_string(n) == str(n)
        finally:
            sys.set_int_max_str_digits(old)
    assert digit_count(0) == 1 and digit_count(-999) == 3
    t0 = time.perf_counter()
    assert len(decimal_string(2 ** 3_000_000)) == 903_090
    assert time.perf_counter() - t0 < 3.0  # str() takes ~10 s here: quadratic


# --- 2. a typo in the image path creates nothing ---------------------------------------

def test_missing_image_path_is_refused_and_nothing_created(tmp_path: Path) -> None:
    result = batos_cli("eval", "-i", tmp_path / "no" / "dir" / "x.fs", "3+4")
    assert result.returncode == 3 and result.stdout == ""
    assert "no image at" in result.stderr and "--create" in result.stderr
    assert not (tmp_path / "no").exists()
    result = batos_cli("eval", "-i", tmp_path / "typo.fs", "3+4")
    assert result.returncode == 3 and not list(tmp_path.iterdir())
    for args in (("send", "-i", tmp_path / "typo.fs", "genesis", "yourself"),
                 ("run", "-i", tmp_path / "typo.fs", ROOT / "images" / "counter.bst"),
                 ("image", "info", "-i", tmp_path / "typo.fs"),
                 ("log", "-i", tmp_path / "typo.fs")):
        assert batos_cli(*args).returncode == 3, args
    assert not list(tmp_path.iterdir())


def test_new_images_where_asked(tmp_path: Path) -> None:
    assert batos_cli("eval", "-i", tmp_path / "a" / "b.fs", "--create", "3+4").stdout == "7\n"
    assert batos_cli("eval", "-i", tmp_path / "a" / "b.fs", "3+5").stdout == "8\n"  # exists now
    result = batos_cli("repl", tmp_path / "new.fs", stdin="3+4\n")           # repl NEW.fs
    assert (result.returncode, result.stdout) == (0, "7\n")
    assert (tmp_path / "new.fs").stat().st_size > 0
    result = batos_cli("repl", tmp_path / "nodir" / "new.fs", stdin="3+4\n")  # not in a typo'd dir
    assert result.returncode == 3 and not (tmp_path / "nodir").exists()
    work = tmp_path / "fresh"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BATOS_IMAGE"}
    result = subprocess.run([sys.executable, "-m", "batos.cli.main", "eval", "6*7"], cwd=work,
                            capture_output=True, text=True, env=dict(env, BATOS_LLM="off"),
                            timeout=120)
    assert result.stdout == "42\n" and (work / "live_image.fs").exists()  # the default


_FOREIGN = """
import sys, ZODB, ZODB.FileStorage, transaction
from persistent.mapping import PersistentMapping
db = ZODB.DB(ZODB.FileStorage.FileStorage(sys.argv[1]))
conn = db.open()
conn.root()["accounts"] = PersistentMapping({"alice": 10})
transaction.commit()
db.close()
"""


def test_foreign_zodb_file_refused_unless_adopted(tmp_path: Path) -> None:
    path = tmp_path / "other.fs"
    subprocess.run([sys.executable, "-c", _FOREIGN, str(path)], check=True, timeout=60)
    size = path.stat().st_size
    for extra in ((), ("--read-only",)):
        result = batos_cli("eval", "-i", path, *extra, "3+4")
        assert result.returncode == 3, result.stderr
        assert "another application" in result.stderr and "--adopt" in result.stderr
    assert path.stat().st_size == size  # nothing written into it
    result = batos_cli("eval", "-i", path, "--adopt", "3+4")
    assert (result.returncode, result.stdout) == (0, "7\n")
    assert batos_cli("eval", "-i", path, "genesis isNil").stdout == "false\n"


# --- 3. batos log misses no generation ------------------------------------------------

def test_generation_logged_when_a_later_line_fails(img: Path, tmp_path: Path) -> None:
    script = tmp_path / "later.bst"
    script.write_text("counter addTo: 4.\n1/0.\n")
    result = batos_cli("run", "-i", img, script, answers=[ADD_TO])
    assert result.returncode == 1 and "division by zero" in result.stderr
    rows = log_json(img)
    assert [(r["selector"], r["verdict"]) for r in rows] == [("addTo:", "installed")]
    with batos.open_image(img, read_only=True) as im:      # the method itself was rolled back
        assert im.globals["counter"].count == 3
        assert im.globals["counter"].method("addTo:") is None


def test_generation_logged_after_dry_run(img: Path, tmp_path: Path) -> None:
    script = tmp_path / "dry.bst"
    script.write_text("counter addTo: 4\n")
    result = batos_cli("run", "-i", img, script, "--dry-run", answers=[ADD_TO])
    assert result.returncode == 0, result.stderr
    assert [(r["selector"], r["verdict"]) for r in log_json(img)] == [("addTo:", "installed")]
    result = batos_cli("eval", "-i", img, "--no-save", "counter addTo: 1", answers=[ADD_TO])
    assert result.stdout == "4\n"
    assert len(log_json(img)) == 2


def test_failed_generation_and_earlier_success_both_logged(img: Path, tmp_path: Path) -> None:
    script = tmp_path / "two.bst"
    script.write_text("counter addTo: 4.\ncounter frobnicate\n")
    bad = "    raise ValueError('nope')\n```"
    result = batos_cli("run", "-i", img, script, answers=[ADD_TO, bad])
    assert result.returncode == 1
    kinds = [(r["kind"], r.get("selector"), r.get("verdict")) for r in log_json(img)][::-1]
    assert kinds[0] == ("GenerationRecord", "addTo:", "installed")
    assert ("FailureRecord", "frobnicate", None) in kinds
    assert sum(1 for k in kinds if k[2] == "error") >= 1


def test_ask_logs_every_model_call(img: Path) -> None:
    answers = ["BRICK says: prototypes.", "ROBIN says: and slots.", "Use clones of genesis."]
    result = batos_cli("eval", "-i", img, "genesis ask: 'how should I model a library?'",
                       answers=answers)
    assert result.returncode == 0, result.stderr
    rows = log_json(img)
    assert len(rows) >= 3 and {r["verdict"] for r in rows} == {"answered"}
    assert {r["selector"] for r in rows} == {"ask:"}
    listing = batos_cli("log", "-i", img).stdout
    assert "no generations" not in listing and "answered" in listing


# --- 4. the --dry-run diff after a generation lists only what changed ------------------

def test_dry_run_diff_after_a_generated_method(img: Path, tmp_path: Path) -> None:
    script = tmp_path / "dry.bst"
    script.write_text("counter setSlot: #name value: 'c'.\ncounter addTo: 4\n")
    result = batos_cli("run", "-i", img, script, "--dry-run", "--json", answers=[ADD_TO])
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["changes"]
    assert entry["object"] == "a Proto(counter)" and not entry["new"]
    assert [a["slot"] for a in entry["added"]] == ["name", "addTo_"]
    assert [(c["slot"], c["value"], c["was"]) for c in entry["changed"]] == [("count", "7", "3")]
    assert entry["removed"] == []
    text = batos_cli("run", "-i", img, script, "--dry-run", answers=[ADD_TO]).stdout
    assert "description" not in text and "traits*" not in text and "~ count: 7 (was 3)" in text


# --- 5. a read-only REPL sees other processes' commits ----------------------------------

def test_read_only_repl_follows_the_writer(img: Path) -> None:
    env = dict(os.environ, BATOS_LLM="off", NO_COLOR="1")
    reader = subprocess.Popen([sys.executable, "-m", "batos.cli.main", "repl", "--read-only",
                               str(img)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert reader.stdin is not None and reader.stdout is not None

        def ask(line: str) -> str:
            reader.stdin.write(line + "\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert ask("c := counter. counter count") == "3"
        for value in (42, 43):
            wrote = batos_cli("eval", "-i", img, f"counter setSlot: #count value: {value}. "
                              f"Image at: #other put: {value}")
            assert wrote.returncode == 0, wrote.stderr
            assert ask("counter count") == str(value)
            assert ask("c count + other") == str(2 * value)  # a workspace object, refreshed too
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0, reader.stderr.read()


# --- 11. the CLI says what it did -------------------------------------------------------

def test_run_says_what_it_committed(img: Path, tmp_path: Path) -> None:
    script = tmp_path / "m.bst"
    script.write_text("counter setSlot: #name value: 'c'.\ncounter setSlot: #count value: 9\n")
    result = batos_cli("run", "-i", img, script)
    assert result.returncode == 0 and result.stdout == ""   # stdout: the script's own output
    said = result.stderr.strip()
    assert said.startswith("committed 1 object, 2 slots (1 added, 1 changed) in transaction "), said
    txn = said.split("in transaction ")[1].split()[0]
    history = json.loads(batos_cli("image", "history", "-i", img, "--json").stdout)
    assert history[0]["id"] == txn and history[0]["note"] == "run m.bst"
    script.write_text("Image at: #box put: genesis clone\n")
    assert batos_cli("run", "-i", img, script).stderr.startswith("committed 2 objects (1 new), ")
    data = json.loads(batos_cli("run", "-i", img, script, "--json").stdout)
    assert data["transaction"] and data["saved"]
    empty = tmp_path / "e.bst"
    empty.write_text("3 + 4\n")
    assert batos_cli("run", "-i", img, empty).stderr.startswith("committed nothing")


def test_version_alone() -> None:
    result = batos_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"batos {batos.__version__}\n")


def test_image_undo_defaults_to_the_latest_transaction(img: Path) -> None:
    assert batos_cli("eval", "-i", img, "counter setSlot: #count value: 50").returncode == 0
    result = batos_cli("image", "undo", "-i", img)
    assert result.returncode == 0 and "counter setSlot" in result.stdout
    assert batos_cli("eval", "-i", img, "counter count").stdout == "3\n"
    fresh = img.parent / "fresh.fs"
    batos.open_image(fresh).close()
    result = batos_cli("image", "undo", "-i", fresh)  # never unmakes the image by default
    assert result.returncode == 1 and "Prototypal Awakening" in result.stderr


def test_history_after_pack_says_earlier_history_is_gone(img: Path) -> None:
    assert batos_cli("image", "pack", "-i", img).returncode == 0
    result = batos_cli("image", "history", "-i", img)
    assert result.returncode == 0
    assert "pack: history before" in result.stdout and "is gone" in result.stdout
    assert batos_cli("image", "undo", "-i", img).returncode == 1  # the pack note is kept
    assert batos_cli("eval", "-i", img, "counter count").stdout == "3\n"


# --- 15. a clean clone stays clean; tests keep out of the user's cache -------------------

def test_default_image_files_are_ignored_by_git() -> None:
    names = ["live_image.fs", "live_image.fs.index", "live_image.fs.lock", "live_image.fs.tmp",
             "live_image.fs.blobs/0x00/x.blob"]
    result = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.stdout.split() == names


def test_suite_uses_its_own_cache_and_config(tmp_path: Path) -> None:
    from batos.llm import models
    home = Path.home().resolve()
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        assert not Path(os.environ[var]).resolve().is_relative_to(home), var
    assert not models.cache_dir().resolve().is_relative_to(home)
    user_records = home / ".cache" / "batos" / "models" / "hashes.json"
    before = user_records.read_bytes() if user_records.exists() else None
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    models.sha256_file(model)                      # remembered in the session's cache
    assert str(model.resolve()) in (models.cache_dir() / "hashes.json").read_text()
    assert (user_records.read_bytes() if user_records.exists() else None) == before


def test_printing_a_huge_integer_stays_within_the_statement_limit(img: Path,
                                                                    tmp_path: Path) -> None:
    script = tmp_path / "big.bst"  # 18 million digits: str() would take many minutes
    script.write_text("((2 raisedTo: 30000000) * (2 raisedTo: 30000000)) printString size\n")
    t0 = time.monotonic()
    result = batos_cli("run", "-i", img, "--timeout", "0.5", script)
    assert result.returncode == 1 and "time limit" in result.stderr, result.stderr
    assert time.monotonic() - t0 < 30


def test_batos_image_variable_is_a_path_that_was_asked_for(tmp_path: Path) -> None:
    result = batos_cli("eval", "3+4", BATOS_IMAGE=str(tmp_path / "typo.fs"))
    assert result.returncode == 3 and not list(tmp_path.iterdir())
    result = batos_cli("eval", "--create", "3+4", BATOS_IMAGE=str(tmp_path / "new.fs"))
    assert result.stdout == "7\n" and (tmp_path / "new.fs").exists()
