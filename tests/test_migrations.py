"""`batos run SCRIPT.bst`: one atomic transaction, Transcript output, --dry-run reports."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import batos
from batos.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
    else CliRunner()


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM", "off")


@pytest.fixture
def img(tmp_path: Path) -> Path:
    path = tmp_path / "mig.fs"
    with batos.open_image(path) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 5. "
            "counter setSlot: #note value: 'old'"),
            note="setup")
    return path


def run(*args: Any) -> Any:
    return runner.invoke(app, ["run", *[str(a) for a in args]])


def state(path: Path) -> dict[str, Any]:
    """What a migration could have changed: globals, counter's slots, history length."""
    with batos.open_image(path, read_only=True) as im:
        from batos.image.changes import preview
        return {"globals": sorted(im.globals),
                "counter": {k: preview(v) for k, v in im.globals["counter"].own_slots().items()},
                "genesis": sorted(im.globals["genesis"].slot_names()),
                "history": len(im.history(1000))}


def script(tmp_path: Path, text: str, name: str = "m.bst") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """"a migration"
| c |
Image at: #greeter put: genesis clone.
greeter setSlot: #greeting value: 'Hello'.
greeter >> greet: name [ ^greeting, ', ', name ].
counter setSlot: #count value: 6; removeSlot: #note.
Transcript show: (greeter greet: 'world'); cr.
c := 0.
1 to: 3 do: [:i | c := c + i].
Transcript show: 'sum '; show: c printString; cr.
"""


def test_run_commits_and_shows_transcript(img: Path, tmp_path: Path) -> None:
    before = state(img)
    result = run(script(tmp_path, GOOD), "-i", img)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Hello, world\nsum 6\n"
    after = state(img)
    assert after["history"] == before["history"] + 1     # exactly one transaction
    assert "greeter" in after["globals"]
    assert after["counter"]["count"] == "6" and "note" not in after["counter"]
    with batos.open_image(img) as im:
        assert im.evaluate("greeter greet: 'again'") == "Hello, again"
        assert "run m.bst" in str(im.history(1)[0])


def test_error_aborts_everything(img: Path, tmp_path: Path) -> None:
    before = state(img)
    bad = script(tmp_path, GOOD + "counter count: 99.\ngreeter frobnicate: 3.\n")
    result = run(bad, "-i", img)
    assert result.exit_code == 1
    assert result.stdout == "Hello, world\nsum 6\n"       # printed before the error
    assert result.stderr == (f"error: {bad}:12:9: a Proto(greeter) does not understand "
                             "#frobnicate:\n  greeter frobnicate: 3.\n          ^\n")
    assert state(img) == before                           # the image is exactly as it was


def test_syntax_error_runs_nothing(img: Path, tmp_path: Path) -> None:
    before = state(img)
    bad = script(tmp_path, "Transcript show: 'never'.\ncounter setSlot: #count value: (1 + .\n")
    result = run(bad, "-i", img)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{bad}:2:37: expected an expression" in result.stderr
    assert state(img) == before


def test_runtime_error_in_a_method_defined_by_the_script(img: Path, tmp_path: Path) -> None:
    before = state(img)
    bad = script(tmp_path, "counter >> boom [\n    ^count / 0\n]\ncounter boom.\n")
    result = run(bad, "-i", img)
    assert result.exit_code == 1
    assert "<method #boom>:2:9: division by zero" in result.stderr and "^count / 0" in result.stderr
    assert state(img) == before


def test_dry_run_reports_and_saves_nothing(img: Path, tmp_path: Path) -> None:
    before = state(img)
    result = run(script(tmp_path, GOOD), "-i", img, "--dry-run")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith("Hello, world\nsum 6\ndry run: 3 object(s) would change "
                          "(nothing was saved)\n")
    assert "  Image (globals)\n    + greeter: a Proto(greeter)\n" in out
    assert "  a Proto(counter)\n    ~ count: 6 (was 5)\n    - note\n" in out
    assert ("  a Proto(greeter) (new)\n" in out and "    + greeting: 'Hello'\n" in out
            and "    + greet_: method #greet: (bst)\n" in out)
    assert state(img) == before


def test_dry_run_json(img: Path, tmp_path: Path) -> None:
    result = run(script(tmp_path, "counter setSlot: #count value: 7. counter count"), "-i",
                 img, "--dry-run", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] and data["dry_run"] and data["saved"] is False
    assert data["printString"] == "7"
    assert data["changes"] == [{"object": "a Proto(counter)", "oid": data["changes"][0]["oid"],
                                "new": False, "added": [],
                                "changed": [{"slot": "count", "value": "7", "was": "5"}],
                                "removed": []}]
    assert state(img)["counter"]["count"] == "5"


def test_dry_run_without_changes(img: Path, tmp_path: Path) -> None:
    result = run(script(tmp_path, "3 + 4"), "-i", img, "--dry-run")
    assert result.stdout == "dry run: no changes (nothing was saved)\n"


def test_missing_script_is_a_usage_error(img: Path, tmp_path: Path) -> None:
    result = run(tmp_path / "nope.bst", "-i", img)
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


@pytest.mark.parametrize("name, output", [
    ("counter.bst", "counter ready: a Counter(3)\n"),
    ("bank.bst", "alice: balance 75 +100 -30 +5\n"),
])
def test_shipped_example_migrations(tmp_path: Path, name: str, output: str) -> None:
    path = tmp_path / "ex.fs"
    result = run(ROOT / "images" / name, "-i", path, "--create")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == output
    with batos.open_image(path) as im:
        if name == "counter.bst":
            assert im.evaluate("counter increment; increment") == 5
        else:
            assert im.print_string(im.evaluate("(account deposit: 10) balance")) == "10"
            assert im.print_string(im.evaluate("alice balance")) == "75"


def test_timeout_aborts_a_runaway_script(img: Path, tmp_path: Path) -> None:
    before = state(img)
    loop = script(tmp_path, "counter setSlot: #count value: 1.\n[true] whileTrue: [counter count].\n")
    result = run(loop, "-i", img, "--timeout", "0.5")
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert state(img) == before
    ok = script(tmp_path, "| s | s := 0. 1 to: 100 do: [:i | s := s + i]. "
                          "counter setSlot: #count value: s", "ok.bst")
    assert run(ok, "-i", img, "--timeout", "0").exit_code == 0
    assert state(img)["counter"]["count"] == "5050"


def test_dry_run_names_containers_by_their_slot(img: Path, tmp_path: Path) -> None:
    setup = script(tmp_path, "counter setSlot: #log value: OrderedCollection new.", "s.bst")
    assert run(setup, "-i", img).exit_code == 0
    result = run(script(tmp_path, "counter log add: 3; add: 4"), "-i", img, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ("dry run: 1 object(s) would change (nothing was saved)\n"
                             "  a Proto(counter).log\n"
                             "    ~ contents: an OrderedCollection(3 4)\n")


def test_errors_in_method_bodies_are_found_before_anything_runs(img: Path,
                                                                tmp_path: Path) -> None:
    before = state(img)
    bad = script(tmp_path, "Transcript show: 'never'.\n"
                           "counter >> bump: n [\n    n := n + 1\n]\n")
    result = run(bad, "-i", img)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"error: {bad}:3:5: cannot assign to argument 'n'\n"
                             "      n := n + 1\n      ^\n")
    assert state(img) == before
