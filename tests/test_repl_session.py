"""ReplSession: one transaction per statement, errors, interrupts, Transcript, meta commands."""
from __future__ import annotations

import io
import os
import signal
import threading

import pytest
from rich.console import Console

from batos.image.image import open_image
from batos.repl.commands import find, register_command, run_command
from batos.repl.session import INTERRUPTED, ReplSession, run_batch


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))




def make(image, interactive=True):
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, force_terminal=False)
    return ReplSession(image, console, interactive=interactive), out


def test_statement_commits_and_echoes_print_string(image, image_path):
    session, out = make(image)
    assert session.handle("Image at: #answer put: 6 * 7")
    assert session.handle("answer + 0")
    assert out.getvalue().splitlines()[-1] == "42"
    image.close()
    with open_image(image_path) as again:
        assert again.globals["answer"] == 42
    assert "Image at: #answer put: 6 * 7" in [r["note"] for r in again_history(image_path)]


def again_history(image_path):
    with open_image(image_path, read_only=True) as img:
        return img.history(5)


def test_error_rolls_back_the_whole_unit_and_shows_a_panel(image):
    session, out = make(image)
    assert not session.handle("Image at: #zork put: 1. 1/0")
    assert "zork" not in image.globals
    text = out.getvalue()
    assert "ZeroDivide" in text and "1/0" in text and "^" in text
    assert "Traceback" not in text
    assert session.failures == 1


def test_error_restores_the_workspace(image):
    session, _ = make(image)
    session.handle("x := 1")
    assert not session.handle("x := 2. y := 3. 1/0")
    assert image.workspace == {"x": 1}
    session.peek("z := 4")
    assert image.workspace == {"x": 1}


def test_debug_on_adds_the_python_traceback(image):
    session, out = make(image)
    run_command(session, ":debug on")
    assert session.debug
    session.handle("1/0")
    assert "Traceback (most recent call last)" in out.getvalue()
    run_command(session, ":debug off")
    assert not session.debug


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_interrupts_a_running_loop_and_rolls_back(image):
    session, out = make(image)
    session.config.timeout = 0      # no time limit: only the interrupt can stop it
    _interrupt_after(0.5)
    ok = session.handle("Image at: #half put: 1. [true] whileTrue: [nil]")
    assert not ok
    assert INTERRUPTED in out.getvalue()
    assert "half" not in image.globals
    assert session.handle("3 + 4")   # the session goes on
    assert out.getvalue().splitlines()[-1] == "7"


def test_transcript_output_goes_to_the_terminal_before_the_value(image):
    session, out = make(image)
    session.handle("Transcript show: 'hello'. 5")
    assert out.getvalue().splitlines()[-2:] == ["hello", "5"]


def test_batch_mode_prints_one_line_per_unit_and_exit_code(image):
    session, out = make(image, interactive=False)
    lines = ["3 + 4\n", "#(1 2\n", " 3)\n", "\n", "zork\n", "x := 2. x * 10\n"]
    code = run_batch(session, lines)
    assert code == 1
    assert out.getvalue().splitlines() == [
        "7", "#(1 2 3)", "ERROR: unknown name 'zork' (line 1, column 1)", "20"]


def test_peek_rolls_back(image):
    session, _ = make(image)
    assert session.peek("Image at: #peeked put: 3. 9") == 9
    assert "peeked" not in image.globals


# --- meta commands -------------------------------------------------------------------

@pytest.fixture
def counter(image):
    session, out = make(image)
    assert session.handle("Image at: #counter put: genesis clone")
    assert session.handle("counter setSlot: #count value: 0")
    image.globals["counter"].define(
        "increment", "def increment(self):\n    self.count += 1\n    self._p_changed = True\n    return self.count\n")
    image.commit("define increment")
    return session, out


def test_source_shows_method_with_provenance(counter):
    session, out = counter
    assert run_command(session, ":source counter increment")
    text = out.getvalue()
    assert "counter) >> increment" in text
    assert "def increment(self):" in text and "language" in text and "python" in text


def test_source_of_missing_method_suggests(counter):
    session, out = counter
    assert not run_command(session, ":source counter incremnt")
    assert "did you mean #increment" in out.getvalue()


def test_inspect_lists_slots_and_follows_one(counter):
    session, out = counter
    assert run_command(session, ":inspect counter")
    text = out.getvalue()
    assert "count" in text and "increment" in text and "traits*" in text
    out.truncate(0)
    out.seek(0)
    assert run_command(session, ":inspect counter increment")
    assert "def increment(self):" in out.getvalue()


def test_audit_reports_on_a_method(counter):
    session, out = counter
    assert run_command(session, ":audit counter increment")
    assert "increment" in out.getvalue()


def test_history_and_undo(counter, image):
    session, out = counter
    assert run_command(session, ":history 5")
    assert "define increment" in out.getvalue()
    assert run_command(session, ":undo")
    assert image.globals["counter"].method("increment") is None


def test_vars_lists_workspace_variables(image):
    session, out = make(image)
    session.handle("total := 3 + 4")
    run_command(session, ":vars")
    assert "total" in out.getvalue() and "7" in out.getvalue()


def test_unknown_command_suggests(image):
    session, out = make(image)
    assert not run_command(session, ":inspekt genesis")
    assert "did you mean :inspect" in out.getvalue()


def test_quit_ends_the_session(image):
    session, _ = make(image)
    run_command(session, ":quit")
    assert session.done


def test_register_command_adds_a_real_command(image):
    seen = []
    register_command("zz_test", lambda s, arg: seen.append(arg), "a test command", ":zz_test X")
    session, out = make(image)
    assert run_command(session, ":zz_test hello world")
    assert seen == ["hello world"]
    assert find("zz_test").help == "a test command"
    run_command(session, ":help")
    assert ":zz_test X" in out.getvalue()


def test_trace_and_persona_are_provided_by_their_subsystem(image):
    session, out = make(image)
    assert not find("trace").builtin and not find("persona").builtin
    assert run_command(session, ":persona")
    assert "BRICK" in out.getvalue()
    assert run_command(session, ":log")
    assert "no generations logged yet" in out.getvalue()


def test_undo_without_an_id_refuses_to_unmake_the_image(image):
    session, out = make(image)
    assert not run_command(session, ":undo")
    assert "Prototypal Awakening" in out.getvalue()
    assert "genesis" in image.globals


def test_a_swallowed_interrupt_still_rolls_back(image, monkeypatch):
    """Ctrl-C that lands where it is swallowed (a C callback, a catch-all) never commits."""
    session, out = make(image)
    real = type(image).evaluate

    def swallowing(self, source, **kw):
        self.globals["sneaky"] = 1
        try:
            os.kill(os.getpid(), signal.SIGINT)   # the handler runs at the next bytecode
            for _ in range(1000):
                pass
        except KeyboardInterrupt:
            pass                    # e.g. inside a ctypes log callback
        return real(self, "3", **kw)

    monkeypatch.setattr(type(image), "evaluate", swallowing)
    assert not session.handle("3")
    assert INTERRUPTED in out.getvalue()
    assert "sneaky" not in image.globals


def test_a_pending_interrupt_stops_model_generation_at_the_next_token(image):
    from batos.mind.dnu import _token_sink
    session, _ = make(image)
    with session._guard.armed(), session.generation():
        sink = _token_sink.get()
        sink("def ")                        # streaming goes on
        session._guard.requested = True      # Ctrl-C arrived (and was swallowed)
        with pytest.raises(KeyboardInterrupt):
            sink("foo")
