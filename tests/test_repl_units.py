"""Input units, config file, history file, lexer and completer internals of the REPL."""
from __future__ import annotations

import fcntl
import io
import logging
import os

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from pygments.lexers import get_lexer_for_filename
from pygments.token import Error
from rich.console import Console

from batos.repl import history as history_mod
from batos.repl.completer import BSTCompleter
from batos.repl.config import config_path, load_config, timeout_setting
from batos.repl.history import ReplHistory, make_history
from batos.repl.lexer import BSTLexer
from batos.repl.statements import _fallback_is_complete, is_complete, split_units


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BATOS_REPL_CONFIG", raising=False)


# --- completeness and units ---------------------------------------------------------

@pytest.mark.parametrize("check", [is_complete, _fallback_is_complete])
@pytest.mark.parametrize("source,complete", [
    ("3 + 4", True),
    ("[:x | x", False),
    ("#(1 2", False),
    ("{1. 2", False),
    ("(3 + 4", False),
    ("'it''s", False),
    ("'it''s'", True),
    ('"an open comment', False),
    ('"a (comment" 3', True),
    ("$( printString", True),
    ("'[' , ']'", True),
    ("[[1] value] value", True),
])
def test_completeness(check, source, complete):
    assert check(source) is complete


def test_meta_commands_and_blank_input_are_complete():
    assert is_complete(":inspect [")
    assert is_complete("   ")


def test_split_units_joins_open_lines_and_keeps_dot_separated_lines_whole():
    script = "3 + 4\n\n#(1\n 2)\nx := 1. x + 1\n:vars\n[1 +\n"
    assert split_units(script) == ["3 + 4", "#(1\n 2)", "x := 1. x + 1", ":vars", "[1 +"]


# --- config -------------------------------------------------------------------------

def test_config_defaults_when_missing():
    config = load_config()
    assert config.source is None and not config.vi_mode and config.warnings == []
    assert timeout_setting(config) is ...


def test_config_file_in_xdg_config_home(tmp_path):
    path = tmp_path / "config" / "batos" / "repl.toml"
    assert config_path() == path
    path.parent.mkdir(parents=True)
    path.write_text('vi_mode = true\nstyle = "native"\ntimeout = 0\ncolour = 1\n'
                    'toolbar = "yes"\n')
    config = load_config()
    assert config.source == path
    assert config.vi_mode and config.style == "native"
    assert timeout_setting(config) is None          # 0: no time limit
    assert config.toolbar is True                   # wrong type ignored
    assert any("unknown setting 'colour'" in w for w in config.warnings)
    assert any("toolbar must be bool" in w for w in config.warnings)


def test_broken_config_warns_and_uses_defaults(tmp_path, monkeypatch):
    path = tmp_path / "mine.toml"
    path.write_text("vi_mode = = true")
    monkeypatch.setenv("BATOS_REPL_CONFIG", str(path))
    config = load_config()
    assert not config.vi_mode and config.source is None
    assert config.warnings and str(path) in config.warnings[0]


# --- history ------------------------------------------------------------------------

def test_history_file_in_xdg_state_home(tmp_path):
    history, described = make_history()
    path = tmp_path / "state" / "batos" / "history"
    assert isinstance(history, ReplHistory) and str(path) in described
    history.store_string("3 + 4")
    history.store_string("[:x |\n x]")
    again = ReplHistory(path)
    assert list(again.load_history_strings()) == ["[:x |\n x]", "3 + 4"]


def test_unwritable_history_falls_back_to_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    history, described = make_history(blocker / "history")   # parent is a file
    assert isinstance(history, InMemoryHistory)
    assert "kept in memory" in described


def test_locked_history_keeps_the_entry_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(history_mod, "LOCK_WAIT", 0.05)
    path = tmp_path / "history"
    history = ReplHistory(path)
    with open(path, "ab") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        history.append_string("genesis clone")       # another REPL holds the lock
    assert "locked" in history.problem
    assert path.read_text() == ""
    assert history.get_strings() == ["genesis clone"]  # still recalled this session


def test_history_write_error_degrades(tmp_path):
    path = tmp_path / "history"
    history = ReplHistory(path)
    os.chmod(tmp_path, 0o500)
    try:
        path_is_writable = os.access(tmp_path, os.W_OK)
        history.append_string("3 + 4")
    finally:
        os.chmod(tmp_path, 0o700)
    if not path_is_writable:
        assert history.in_memory and "in memory" in history.problem
    assert history.get_strings() == ["3 + 4"]


# --- lexer ----------------------------------------------------------------------------

def test_lexer_is_the_pygments_plugin_for_bst_files():
    assert type(get_lexer_for_filename("migrate.bst")) is BSTLexer


