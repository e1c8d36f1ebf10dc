"""Golden renders of the REPL's panels and tables (fixed-width, colourless Console)."""
from __future__ import annotations

from rich.console import Console

from batos.errors import BSTSyntaxError, MessageNotUnderstood
from batos.image.method import Method
from batos.image.proto import Proto
from batos.repl.render import (error_message, error_panel, highlight, history_table,
                               method_view, slot_table, vars_table)


def render(renderable) -> str:
    console = Console(width=80, color_system=None, force_terminal=False, record=True)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


SYNTAX = BSTSyntaxError("expected ']' to close the block opened at 1:17", source="#(1 2) collect: [:x | x * ]",
                        line=1, column=27, filename="<repl>")


def test_syntax_error_panel():
    assert render(error_panel(SYNTAX)) == """\
╭─ BSTSyntaxError ───────────────────────────────╮
│ expected ']' to close the block opened at 1:17 │
│                                                │
│ 1 │ #(1 2) collect: [:x | x * ]                │
│                               ^                │
╰────────────────────────────────── <repl>:1:27 ─╯"""


def test_error_panel_on_the_second_line():
    exc = BSTSyntaxError("unexpected '.'", source="| a |\na := 3 + . a", line=2,
                         column=10, filename="<repl>")
    assert render(error_panel(exc)) == """\
╭─ BSTSyntaxError ─╮
│ unexpected '.'   │
│                  │
│ 2 │ a := 3 + . a │
│              ^   │
╰──── <repl>:2:10 ─╯"""


def test_not_understood_panel_has_no_caret():
    exc = MessageNotUnderstood(Proto("genesis"), "frobnicate", description="a Proto(genesis)")
    assert render(error_panel(exc)) == """\
╭─ MessageNotUnderstood ───────────────────────────╮
│ a Proto(genesis) does not understand #frobnicate │
╰──────────────────────────────────────────────────╯"""


def test_debug_panel_includes_the_traceback():
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as exc:
        text = render(error_panel(exc, debug=True))
    assert "Traceback (most recent call last)" in text
    assert "ZeroDivisionError: division by zero" in text


def test_error_message_is_one_line():
    assert error_message(SYNTAX) == ("expected ']' to close the block opened at 1:17 "
                                     "(line 1, column 27)")
    assert error_message(ValueError("bad\nvalue")) == "ValueError: bad value"


def test_highlight_keeps_the_text():
    source = "| s | s := 'it''s'. #(1 $a #b) , {3/4}. [:x | x] value: nil \"c\""
    assert highlight(source).plain == source


def test_slot_table():
    parent = Proto("base")
    parent.set_slot("greeting", "hello")
    obj = Proto("counter")
    obj.set_slot("base*", parent)
    obj.set_slot("count", 3)
    obj.set_slot("bump", Method("bump", "def bump(self):\n    return 1\n"))
    assert render(slot_table(obj)) == """\
a Proto(counter)
slot     ┃ kind   ┃ value         ┃ owner
━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━
base*    │ parent │ a Proto(base) │ (own)
count    │ data   │ 3             │ (own)
bump     │ method │ method #bump  │ (own)
greeting │ data   │ 'hello'       │ a Proto(base)"""


def test_method_view():
    method = Method("bump", "def bump(self):\n    return 1\n",
                    provenance={"author": "human", "persona": "BRICK"})
    method.__dict__["created"] = None  # Methods are immutable; a fixed time for the golden
    assert render(method_view("a Proto(counter)", "bump", method)) == """\
╭─ a Proto(counter) >> bump ─╮
│ def bump(self):            │
│     return 1               │
│                            │
│ language  python           │
│ author    'human'          │
│ persona   'BRICK'          │
╰────────────────────────────╯"""


def test_history_table():
    rows = [{"id": "AAAA", "time": 0, "user": "", "note": "3 + 4"},
            {"id": "BBBB", "time": 0, "user": "root", "note": "Prototypal Awakening"}]
    text = render(history_table(rows))
    lines = text.splitlines()
    assert lines[0].split() == ["id", "┃", "time", "┃", "user", "┃", "note"]
    assert lines[2].startswith("AAAA") and lines[2].endswith("│ 3 + 4")
    assert "root" in lines[3] and lines[3].endswith("Prototypal Awakening")
    assert render(history_table([])) == "no transactions yet"


def test_vars_table():
    assert render(vars_table({"total": 7, "name": "it's"})) == """\
name  ┃ value
━━━━━━╇━━━━━━━━
name  │ 'it''s'
total │ 7"""
