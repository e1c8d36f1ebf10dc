"""Methods fitted to the brief's example rather than to the world they work in.

A brief shows the objects a receiver holds by the first one's values
(:func:`batos.mind.world.shape`), and a small model reads the example as the question:
``customersByLoaves`` became ``[o.customer for o in self.orders if o.loaves == 4]``
(4 is the first order's ``loaves``) and ``totalSeatsLeft`` became
``self.shows[0].seats - self.shows[0].sold``. Such a method answers the actual send
plausibly and nothing else catches it. :func:`overfit` names the two shapes, so the
candidate is passed over and the retry is told why:

- a comparison of a held object's slot with a number (other than 0 and 1) that the first
  object, the one the brief shows, holds there, unless the selector or the arguments
  carry it (strings are left alone: ``status == 'open'`` is how a filter reads an
  enumeration, and a small world's statuses can all differ like names do);
- a constant index into a slot holding several objects (``self.shows[0]``) when the
  selector's name says nothing of a position (first, last, next, top, …).
"""
from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from batos.image.proto import Proto
from batos.image.selectors import is_parent_slot
from batos.mind.prompts import selector_words
from batos.mind.world import Family, elements, family_of, same_value, value_text

#: selector words that make a constant index a reading of the name, not of the example
_POSITIONAL = {"first", "last", "second", "third", "top", "head", "tail", "front", "back",
               "next", "previous", "current", "latest", "newest", "earliest", "oldest",
               "bottom", "initial", "final", "only", "lead", "leading"}


def _held(receiver: Any, family: Family) -> dict[str, list[Proto]]:
    """The receiver's slots that hold two or more prototypes (as a list or a dict's
    values), by slot name."""
    out: dict[str, list[Proto]] = {}
    for name, value in family.fields(receiver):
        if is_parent_slot(name):
            continue
        protos = [v for v in elements(value) if isinstance(v, Proto)]
        if len(protos) >= 2:
            out[name] = protos
    return out


#: number words a selector may carry a number in (``roomsWithTwoBeds``)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "twenty": 20, "hundred": 100}


def _suspect_literal(value: Any, shown: Any) -> bool:
    """Whether comparing a slot with ``value`` reads the example: a number other than 0
    and 1 that is the value ``shown`` for the first held object."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value in (0, 1):
        return False
    return same_value(shown, value)


def _carried(value: Any, selector: str, arguments: Sequence[Any]) -> bool:
    """Whether the send itself carries ``value``: an argument, digits or a number word
    of the selector."""
    if any(same_value(value, a) for a in arguments if not isinstance(a, bool)):
        return True
    words = {w.lower() for w in selector_words(selector)}
    return str(value) in selector or any(_NUMBER_WORDS.get(w) == value for w in words)


def _compared_literal(tree: ast.AST, held: dict[str, list[Proto]], selector: str,
                      arguments: Sequence[Any], family: Family) -> str | None:
    # the first object's slots, as the brief shows them: field -> (slot, value)
    shown = {f: (slot, v) for slot, objs in held.items() for f, v in family.fields(objs[0])}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        attrs = [o.attr for o in operands if isinstance(o, ast.Attribute)]
        consts = [o.value for o in operands if isinstance(o, ast.Constant)]
        for field in attrs:
            if field not in shown:
                continue
            slot, example = shown[field]
            for value in consts:
                if _suspect_literal(value, example) and \
                        not _carried(value, selector, arguments):
                    return (f"it compares .{field} with {value_text(value)}, the value the "
                            f"first object in self.{slot} happens to hold (the brief shows "
                            "it as an example); the answer must follow from the data and "
                            "the arguments, not from example values.")
    return None


def _constant_index(tree: ast.AST, held: dict[str, list[Proto]], selector: str) -> str | None:
    if {w.lower() for w in selector_words(selector)} & _POSITIONAL:
        return None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"):
            continue
        index = node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
            index = index.operand
        slot = node.value.attr
        if slot in held and isinstance(index, ast.Constant) and \
                isinstance(index.value, int) and not isinstance(index.value, bool):
            return (f"it reads only self.{slot}[{ast.unparse(node.slice)}], one of the "
                    f"{len(held[slot])} objects in self.{slot}; #{selector} is about all of "
                    "them (its name says nothing of a first or last one).")
    return None


def overfit(code: str, receiver: Any, selector: str, arguments: Sequence[Any] = (),
            family: Family | None = None) -> str | None:
    """Why ``code`` reads the brief's example rather than the data (see the module
    doc), as feedback for a retry; None when it does not."""
    if not isinstance(receiver, Proto):
        return None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    family = family or family_of(receiver)
    held = _held(receiver, family)
    if not held:
        return None
    return (_compared_literal(tree, held, selector, arguments, family)
            or _constant_index(tree, held, selector))


__all__ = ["overfit"]
