"""The image's past from the user's side (issue 18): ``eval --at``, ``inspect --at``,
``history``, ``diff``, ``restore``, the REPL's ``:at``/``:now``/``:blame``, and golden
renders of the views in batos/render/past.py."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import batos
from batos.cli.main import app
from batos.render.past import (blame_table, diff_view, method_history_view, slot_history_table,
                               to_plain)
from batos.repl.session import ReplSession

runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
    else CliRunner()


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def _step(im: Any, source: str) -> str:
    im.execute(lambda: im.evaluate(source), note=source)
    return str(im.history(1)[0]["id"])


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """A scripted sequence: count 1, 2, 3, a label, a method redefined; each txn id kept."""
    path = tmp_path / "past.fs"
    with batos.open_image(path) as im:
        t: dict[str, Any] = {"path": path}
        t["made"] = _step(im, "Image at: #counter put: genesis clone")
        t["one"] = _step(im, "counter setSlot: #count value: 1")
        t["two"] = _step(im, "counter setSlot: #count value: 2")
        t["three"] = _step(im, "counter setSlot: #count value: 3")
        t["label"] = _step(im, "counter setSlot: #label value: 'hi'")
        t["m1"] = _step(im, "counter define: #double as: 'double ^ count * 2'")
        t["m2"] = _step(im, "counter define: #double as: 'double ^ count + count'")
    return t


def cli(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def present(world: dict[str, Any], source: str) -> Any:
    with batos.open_image(world["path"], read_only=True) as im:
        return im.execute(lambda: im.evaluate(source), note="check", save=False)


# --- eval --at / inspect --at ---------------------------------------------------------------

def test_eval_at_answers_the_value_at_several_points(world):
    for key, expected in (("one", "1"), ("two", "2"), ("three", "3")):
        result = cli("eval", "-i", world["path"], "--at", world[key], "counter count")
        assert (result.exit_code, result.stdout) == (0, expected + "\n"), result.stderr
    result = cli("eval", "-i", world["path"], "--at", world["two"], "counter count", "--json")
    assert json.loads(result.stdout) == {"ok": True, "printString": "2", "value": 2}
    assert cli("eval", "-i", world["path"], "counter count").stdout == "3\n"


def test_eval_at_refuses_a_write_and_nothing_changes(world):
    before = len(batos.open_image(world["path"], read_only=True).history(100))
    result = cli("eval", "-i", world["path"], "--at", world["one"],
                 "counter setSlot: #count value: 99")
    assert result.exit_code == 1
    assert "read-only" in result.stderr and "nothing was changed" in result.stderr
    assert present(world, "counter count") == 3
    assert len(batos.open_image(world["path"], read_only=True).history(100)) == before


def test_inspect_at_shows_the_object_as_it_was(world):
    result = cli("inspect", "-i", world["path"], "--at", world["one"], "counter")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("as of ") and world["one"] in result.stdout.splitlines()[0]
    assert "count" in result.stdout and "label" not in result.stdout
    data = json.loads(cli("inspect", "-i", world["path"], "--at", world["two"], "counter",
                          "--json").stdout)
    assert "2" in json.dumps(data) and "label" not in json.dumps(data)


@pytest.mark.parametrize("when, words", [("bogus", "cannot read WHEN 'bogus'"),
                                         ("2001-01-01", "before this image existed"),
                                         ("2999-01-01", "in the future")])
def test_when_errors_are_clear_and_exit_1(world, when, words):
    result = cli("eval", "-i", world["path"], "--at", when, "counter count")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and words in result.stderr
    assert "Traceback" not in result.stderr


def test_every_history_command_says_when_is_before_the_last_pack(world):
    with batos.open_image(world["path"]) as im:
        im.pack(0)
    for args in (("eval", "--at", world["one"], "counter count"),
                 ("inspect", "--at", world["one"], "counter"),
                 ("diff", world["one"]),
                 ("restore", "counter", "count", "--at", world["one"])):
        result = cli(*args, "-i", world["path"])
        assert result.exit_code == 1, args
        assert "packed away" in result.stderr, (args, result.stderr)
    result = cli("diff", world["one"], "-i", world["path"], "--json")
    assert json.loads(result.stdout)["ok"] is False
    assert "packed away" in json.loads(result.stdout)["message"]


# --- history / diff / restore ----------------------------------------------------------------

def test_history_of_a_slot_as_a_table_and_json(world):
    result = cli("history", "-i", world["path"], "counter", "count")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "history of counter . count"
    values = [ln.split("│")[-1].strip() for ln in lines if ln.startswith("20")]
    assert values == ["1", "2", "3"]
    for key in ("one", "two", "three"):
        assert world[key] in result.stdout
    data = json.loads(cli("history", "-i", world["path"], "counter", "count", "--json").stdout)
    assert (data["object"], data["slot"], data["kind"]) == ("counter", "count", "slot")
    assert [r["value"] for r in data["rows"]] == [1, 2, 3]
    assert [r["id"] for r in data["rows"]] == [world["one"], world["two"], world["three"]]
    assert data["rows"][0]["note"] == "counter setSlot: #count value: 1"


def test_history_of_a_method_shows_each_source_version_and_its_diff(world):
    result = cli("history", "-i", world["path"], "counter", "double")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("history of method counter . double\n")
    assert "v1 · " in text and "v2 · " in text and "human" in text
    assert "    double ^ count * 2" in text
    assert "    -double ^ count * 2" in text and "    +double ^ count + count" in text
    data = json.loads(cli("history", "-i", world["path"], "counter", "double", "--json").stdout)
    assert data["kind"] == "method"
    assert [r["source"] for r in data["rows"]] == ["double ^ count * 2",
                                                    "double ^ count + count"]


def test_history_of_an_unknown_object_exits_1(world):
    result = cli("history", "-i", world["path"], "countr", "count")
    assert result.exit_code == 1 and "countr" in result.stderr


def test_diff_of_one_transaction_rich_and_json(world):
    result = cli("diff", "-i", world["path"], world["two"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("diff ")
    assert "counter (changed)" in result.stdout
    assert "  ~ count: 2 (was 1)" in result.stdout
    data = json.loads(cli("diff", "-i", world["path"], world["label"], "--json").stdout)
    assert data["to"]["id"] == world["label"]
    (entry,) = data["objects"]
    assert entry["object"] == "counter" and entry["added"] == [{"slot": "label",
                                                                "value": "'hi'"}]


def test_diff_of_a_method_is_a_unified_source_diff(world):
    result = cli("diff", "-i", world["path"], world["m2"])
    assert result.exit_code == 0, result.stderr
    assert "  ~ double (method #double)" in result.stdout
    assert "      -double ^ count * 2" in result.stdout
    assert "      +double ^ count + count" in result.stdout


def test_diff_between_two_points(world):
    result = cli("diff", "-i", world["path"], world["one"], world["label"])
    assert result.exit_code == 0, result.stderr
    assert "  ~ count: 3 (was 1)" in result.stdout
    assert "  + label: 'hi'" in result.stdout


def test_restore_a_slot_then_undo(world):
    result = cli("restore", "-i", world["path"], "counter", "count", "--at", world["one"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("restored counter: count as of ")
    assert present(world, "counter count") == 1
    with batos.open_image(world["path"], read_only=True) as im:
        latest = im.history(1)[0]
    assert latest["note"] == f"restore counter count at {world['one']}"
    assert f"undo: batos image undo {latest['id']}" in result.stdout
    assert cli("image", "undo", "-i", world["path"]).exit_code == 0
    assert present(world, "counter count") == 3


def test_restore_a_whole_object_removes_slots_added_since(world):
    result = cli("restore", "-i", world["path"], "counter", "--at", world["two"], "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "count" in data["restored"] and "label" in data["removed"]
    assert data["when"]["id"] == world["two"] and data["transaction"]
    assert present(world, "counter count") == 2
    assert present(world, "counter hasSlot: #label") is False


def test_restore_needs_at(world):
    result = cli("restore", "-i", world["path"], "counter", "count")
    assert result.exit_code == 2 and "--at WHEN" in result.stderr


def test_help_pages_in_the_usual_style():
    for name, usage in (("history", "Usage: batos history [OPTIONS] OBJ SLOT"),
                        ("diff", "Usage: batos diff [OPTIONS] TXN [TXN2]"),
                        ("restore", "Usage: batos restore [OPTIONS] OBJ [SLOT]")):
        result = cli(name, "--help")
        assert result.exit_code == 0 and usage in result.stdout, result.stdout
    assert "--at" in cli("eval", "--help").stdout and "WHEN" in cli("eval", "--help").stdout


# --- the REPL: :at, :now, :blame --------------------------------------------------------------

def make(im: Any) -> tuple[ReplSession, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, force_terminal=False)
    return ReplSession(im, console, interactive=False), out


def test_repl_at_is_a_read_only_view_and_now_returns(world):
    with batos.open_image(world["path"]) as im:
        session, out = make(im)
        assert session.prompt_text() == "batos> "
        assert session.handle(f":at {world['one']}")
        when = session.past.when["when"]
        assert session.prompt_text() == f"batos@{when[:16]}> "
        assert out.getvalue().startswith(f"as of {when}")
        assert session.handle("counter count")
        assert out.getvalue().splitlines()[-1] == "1"
        assert not session.handle("counter setSlot: #count value: 99")
        error = out.getvalue().splitlines()[-1]
        assert error.startswith("ERROR: ") and "read-only" in error and ":now" in error
        assert session.handle(":inspect counter count")
        assert session.handle(":now")
        assert session.prompt_text() == "batos> " and session.past is None
        assert session.handle("counter count")
        assert out.getvalue().splitlines()[-1] == "3"
        assert "back to the present" in out.getvalue()
    assert present(world, "counter count") == 3


def test_repl_at_with_a_bad_when_fails_clearly(world):
    with batos.open_image(world["path"]) as im:
        session, out = make(im)
        assert not session.handle(":at nonsense")
        assert "cannot read WHEN 'nonsense'" in out.getvalue() and session.past is None


def test_repl_blame_names_the_transaction_of_each_slot(world):
    with batos.open_image(world["path"]) as im:
        _step(im, "counter setSlot: #count value: 7")
        latest = im.history(1)[0]
        session, out = make(im)
        assert session.handle(":blame counter")
    text = out.getvalue()
    assert text.splitlines()[0].rstrip() == "blame counter"
    count_line = next(ln for ln in text.splitlines() if ln.startswith("count "))
    assert "7" in count_line and latest["when"] in count_line and "human" in count_line
    label_block = text[text.index("\nlabel "):]
    assert world["label"] in label_block


# --- golden renders ------------------------------------------------------------------------

def render(renderable: Any, width: int = 80) -> str:
    console = Console(width=width, color_system=None, force_terminal=False, record=True)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


ROW = {"id": "BA1utWqMqFU=", "when": "2026-12-02 16:53:24", "kind": "human",
       "note": "counter setSlot: #count value: 1", "print": "1", "present": True}


def test_slot_history_table_golden():
    rows = [ROW, {**ROW, "id": "BA1utXFOklU=", "when": "2026-12-02 16:53:26", "print": "2",
                  "note": "counter setSlot: #count value: 2", "kind": "migration"},
            {**ROW, "id": "BA1utXffIwA=", "when": "2026-12-02 16:53:28", "present": False,
             "note": "counter removeSlot: #count"}]
    assert render(slot_history_table("history of counter . count", rows)) == """\
