"""One configuration path (batos.settings) and the five bugs of issue 13, each pinned.

flag → image options → environment → default, answered by one function; the persona,
the backend, the method view, ``slotNames`` and the one safe one-line printString.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from batos import settings
from batos.errors import BatosError
from batos.image.method import Method
from batos.llm import FakeBackend
from batos.mind.dnu import use_backend, use_persona
from batos.settings import overriding, resolve, setting
from tests.objects import make_counter as _counter

ROOT = Path(__file__).resolve().parents[1]
ANSWER = "    self.count = self.count + number\n    self._p_changed = True\n    return self.count\n```"


def render(renderable: Any, width: int = 60) -> str:
    console = Console(width=width, color_system=None, force_terminal=False, record=True)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


def _send(image: Any, receiver: Any, selector: str, *args: Any) -> Any:
    return image.execute(lambda: receiver.send(selector, *args), note=f"send {selector}")


# --- the resolution order ---------------------------------------------------------------------

def test_the_order_is_flag_then_options_then_environment_then_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATOS_RETRIES", raising=False)
    assert resolve("retries") == (2, "default")
    monkeypatch.setenv("BATOS_RETRIES", "5")
    assert resolve("retries") == (5, "$BATOS_RETRIES")
    assert resolve("retries", options={"retries": 1}) == (1, "options")
    assert resolve("retries", options={"retries": None}) == (5, "$BATOS_RETRIES")  # None: unset
    with overriding(retries=0):
        assert resolve("retries", options={"retries": 1}) == (0, "flag")
        assert setting("retries", flag=7, options={"retries": 1}) == 7  # the caller's flag
    assert setting("retries") == 5
    monkeypatch.setenv("BATOS_RETRIES", "many")
    with pytest.raises(BatosError, match=r"\$BATOS_RETRIES must be an integer, not 'many'"):
        setting("retries")


def test_kinds_and_caller_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATOS_TIMEOUT", raising=False)
    monkeypatch.delenv("BATOS_PERSONA", raising=False)
    assert setting("timeout") == 5.0 and setting("timeout", flag=0) is None  # 0: no limit
    assert setting("timeout", options={"timeout": "2.5"}) == 2.5
    assert setting("persona", flag="robin") == "ROBIN" and setting("persona") is None
    assert setting("persona", default="babs") == "BABS"  # the image's own default, last
    monkeypatch.setenv("BATOS_PERSONA", "alfred")
    assert setting("persona", default="babs") == "ALFRED"
    with pytest.raises(KeyError, match="no setting 'colour'"):
        setting("colour")
    with pytest.raises(KeyError):
        with overriding(colour="red"):
            pass


def test_the_guardian_limits_and_threads_read_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from batos.guardian.limits import configured_memory_mb, configured_timeout
    monkeypatch.setenv("BATOS_TIMEOUT", "3")
    monkeypatch.setenv("BATOS_MEMORY_MB", "0")
    assert configured_timeout() == 3.0 and configured_memory_mb() is None
    assert configured_timeout({"timeout": 9}) == 9.0
    with overriding(timeout=1):
        assert configured_timeout({"timeout": 9}) == 1.0
    monkeypatch.setenv("BATOS_LLM_THREADS", "3")
    from batos.llm.llamacpp import Engine
    assert Engine("/nonexistent.gguf").n_threads == 3
    assert Engine("/nonexistent.gguf", n_threads=2).n_threads == 2


def test_the_table_is_documented_in_architecture() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    assert settings.table_markdown() in doc
    assert "flag → image options → environment → default" in doc


def test_settings_imports_nothing_from_batos_but_errors() -> None:
    source = (ROOT / "batos" / "settings.py").read_text("utf-8")
    imported = set(re.findall(r"^\s*(?:from|import) (batos[\w.]*)", source, re.MULTILINE))
    assert imported == {"batos.errors"}


def test_cli_flag_beats_the_environment(image_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``batos eval --persona`` sets the flag level; ``$BATOS_PERSONA`` is below it."""
    from typer.testing import CliRunner

    from batos.cli.main import app
    monkeypatch.setenv("BATOS_CONFINE", "off")
    monkeypatch.setenv("BATOS_PERSONA", "nobody")
    runner = CliRunner()
    done = runner.invoke(app, ["eval", "-i", str(image_path), "--create", "3 + 4"])
    assert done.exit_code == 0, done.output
    seen: list[Any] = []
    import batos.cli.lang_cmd as lang_cmd
    real = lang_cmd._evaluate

    def spy(im: Any, source: str, **kw: Any) -> Any:
        from batos.mind.personas import code_persona_name
        seen.append(code_persona_name(im))
        return real(im, source, **kw)
    monkeypatch.setattr(lang_cmd, "_evaluate", spy)
    done = runner.invoke(app, ["eval", "-i", str(image_path), "--persona", "robin", "1"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["eval", "-i", str(image_path), "1"])
    assert seen == ["ROBIN", "NOBODY"]


# --- bug: rich.print(method) ------------------------------------------------------------------

def test_rich_print_of_a_method_shows_its_source_and_provenance() -> None:
    method = Method("bump", "def bump(self):\n    return 1\n",
                    provenance={"author": "human", "persona": "BRICK"})
    method.__dict__["created"] = None  # a fixed time for the golden
    assert render(method) == """\
╭─ >> bump ─────────╮
│ def bump(self):   │
│     return 1      │
│                   │
│ language  python  │
│ author    'human' │
│ persona   'BRICK' │
╰───────────────────╯"""
    bst = Method("double", "double\n\t^ count * 2", language="bst")
    bst.__dict__["created"] = None
    assert render(bst) == """\
╭─ >> double ─────╮
│ double          │
│     ^ count * 2 │
│                 │
│ language  bst   │
╰─────────────────╯"""
    from batos.render.code import MethodView
    assert render(MethodView(bst, "a Proto(counter)")).startswith("╭─ a Proto(counter) >> double")


# --- bug: :persona ROBIN, one selector --------------------------------------------------------

def test_persona_option_names_the_trace_and_the_provenance_alike(image: Any) -> None:
    from batos.mind.trace import last_trace
    counter = _counter(image)
    image.options["persona"] = "ROBIN"  # what `:persona ROBIN` sets
    with use_backend(FakeBackend([ANSWER])):
        assert _send(image, counter, "addTo:", 4) == 7
    trace = last_trace(image)
    assert trace.persona == "ROBIN"
    assert counter.method("addTo:").provenance["persona"] == "ROBIN"
    from batos.render.persona import render_persona_table
    marked = [line for line in render(render_persona_table(image), 100).splitlines()
              if line.lstrip().startswith("*")]
    assert len(marked) == 1 and "ROBIN" in marked[0]  # `:persona` lists the same choice
    with use_persona("babs"), use_backend(FakeBackend([ANSWER])):  # the flag beats the option
        assert _send(image, counter, "addAgain:", 1) == 8
    assert last_trace(image).persona == "BABS"
    assert counter.method("addAgain:").provenance["persona"] == "BABS"


# --- bug: image.options["backend"] and doesNotUnderstand_ -------------------------------------

def test_doesnotunderstand_uses_the_backend_option(image: Any) -> None:
    counter = _counter(image)
    fake = FakeBackend([ANSWER])
    image.options["backend"] = fake  # with BATOS_LLM=off (conftest): only this can generate
    assert _send(image, counter, "addTo:", 4) == 7
    assert len(fake.prompts) == 1 and counter.method("addTo:") is not None
    flagged = FakeBackend(["    return self.count * 2\n```"])
    with use_backend(flagged):  # the flag level beats the option, on both paths
        assert _send(image, counter, "doubled") == 14
        from batos.mind.personas import backend_for
        assert backend_for(image) is flagged
    assert len(fake.prompts) == 1 and len(flagged.prompts) == 1


# --- bug: slotNames answers selectors ---------------------------------------------------------

def test_slot_names_answer_selectors_for_method_slots(image: Any) -> None:
    source = ("acct := genesis clone. acct setSlot: #balance value: 0.\n"
              "acct >> deposit: n [ balance := balance + n ].\n"
              "acct define: #owing: as: 'def owing_(self, n):\n    return self.balance - n\n'.\n"
              "acct slotNames")
    printed = image.execute(lambda: image.print_string(image.evaluate(source, workspace={})),
                            note="slotNames", save=False)
    assert printed.endswith("#balance #deposit: #owing:)")
    assert "deposit_" not in printed and "owing_" not in printed


# --- bug: one safe one-line printString -------------------------------------------------------

class _Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def test_one_line_is_safe_folded_escaped_and_cut() -> None:
    from batos.image.preview import one_line, safe_print_string
    assert one_line("a\nb\x1b[2J") == "'a b\\x1b[2J'"
    assert one_line(list(range(40)), 20) == "#(0 1 2 3 4 5 6 7 8…"
    assert len(one_line("x" * 100, 10)) == 10
    assert safe_print_string(_Broken()).startswith(("a ", "an ", "<unprintable"))


def test_every_view_uses_the_one_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """The REPL, the mission brief, the --dry-run report and the inspector all call
    batos.image.preview: replacing it there changes what each of them shows."""
    import batos.image.preview as preview_mod
    from batos.image.changes import preview as changes_preview
    from batos.mind.prompts import preview as prompt_preview
    from batos.render.inspector import inspect_data
    from batos.repl.render import preview as repl_preview
    monkeypatch.setattr(preview_mod, "safe_print_string", lambda value: "SHOWN\nhere")
    assert repl_preview(42) == changes_preview(42) == prompt_preview(42) == "SHOWN here"
    assert inspect_data(42)["printString"] == "SHOWN\nhere"  # the JSON keeps it whole
    for path in ("repl/render.py", "mind/prompts.py", "image/changes.py", "render/inspector.py"):
        text = (ROOT / "batos" / path).read_text("utf-8")
        assert "lang.printing import print_string" not in text, path
