"""Key handling of the prompt through prompt-toolkit pipe input: Enter, Meta+Enter, Ctrl-C,
Tab completion, bracketed paste, vi mode, and the read-eval-print loop."""
from __future__ import annotations

import asyncio
import io

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from batos.repl.app import build_prompt, interact
from batos.repl.config import ReplConfig
from batos.repl.session import ReplSession

ESC_ENTER = "\x1b\r"
CTRL_C = "\x03"
CTRL_D = "\x04"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))




@pytest.fixture
def session(image):
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, force_terminal=False)
    s = ReplSession(image, console, config=ReplConfig(toolbar=False, auto_suggest=False))
    s.out = out  # type: ignore[attr-defined]
    return s


def prompt_once(session, keys, config=None):
    """Type ``keys`` at a fresh prompt and return what it submitted. Completion runs in
    the background, so after each Tab the typing pauses until completions arrived."""
    if config is not None:
        session.config = config
    chunks = [c + "\t" for c in keys.split("\t")]
    chunks[-1] = chunks[-1][:-1]

    async def run():
        with create_pipe_input() as inp:
            prompt = build_prompt(session, history=InMemoryHistory(), input=inp,
                                  output=DummyOutput(), color=False)
            task = asyncio.ensure_future(prompt.prompt_async())
            for chunk in chunks:
                inp.send_text(chunk)
                await asyncio.sleep(0.2 if chunk.endswith("\t") else 0)
            return await task

    return asyncio.run(run())


def test_enter_submits_a_complete_statement(session):
    assert prompt_once(session, "3 + 4\r") == "3 + 4"


def test_enter_continues_while_a_block_is_open(session):
    text = prompt_once(session, "#(1 2) collect: [:x |\rx * 2]\r")
    assert text == "#(1 2) collect: [:x |\n  x * 2]"


def test_enter_continues_inside_a_string_and_a_comment(session):
    assert prompt_once(session, "'two\rlines'\r") == "'two\nlines'"
    assert prompt_once(session, '"note\r" 5\r') == '"note\n" 5'


def test_meta_enter_forces_submit(session):
    assert prompt_once(session, "[1 +" + ESC_ENTER) == "[1 +"


def test_meta_commands_submit_on_enter(session):
    assert prompt_once(session, ":inspect [\r") == ":inspect ["


def test_ctrl_c_abandons_the_input(session):
    with pytest.raises(KeyboardInterrupt):
        prompt_once(session, "genesis fo" + CTRL_C)


def test_ctrl_d_on_an_empty_line_quits(session):
    with pytest.raises(EOFError):
        prompt_once(session, CTRL_D)


def test_tab_completes_a_global(session):
    assert prompt_once(session, "gene\t\r") == "genesis"


def test_tab_completes_a_selector_of_the_receiver(session, image):
    image.globals["counter"] = image.globals["genesis"].clone()
    image.globals["counter"].set_slot("count", 0)
    image.commit("counter")
    assert prompt_once(session, "counter cou\t\r") == "counter count"


def test_tab_completes_a_workspace_variable_and_a_literal_selector(session, image):
    image.workspace["total"] = 7
    assert prompt_once(session, "tot\t fact\t\r") == "total factorial"


def test_bracketed_paste_keeps_newlines_without_submitting(session):
    text = prompt_once(session, PASTE_START + "3 +\r4. 5" + PASTE_END + " + 1\r")
    assert text == "3 +\n4. 5 + 1"


def test_vi_mode(session):
    config = ReplConfig(vi_mode=True, toolbar=False, auto_suggest=False)
    # type, Esc to normal mode, 0 to line start, x deletes a character, Enter submits
    assert prompt_once(session, "x3 + 4\x1b0x\r", config=config) == "3 + 4"


def test_loop_survives_ctrl_c_and_evaluates_the_next_line(session):
    with create_pipe_input() as inp:
        prompt = build_prompt(session, history=InMemoryHistory(), input=inp,
                              output=DummyOutput(), color=False)
        inp.send_text("genesis fo" + CTRL_C)
        inp.send_text("3 + 4\r")
        inp.send_text(":quit\r")
        interact(session, prompt)
    assert session.done
    assert session.out.getvalue().splitlines()[-1] == "7"


def test_loop_ends_on_ctrl_d(session):
    with create_pipe_input() as inp:
        prompt = build_prompt(session, history=InMemoryHistory(), input=inp,
                              output=DummyOutput(), color=False)
        inp.send_text("x := 6 * 7\r" + CTRL_D)
        interact(session, prompt)
    assert session.image.workspace["x"] == 42
    assert session.out.getvalue().strip() == "42"


def test_history_recalls_previous_input(session):
    history = InMemoryHistory()
    history.append_string("genesis description")
    with create_pipe_input() as inp:
        inp.send_text("\x1b[A\r")   # Up arrow, Enter
        prompt = build_prompt(session, history=history, input=inp, output=DummyOutput(),
                              color=False)
        assert prompt.prompt() == "genesis description"


def test_enter_in_the_completion_menu_takes_the_completion_without_submitting(session, image):
    image.globals["counter"] = image.globals["genesis"].clone()
    image.globals["counter"].set_slot("count", 0)
    image.commit("counter")
    # Tab inserts the common part and opens the menu, Tab selects "count", Enter keeps it
    assert prompt_once(session, "counter cou\t\t\r + 1\r") == "counter count + 1"


def test_toolbar_shows_image_and_editing_mode(session, image_path):
    from batos.repl.app import _toolbar
    assert image_path.name in _toolbar(session) and "emacs" in _toolbar(session)
    session.config.vi_mode = True
    assert "vi insert" in _toolbar(session)
    session.debug = True
    assert "debug on" in _toolbar(session)
