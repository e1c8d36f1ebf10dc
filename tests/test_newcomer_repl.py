"""Issue 19 (what a newcomer hits in the first hour): carets and call chains that point
at the right place, whole reasons in traces and logs, plural-folding search and
ingest by content, REPL craft, and help pages in the usual style."""
from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import threading
from pathlib import Path

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from typer.testing import CliRunner

import batos
from batos.cli.main import app
from batos.image.image import open_image
from batos.repl.config import ReplConfig
from batos.repl.session import INTERRUPTED, ReplSession

runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames \
    else CliRunner()


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))




def make(image, width=80, interactive=True):
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    session = ReplSession(image, console, interactive=interactive,
                          config=ReplConfig(toolbar=False, auto_suggest=False))
    return session, out


def lines_of(out: io.StringIO) -> list[str]:
    return [line.rstrip() for line in out.getvalue().splitlines()]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


# -- 6: the caret under an error in a one-line method -----------------------------------------

def test_caret_in_a_one_line_method_points_at_the_failing_send(image):
    session, out = make(image)
    assert session.handle("Image at: #Bank put: genesis clone")
    assert session.handle("Bank >> bad [ ^1 / 0 ]")
    start = len(lines_of(out))
    assert not session.handle("Bank bad")
    assert "\n".join(lines_of(out)[start:]) == """\
╭─ ZeroDivide ─────────────────────╮
│ division by zero                 │
│                                  │
│ 2 │     ^1 / 0                   │
│            ^                     │
│                                  │
│ BST call chain (innermost last): │
│   <repl>:1:6         Bank bad    │
│   <method #bad>:2:5  ^1 / 0      │
╰────────────── <method #bad>:2:5 ─╯"""


def test_a_long_line_never_wraps_the_caret_and_the_footer_stays_whole(image):
    session, out = make(image, width=60)
    session.handle("Image at: #Bank put: genesis clone")
    session.handle("Bank >> long [ ^'a very long string literal that makes this line long "
                   "enough to wrap around' size + (1 / 0) ]")
    start = len(lines_of(out))
    assert not session.handle("Bank long")
    panel = lines_of(out)[start:]
    code = next(i for i, line in enumerate(panel) if line.startswith("│ 2 │"))
    caret = panel[code + 1].index("^")
    assert panel[code][caret] == "/"                    # under the division, next row
    assert all(len(line) <= 60 for line in panel)
    assert panel[-1].endswith("<method #long>:2:90 ─╯")


def test_a_footer_longer_than_the_message_widens_the_panel():
    from batos.errors import BSTRuntimeError
    from batos.repl.render import error_panel
    exc = BSTRuntimeError("boom", source="x\n\tab", line=2, column=2,
                          filename="<method #aVeryLongSelectorName:with:>")
    console = Console(width=80, color_system=None, force_terminal=False, record=True)
    with console.capture() as capture:
        console.print(error_panel(exc))
    text = [line.rstrip() for line in capture.get().splitlines()]
    assert text == [
        "╭─ BSTRuntimeError ───────────────────────────╮",
        "│ boom                                        │",
        "│                                             │",
        "│ 2 │     ab                                  │",
        "│         ^                                   │",   # column 2: after the tab
        "╰─ <method #aVeryLongSelectorName:with:>:2:2 ─╯"]


# -- 7: the BST call chain -------------------------------------------------------------

def test_batos_run_shows_the_script_line_that_called_the_method(tmp_path):
    img = tmp_path / "run.fs"
    open_image(img).close()
    script = tmp_path / "bad3.bst"
    script.write_text("Image at: #Bank put: genesis clone.\n"
                      "Bank >> half: x [\n"
                      "    | y |\n"
                      "    y := 1.\n"
                      "    ^x / 0 ]\n"
                      "Bank half: 4\n")
    result = cli("run", script, "-i", img)
    assert result.exit_code == 1
    err = result.stderr
    assert "error: <method #half:>:4:5: division by zero" in err
    chain = err[err.index("BST call chain (innermost last):"):].splitlines()
    assert chain[1].split() == [f"{script}:6:6", "Bank", "half:", "4"]
    assert chain[2].split() == ["<method", "#half:>:4:5", "^x", "/", "0"]


def test_the_chain_lists_every_activation_innermost_last(image):
    image.execute(lambda: image.evaluate(
        "Image at: #T put: genesis clone.\n"
        "T >> a [ ^self b ]\n"
        "T >> b [ ^#(1 2) collect: [:x | self c: x] ]\n"
        "T >> c: x [ ^x / 0 ]"), note="setup")
    with pytest.raises(Exception) as caught:
        image.execute(lambda: image.evaluate("3.\nT a", filename="s.bst"), note="x")
    where = [w for w, _ in caught.value.call_chain()]
    assert where[0] == "s.bst:2:3"
    assert where[1] == "<method #a>:2:8"                 # \t^self b
    assert where[-1] == "<method #c:>:2:5"               # \t^x / 0
    assert len(where) >= 4                                 # b (and its block) in between