history of counter . count
time · transaction  ┃ kind      ┃ note                             ┃ value
━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━
2026-12-02 16:53:24 │ human     │ counter setSlot: #count value: 1 │ 1
BA1utWqMqFU=        │           │                                  │
2026-12-02 16:53:26 │ migration │ counter setSlot: #count value: 2 │ 2
BA1utXFOklU=        │           │                                  │
2026-12-02 16:53:28 │ human     │ counter removeSlot: #count       │ (absent)
BA1utXffIwA=        │           │                                  │"""
    assert render(slot_history_table("history of x . y", [])) == \
        "history of x . y: no history (the slot was never set in the kept history)"


def test_method_history_view_golden():
    rows = [{**ROW, "language": "bst", "author": "human", "source": "double ^ count * 2",
             "note": "define"},
            {**ROW, "id": "BA1utXFOklU=", "language": "python", "author": "generated",
             "persona": "BRICK", "corrected": True, "note": "dnu",
             "diff": "--- a\n+++ b\n@@ -1 +1 @@\n-double ^ count * 2\n+x\n"}]
    view = method_history_view("history of method counter . double", rows)
    assert render(view, width=100) == """\
history of method counter . double
v1 · 2026-12-02 16:53:24 · txn BA1utWqMqFU= · bst · human · define
    double ^ count * 2