def test_lexer_tokens():
    source = ("| sum | sum := 0. \"c\" 1 to: 10 do: [:i | sum := sum + i]. "
              "#(1 $a 'x' #y (2 3) true) size. #at:put: 16r1F -3.5e2. "
              "counter >> increment [ ^self count ]. Transcript show: 'it''s'")
    tokens = list(BSTLexer().get_tokens(source))
    assert not [v for t, v in tokens if t in Error]
    assert "".join(v for _, v in tokens) == source + "\n"
    kinds = {v: str(t) for t, v in tokens}
    assert kinds["to:"] == "Token.Name.Function"
    assert kinds["#at:put:"] == "Token.Literal.String.Symbol"
    assert kinds["16r1F"] == "Token.Literal.Number.Hex"
    assert kinds["Transcript"] == "Token.Name.Class"
    assert kinds["self"] == "Token.Name.Builtin.Pseudo"
    assert kinds[":="] == "Token.Operator"


# --- completer --------------------------------------------------------------------------

@pytest.fixture
def completer(tmp_path):
    from batos.image.image import open_image
    from batos.repl.session import ReplSession
    image = open_image(tmp_path / "c.fs")
    session = ReplSession(image, Console(file=io.StringIO()))
    yield BSTCompleter(session), image
    image.close()


def complete(completer, text):
    return [c.display_text for c in completer.get_completions(Document(text), CompleteEvent())]


def test_completes_names(completer):
    comp, image = completer
    image.workspace["genie"] = 1
    assert complete(comp, "gen") == ["genie", "genesis"]
    assert complete(comp, "x := 3 + gene") == ["genesis"]
    assert "OrderedCollection" in complete(comp, "Ordered")
    assert complete(comp, "| apple | app") == ["apple"]


def test_completes_own_and_inherited_slots(completer):
    comp, image = completer
    counter = image.globals["genesis"].clone()
    counter.set_slot("count", 0)
    counter.define("increment", "def increment(self):\n    self.count += 1\n"
                                "    self._p_changed = True\n    return self.count\n")
    image.globals["counter"] = counter
    image.commit("counter")
    assert complete(comp, "counter incr") == ["increment"]
    assert complete(comp, "counter cou") == ["count", "count:"]
    assert "clone" in complete(comp, "counter cl")      # inherited from traits
    assert "setSlot:value:" in complete(comp, "counter setS")


def test_completes_the_protocol_of_literals(completer):
    comp, _ = completer
    assert complete(comp, "3 fact") == ["factorial"]
    assert "size" in complete(comp, "'it''s' si")
    assert "inject:into:" in complete(comp, "#(1 2) inj")
    assert "value:" in complete(comp, "[:x | x] valu")
    assert "cr" in complete(comp, "Transcript show: 'a'; c")


def test_completion_loads_no_method_objects(tmp_path):
    from batos.image.image import open_image
    from batos.repl.session import ReplSession
    with open_image(tmp_path / "ghosts.fs") as image:
        counter = image.globals["genesis"].clone()
        counter.define("increment", "def increment(self):\n    return 1\n")
        image.globals["counter"] = counter
        image.commit("counter")
    with open_image(tmp_path / "ghosts.fs") as image:
        comp = BSTCompleter(ReplSession(image, Console(file=io.StringIO())))
        assert complete(comp, "counter incr") == ["increment"]
        counter = image.globals["counter"]
        method = counter.__dict__["_slots"]["increment"]
        assert method._p_status == "ghost"               # listed without being loaded
        traits = image.globals["traits"]
        assert traits.__dict__["_slots"]["clone"]._p_status == "ghost"


def test_completes_the_next_keyword_of_a_message(completer):
    comp, image = completer
    image.workspace["d"] = {}
    assert complete(comp, "d at: 1 pu") == ["at:put:"]
    texts = [c.text for c in comp.get_completions(Document("3 between: 1 an"), CompleteEvent())]
    assert texts == ["and: "]


def test_never_runs_code_to_find_a_receiver(completer):
    comp, image = completer
    assert complete(comp, "(Image at: #x put: 3) fact") == []
    assert complete(comp, "3 factorial fact") == []
    assert "x" not in image.globals
    assert complete(comp, "'gen") == []                # inside a string
    assert complete(comp, '"gen') == []                # inside a comment


def test_completes_meta_commands_and_their_arguments(completer):
    comp, _ = completer
    assert complete(comp, ":ins") == [":inspect"]
    assert complete(comp, ":inspect gene") == ["genesis"]
    assert complete(comp, ":debug o") == ["on", "off"]


def test_completer_errors_are_swallowed_and_logged(completer, tmp_path):
    comp, image = completer

    class Broken(dict):
        def __contains__(self, key):
            raise RuntimeError("boom")

        def __iter__(self):
            raise RuntimeError("boom")

    image.workspace = Broken()
    assert complete(comp, "gen") == []
    for handler in logging.getLogger("batos.repl").handlers:
        handler.flush()
    log = (tmp_path / "state" / "batos" / "repl-debug.log").read_text()
    assert "completion failed" in log and "RuntimeError: boom" in log
