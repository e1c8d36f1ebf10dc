"""The interactive REPL: a prompt-toolkit session over a :class:`ReplSession`
(``batos repl`` opens the image and calls :func:`interact`: :mod:`batos.cli.repl_cmd`).

Keys: Enter evaluates once nothing is left open (else it starts a new, indented
line); Esc-Enter (Meta+Enter) evaluates now; Tab completes; Ctrl-C abandons the
input (or interrupts and rolls back a running statement); Ctrl-D on an empty line
quits. Pastes arrive bracketed, so pasted newlines never submit.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from batos.repl.session import INTERRUPTED, ReplSession
from batos.repl.statements import is_complete

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import History
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.output import Output

__all__ = ["build_prompt", "key_bindings", "interact", "PROMPT", "CONTINUATION"]

PROMPT = "batos> "
CONTINUATION = "   ..> "


def key_bindings() -> "KeyBindings":
    """Enter (submit when complete), Esc-Enter (submit now), Tab with an open menu."""
    from prompt_toolkit.filters import (Condition, completion_is_selected, emacs_insert_mode,
                                        has_completions, vi_insert_mode)
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()
    auto: dict[str, Any] = {}   # the indentation Enter inserted, while it is all the line holds

    @Condition
    def _on_auto_indent() -> bool:
        from prompt_toolkit.application import get_app
        doc = get_app().current_buffer.document
        return (auto.get("at") == (doc.cursor_position_row, doc.current_line)
                and not doc.current_line_after_cursor)

    @kb.add(" ", filter=_on_auto_indent & (emacs_insert_mode | vi_insert_mode))
    def _typed_indent(event: Any) -> None:
        """Typed indentation replaces the automatic one instead of adding to it."""
        buffer = event.current_buffer
        buffer.delete_before_cursor(len(buffer.document.current_line_before_cursor))
        buffer.insert_text(" ")
        auto.clear()

    @kb.add("enter", filter=has_completions & completion_is_selected)
    def _accept_completion(event: Any) -> None:
        buffer = event.current_buffer
        buffer.complete_state = None   # keep the chosen completion, close the menu

    @kb.add("enter", filter=~(has_completions & completion_is_selected))
    def _enter(event: Any) -> None:
        buffer = event.current_buffer
        auto.clear()
        if is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            indent = _indent_for(buffer.document.current_line_before_cursor)
            buffer.insert_text("\n" + indent)
            if indent:
                auto["at"] = (buffer.document.cursor_position_row, indent)

    @kb.add("escape", "enter")
    def _force(event: Any) -> None:
        event.current_buffer.validate_and_handle()

    return kb


def _indent_for(line: str) -> str:
    """The indentation of the next line: the current one's, two more after an opener."""
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.rstrip()
    if stripped.endswith(("[", "(", "{")) or stripped.endswith("|") and "[" in stripped:
        indent += "  "
    return indent


def build_prompt(session: ReplSession, *, history: "History | None" = None,
                 input: "Input | None" = None, output: "Output | None" = None,
                 color: bool = True) -> "PromptSession[str]":
    """The PromptSession: BST highlighting, completion, multi-line editing, history."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.enums import EditingMode
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.layout.processors import HighlightMatchingBracketProcessor
    from prompt_toolkit.output import ColorDepth
    from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls
    from pygments.styles import get_style_by_name
    from pygments.util import ClassNotFound

    from batos.repl.completer import BSTCompleter
    from batos.repl.lexer import BSTLexer

    config = session.config
    try:
        pygments_style = get_style_by_name(config.style)
    except ClassNotFound:
        config.warnings.append(f"unknown style {config.style!r}; using monokai")
        pygments_style = get_style_by_name("monokai")
    style = merge_styles([style_from_pygments_cls(pygments_style), Style.from_dict({
        "prompt": "ansigreen bold", "continuation": "ansibrightblack",
        "matching-bracket.cursor": "bold underline", "matching-bracket.other": "bold underline",
        "bottom-toolbar": "noreverse bg:#303030 #b0b0b0"})])

    def continuation(width: int, line_number: int, is_soft_wrap: int) -> Any:
        return [("class:continuation", CONTINUATION.rjust(width))]

    prompt = PromptSession(
        lambda: [("class:prompt", session.prompt_text())],   # batos@WHEN> under :at WHEN
        multiline=True,
        prompt_continuation=continuation,
        lexer=PygmentsLexer(BSTLexer) if color else None,
        completer=BSTCompleter(session),
        complete_while_typing=config.complete_while_typing,
        auto_suggest=AutoSuggestFromHistory() if config.auto_suggest else None,
        history=history,
        key_bindings=key_bindings(),
        editing_mode=EditingMode.VI if config.vi_mode else EditingMode.EMACS,
        enable_open_in_editor=True,
        bottom_toolbar=(lambda: _toolbar(session)) if config.toolbar else None,
        style=style,
        color_depth=None if color else ColorDepth.MONOCHROME,
        include_default_pygments_style=False,
        input=input,
        output=output,
        mouse_support=False,
        enable_suspend=True,
        tempfile_suffix=".bst",
        input_processors=[HighlightMatchingBracketProcessor(chars="[](){}")],
    )
    session.prompt_session = prompt  # :edit opens $EDITOR through its buffer (confinement)
    return prompt


def _toolbar(session: ReplSession) -> str:
    image = session.image
    parts = [f" {image.path.name}" + (" (read-only)" if image.read_only else ""),
             _count(len(image.workspace), "var"), _editing_mode(session)]
    if getattr(session, "past", None) is not None:   # :at WHEN
        parts.insert(1, f"as of {session.past.when.get('when')} (read-only; :now returns)")
    if session.debug:
        parts.append("debug on")
    parts.append(":help  Esc-Enter run  Ctrl-D quit")
    return " │ ".join(parts)


def _count(n: int, noun: str) -> str:
    """``1 var``, ``2 vars``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _editing_mode(session: ReplSession) -> str:
    if not session.config.vi_mode:
        return "emacs"
    from prompt_toolkit.application import get_app
    from prompt_toolkit.key_binding.vi_state import InputMode
    mode = get_app().vi_state.input_mode
    return {InputMode.INSERT: "vi insert", InputMode.NAVIGATION: "vi normal",
            InputMode.REPLACE: "vi replace"}.get(mode, "vi")


def interact(session: ReplSession, prompt: "PromptSession[str]") -> None:
    """Read, evaluate, print until ``:quit`` or Ctrl-D. Ctrl-C never leaves."""
    while not session.done:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:
            continue               # the input is abandoned; a fresh prompt follows
        except EOFError:
            break
        try:
            session.handle(text)
        except KeyboardInterrupt:  # outside the statement proper (e.g. while printing)
            session.image.abort()
            session.print(INTERRUPTED)