v2 · 2026-12-02 16:53:24 · txn BA1utXFOklU= · python · generated by BRICK, corrected · dnu
    --- a
    +++ b
    @@ -1 +1 @@
    -double ^ count * 2
    +x"""


def test_diff_view_golden():
    data = {"from": "BA1utXffIv8=", "to": {**ROW, "id": "BA1utXffIwA=", "note": "migrate"},
            "globals": {"added": [{"slot": "point"}], "removed": [], "changed": []},
            "objects": [{"object": "counter", "status": "changed",
                         "added": [{"slot": "label", "value": "'hi'"}],
                         "removed": [{"slot": "old", "was": "3"}],
                         "changed": [{"slot": "count", "value": "2", "was": "1"},
                                     {"slot": "double", "method": "double",
                                      "diff": "@@ -1 +1 @@\n-a\n+b\n"}]},
                        {"object": "point", "status": "added",
                         "added": [{"slot": "x", "value": "0"}]}]}
    assert render(diff_view(data)) == """\
diff BA1utXffIv8= → BA1utXffIwA= (2026-12-02 16:53:24) · migrate
globals added: point
counter (changed)
  + label: 'hi'
  - old (was 3)
  ~ count: 2 (was 1)
  ~ double (method #double)
      @@ -1 +1 @@
      -a
      +b
point (added)
  + x: 0"""


def test_blame_table_golden():
    rows = [{**ROW, "slot": "count", "print": "7", "kind": "heartbeat", "note": "beat 12"}]
    assert render(blame_table("blame counter", rows)) == """\
blame counter
slot  ┃ value    ┃ set in              ┃ kind      ┃ note
━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━
count │ 7        │ 2026-12-02 16:53:24 │ heartbeat │ beat 12
      │          │ BA1utWqMqFU=        │           │"""


def test_views_show_escapes_instead_of_obeying_them():
    text = render(blame_table("b", [{**ROW, "slot": "s", "print": "'\x1b[2J'"}]))
    assert "\x1b" not in text and "\\x1b[2J" in text


def test_to_plain_prints_live_values_and_keeps_scalars_for_json():
    class Thing:
        pass
    rows = [{"value": Thing(), "was": 3, "tid": b"\x00\x01", "print": "x"}]
    assert to_plain(rows, lambda v: "a Thing") == [
        {"value": "a Thing", "was": "a Thing", "tid": "0001", "print": "x"}]
    assert to_plain(rows, lambda v: "p", keep_scalars=True)[0]["was"] == 3


def test_the_real_prompt_shows_the_time_under_at(world, tmp_path):
    """``batos repl`` in a pseudo-terminal: ``:at WHEN`` → ``batos@YYYY-MM-DD HH:MM>``."""
    import os
    import shutil
    pexpect = pytest.importorskip("pexpect")
    if shutil.which("batos") is None:
        pytest.skip("batos is not installed")
    with batos.open_image(world["path"], read_only=True) as im:
        from batos.image.past import describe_when, parse_when
        when = describe_when(im, parse_when(world["one"], im))["when"][:16]
    env = dict(os.environ, BATOS_LLM="off", XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1", NO_COLOR="1")
    child = pexpect.spawn("batos", ["repl", str(world["path"])], env=env, encoding="utf-8",
                          dimensions=(30, 120), timeout=20)
    try:
        child.expect_exact("batos> ")
        child.send(f":at {world['one']}\r")
        child.expect_exact(f"batos@{when}> ")
        child.send("counter count\r")
        child.expect(r"(?:\n|\x1b\[\?2004l)1\r\n")
        child.send(":now\r")
        child.expect_exact("back to the present")
        child.expect_exact("batos> ")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