def test_an_error_where_it_was_evaluated_has_no_chain(image):
    with pytest.raises(Exception) as caught:
        image.execute(lambda: image.evaluate("1 / 0"), note="x")
    assert caught.value.call_chain() == []
    assert "call chain" not in caught.value.pretty()


# -- 8: whole reasons in traces and logs -------------------------------------------------------

REASON = ("the guardian rejected the method: it imports os, which method code may never do; "
          "write the method with the receiver's slots and its parents' methods instead")


def test_trace_rows_keep_a_reason_whole_and_cut_other_text_between_words():
    from batos.render.trace import _short, step_lines
    rows = dict(step_lines({"error": REASON, "verdict": "failed"}))
    assert rows["error"] == REASON
    short = _short("alpha beta gamma delta epsilon zeta eta theta", 20)
    assert short == "alpha beta gamma…"


def test_log_full_shows_the_prompt_and_the_rejection_reason(tmp_path):
    from batos.mind import genlog
    img = tmp_path / "log.fs"
    with open_image(img) as im:
        im.execute(lambda: genlog.append(im, [genlog.GenerationRecord(
            receiver="a Proto(counter)", selector="frob", verdict="rejected", error=REASON,
            prompt="You write one method.\nWrite #frob for a Proto(counter).",
            output="    import os\n    return 1\n```", code="def frob(self):\n    import os\n"
            "    return 1\n")]), note="log")
    result = cli("log", "--full", "-i", img)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "      reason:\n        " + REASON in out
    assert "      prompt:\n        You write one method.\n        Write #frob" in out
    assert "      code:\n        def frob(self):\n            import os" in out
    plain = cli("log", "-i", img).stdout
    assert "reason" not in plain and "prompt" not in plain


# -- 10: plural-folding search, summaries, ingest by content -----------------------------------

def test_search_folds_plurals_without_changing_the_stored_pipeline():
    from zope.index.text.lexicon import CaseNormalizer, Splitter, StopWordRemover
    from batos.mind.fractal import Catalog
    cat = Catalog()
    cat.add("recipe", "How to make Pancakes. Mix flour, eggs and berries.")
    cat.add("boxes", "A fox jumps over the box.")
    assert [type(e) for e in cat.lexicon._pipeline] == [Splitter, CaseNormalizer,
                                                         StopWordRemover]
    assert [h["doc"] for h in cat.search("pancake")] == ["recipe"]
    assert [h["doc"] for h in cat.search("berry")] == ["recipe"]
    assert [h["doc"] for h in cat.search("egg")] == ["recipe"]
    assert [h["doc"] for h in cat.search("boxes")] == ["boxes"]
    assert cat.search("pan") == []


def test_level_summary_matches_one_chunk_documents_and_summaries():
    from batos.mind.fractal import Catalog
    cat = Catalog()
    cat.add("short", "Pancakes are best hot.")
    long_text = " ".join(f"Walruses rest on the ice floe number {i}." for i in range(400))
    cat.add("long", long_text)
    assert [h["doc"] for h in cat.search("pancakes", level="summary")] == ["short"]
    hits = cat.search("walrus", level="summary")
    assert [(h["doc"], h["level"]) for h in hits] == [("long", "summary")]
    assert all(h["level"] == "chunk" for h in cat.search("walrus", k=50, level="chunk"))


def test_ingest_takes_files_without_extension_and_says_what_it_skipped(tmp_path):
    img = tmp_path / "ing.fs"
    open_image(img).close()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "LICENSE").write_text("Permission is granted to bake pancakes.\n")
    (docs / "README").write_text("# Kitchen\n\nRecipes for the whole family.\n")
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "data").write_bytes(bytes(range(256)) * 4)
    (docs / "latin").write_bytes("Crêpes à la française\n".encode("latin-1"))
    result = cli("ingest", docs, "-i", img, "--json")
    assert result.exit_code == 0, result.output
    import json
    report = json.loads(result.stdout)
    assert report["files"] == 3
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons == {"photo.png": "binary (.png file)", "data": "binary (NUL bytes)"}
    result = cli("ingest", docs, "-i", img)
    assert "ingested 3 files" in result.stdout
    assert "skipped 2 files:" in result.stderr and "data: binary (NUL bytes)" in result.stderr
    hits = cli("search", "pancake", "-i", img, "--json")
    assert [h["doc"].rsplit("/", 1)[-1] for h in json.loads(hits.stdout)["results"]] == [
        "LICENSE"]


# -- 12: REPL craft ----------------------------------------------------------------------------

def test_ctrl_c_during_a_streamed_generation_ends_the_streamed_line(image, monkeypatch, capsys):
    from batos.mind.dnu import use_backend
    from batos.llm.fake import FakeBackend
    monkeypatch.setenv("BATOS_STREAM", "1")
    session, out = make(image)
    session.config.timeout = 0
    session.handle("Image at: #T put: genesis clone")
    capsys.readouterr()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    fake = FakeBackend(["    " + " + ".join(["1"] * 400) + "\n    return 1\n```"], delay=0.01,
                       on_generate=lambda call: timer.start())   # Ctrl-C while it streams
    with use_backend(fake):
        assert not session.handle("T frobnicate")
    timer.cancel()
    streamed = capsys.readouterr().err
    assert "1 + 1" in streamed and streamed.endswith("\n")
    assert lines_of(out)[-1] == INTERRUPTED


def _prompt(session, keys):
    from batos.repl.app import build_prompt
    import asyncio

    async def run():
        with create_pipe_input() as inp:
            prompt = build_prompt(session, history=InMemoryHistory(), input=inp,
                                  output=DummyOutput(), color=False)
            task = asyncio.ensure_future(prompt.prompt_async())
            inp.send_text(keys)
            return await task

    return asyncio.run(run())


def test_typed_indentation_replaces_the_automatic_one(image):
    session, _ = make(image)
    typed = _prompt(session, "T >> deposit: x [\r  | y |\r  y := x.\r  ^y ]\r")
    bare = _prompt(session, "T >> deposit: x [\r| y |\ry := x.\r^y ]\r")
    assert typed == bare == "T >> deposit: x [\n  | y |\n  y := x.\n  ^y ]"
    deeper = _prompt(session, "#(1) do: [:x |\r    x printNl.\r    x ]\r")
    assert deeper == "#(1) do: [:x |\n    x printNl.\n    x ]"
    session.handle("Image at: #T put: genesis clone")
    assert session.handle(typed)
    method = image.globals["T"].lookup("deposit_")[1]
    assert method.source == "deposit: x\n\t| y |\n\ty := x.\n\t^y"


def test_inspect_follows_a_keyword_slot(image):
    session, out = make(image)
    session.handle("Image at: #T put: genesis clone")
    session.handle("T >> sq: x [ ^x * x ]")
    assert session.handle(":inspect T sq:")
    text = out.getvalue()
    assert "a Proto(T) >> sq:" in text and "^x * x" in text
    assert "BSTSyntaxError" not in text


def test_toolbar_counts_one_var():
    from batos.repl.app import _count
    assert _count(1, "var") == "1 var" and _count(2, "var") == "2 vars"
    assert _count(0, "var") == "0 vars"


def test_inspect_shows_long_slot_names_whole_in_a_wide_terminal(image):
    session, out = make(image, width=160)
    session.handle("Image at: #T put: genesis clone")
    name = "aVeryLongSlotNameThatShouldNotBeCutShortInAWideTerminal"
    session.handle(f"T setSlot: #{name} value: 3")
    session.handle(":inspect T")
    assert f"│ {name} │" in out.getvalue()
    narrow, out80 = make(image, width=80)
    narrow.handle(":inspect T")
    assert all(len(line) <= 80 for line in lines_of(out80))
    assert "defined on" in out80.getvalue()       # a narrow terminal keeps every column


def test_source_shows_created_once_as_a_time(image):
    session, out = make(image)
    session.handle("Image at: #T put: genesis clone")
    session.handle("T >> sq: x [ ^x * x ]")
    session.handle(":source T sq:")
    created = [line for line in lines_of(out) if "created" in line]
    assert len(created) == 1 and "e9" not in created[0]


def _stale_index(tmp_path: Path) -> Path:
    """An image whose .index is newer than its data file (ZODB ignores such an index)."""
    path = tmp_path / "live.fs"
    with open_image(path) as im:
        im.execute(lambda: im.globals.__setitem__("a", 1), note="a")
    old = tmp_path / "old.fs"
    shutil.copy(path, old)
    with open_image(path) as im:
        im.execute(lambda: im.globals.__setitem__("b", 2), note="b")
    shutil.copy(str(path) + ".index", str(old) + ".index")
    return old


def test_read_only_does_not_repeat_zodbs_ignoring_index_warning(tmp_path, caplog):
    from batos.cli.common import open_cli_image
    old = _stale_index(tmp_path)
    with caplog.at_level(logging.WARNING):
        with open_cli_image(old, read_only=True) as im:
            assert im.globals["a"] == 1
    assert not [r for r in caplog.records if "Ignoring index" in r.getMessage()]


# -- 13: help pages ----------------------------------------------------------------------------

@pytest.mark.parametrize("command, usage", [
    ("run", "Usage: batos run [OPTIONS] SCRIPT"),
    ("send", "Usage: batos send [OPTIONS] RECEIVER [MESSAGE]..."),
    ("search", "Usage: batos search [OPTIONS] QUERY"),
])
def test_help_reads_like_typers_usual_rendering(command, usage, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    result = cli(command, "--help")
    assert result.exit_code == 0
    out = result.stdout
    assert usage in out
    assert "<bool>" not in out and "<str>" not in out and "<path>" not in out
    assert "{" not in out
    flags = [line for line in out.splitlines() if "--help" in line]
    assert flags and flags[0].split()[1:3] == ["--help", "Show"]


def test_help_types_are_the_classic_names():
    from batos.cli.helpstyle import classic_type
    assert classic_type("<str>") == "TEXT" and classic_type("<int>") == "INTEGER"
    assert classic_type("<list[Path]>") == "PATH..." and classic_type("<a|b>") == "[a|b]"
    assert classic_type("<int range>") == "INTEGER RANGE"
