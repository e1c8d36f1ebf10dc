"""Curriculum seed files for the heartbeat (``batos mind seed FILE``).

A seed file is JSON (a list of intent objects) or JSON Lines (one object a line)::

    {"receiver": "Counter", "selector": "double:", "args": ["3"], "examples": "{3 -> 6}"}

:func:`read_intents` checks everything before anything is written: the JSON itself, each
field's type, the receiver (a global of the image), the selector (a valid Smalltalk
selector whose arity matches ``len(args)``), each argument and the examples (BST
literals: numbers, strings, symbols, characters, ``true``/``false``/``nil``, literal and
brace arrays, ``->`` associations of literals). A problem is a :class:`SourceError`
pointing at FILE:line:col with a caret. :func:`seed` then queues the new intents through
:func:`batos.mind.improve.add_curriculum` in one transaction.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from batos.errors import BatosError, SourceError
from batos.lang import nodes as n
from batos.lang.contracts import arity
from batos.lang.lexer import position_of
from batos.mind.improve import intent_key

FIELDS = ("receiver", "selector", "args", "examples")
_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|(?:[A-Za-z_][A-Za-z0-9_]*:)+|[+\-*/\\<>=~@%|&?,]+")


class SeedError(SourceError):
    """A seed file could not be read or an intent in it is invalid."""


# --- locating values in the file text ------------------------------------------------------

class _Located:
    """One JSON value of the file with the offset of its first character."""

    def __init__(self, value: Any, start: int, end: int) -> None:
        self.value, self.start, self.end = value, start, end


def _error(path: Path, text: str, offset: int, message: str) -> SeedError:
    line, col = position_of(text, offset)
    return SeedError(message, source=text, line=line, column=col, filename=str(path))


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _objects(path: Path, text: str) -> list[_Located]:
    """The top-level intent objects (JSON list or JSON Lines), with their spans."""
    decoder = json.JSONDecoder()

    def decode(i: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            raise _error(path, text, exc.pos, f"invalid JSON: {exc.msg}") from None
    out: list[_Located] = []
    i = _skip_ws(text, 0)
    if i >= len(text):
        raise _error(path, text, i, "empty seed file: give a JSON list of intents or JSON Lines")
    if text[i] == "[":                       # one JSON list
        i = _skip_ws(text, i + 1)
        if i < len(text) and text[i] == "]":
            i += 1
        else:
            while True:
                value, end = decode(i)
                out.append(_Located(value, i, end))
                i = _skip_ws(text, end)
                if i < len(text) and text[i] == ",":
                    i = _skip_ws(text, i + 1)
                    continue
                if i < len(text) and text[i] == "]":
                    i += 1
                    break
                raise _error(path, text, i, "invalid JSON: expected ',' or ']' in the list")
        i = _skip_ws(text, i)
        if i < len(text):
            raise _error(path, text, i, "invalid JSON: extra data after the list")
        return out
    while i < len(text):                     # JSON Lines
        value, end = decode(i)
        out.append(_Located(value, i, end))
        nl = _skip_ws(text, end)
        if nl < len(text) and "\n" not in text[end:nl]:
            raise _error(path, text, nl, "invalid JSON Lines: one intent object a line")
        i = nl
    return out


def _find_value(text: str, obj: _Located, key: str, value: Any, after: int = -1) -> int:
    """Best offset of ``value`` (the JSON value of ``key`` in ``obj``): after the key,
    else the object's start. Exact for values written without escapes."""
    at = text.find(json.dumps(key), obj.start, obj.end)
    if at < 0:
        return obj.start
    at = text.find(":", at, obj.end) + 1
    start = max(at, after)
    found = text.find(json.dumps(value, ensure_ascii=False), start, obj.end)
    if found < 0:
        found = text.find(json.dumps(value), start, obj.end)
    return found if found >= 0 else _skip_ws(text, at)


# --- BST literals --------------------------------------------------------------------------

def _literal_only(node: n.Node) -> n.Node | None:
    """The first node in ``node`` that is not part of a literal (None: all literal)."""
    if isinstance(node, (n.Literal, n.LiteralArray)):
        return None
    if isinstance(node, n.BraceArray):
        return next((bad for bad in map(_literal_only, node.items) if bad is not None), None)
    if isinstance(node, n.Send) and node.selector == "->":
        return _literal_only(node.receiver) or _literal_only(node.args[0])
    return node


def check_literal(source: str, *, what: str) -> tuple[str, int] | None:
    """``(message, offset in source)`` when ``source`` is not one BST literal, else None."""
    from batos.lang.parser import parse
    try:
        tree = parse(source, "<seed>")
    except SourceError as exc:
        lines = source.split("\n")
        offset = sum(len(ln) + 1 for ln in lines[:max(exc.line - 1, 0)]) + max(exc.column - 1, 0)
        return f"{what}: {exc.message}", min(offset, len(source))
    if len(tree.statements) != 1 or tree.temps:
        return f"{what}: give exactly one BST literal", 0
    bad = _literal_only(tree.statements[0])
    if bad is not None:
        return (f"{what}: only BST literals here (numbers, strings, symbols, characters, "
                "true/false/nil, #( ) and { } arrays, ->), not an expression", bad.start)
    return None


# --- reading and seeding -------------------------------------------------------------------

def read_intents(path: Path, image: Any) -> list[dict[str, Any]]:
    """The intents of seed file ``path``, all checked against ``image`` (see the module
    doc); raises :class:`SeedError` at the first problem, :class:`BatosError` for I/O."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatosError(f"cannot read seed file {path}: {exc}") from None
    intents = []
    for obj in _objects(path, text):
        intents.append(_check(path, text, obj, image))
    if not intents:
        raise _error(path, text, 0, "no intents in the seed file")
    return intents


def _check(path: Path, text: str, obj: _Located, image: Any) -> dict[str, Any]:
    intent = obj.value
    if not isinstance(intent, dict):
        raise _error(path, text, obj.start, "each intent is a JSON object with receiver, "
                                            "selector, args and (optional) examples")
    for key in intent:
        if key not in FIELDS:
            raise _error(path, text, text.find(json.dumps(key), obj.start, obj.end),
                         f"unknown field {key!r} (fields: {', '.join(FIELDS)})")
    for key in ("receiver", "selector"):
        if not isinstance(intent.get(key), str) or not intent[key].strip():
            at = _find_value(text, obj, key, intent.get(key)) if key in intent else obj.start
            raise _error(path, text, at, f"{key!r} must be a non-empty string")
    receiver, selector = intent["receiver"], intent["selector"]
    if receiver not in image.globals:
        raise _error(path, text, _find_value(text, obj, "receiver", receiver),
                     f"no global named {receiver!r} in the image")
    if not _SELECTOR.fullmatch(selector):
        raise _error(path, text, _find_value(text, obj, "selector", selector),
                     f"{selector!r} is not a Smalltalk selector (unary: name, binary: +, "
                     "keyword: at:put:)")
    args = intent.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _error(path, text, _find_value(text, obj, "args", args),
                     "'args' must be a list of BST literals written as strings, e.g. [\"3\"]")
    if len(args) != arity(selector):
        at = _find_value(text, obj, "args", args) if "args" in intent else obj.start
        raise _error(path, text, at, f"#{selector} takes {arity(selector)} argument(s), "
                                     f"{len(args)} given")
    after = -1
    for i, arg in enumerate(args):
        at = _find_value(text, obj, "args", arg, after)
        after = at + 1
        problem = check_literal(arg, what=f"args[{i}]")
        if problem:
            raise _error(path, text, at + 1 + problem[1], problem[0])
    examples = intent.get("examples") or ""
    if not isinstance(examples, str):
        raise _error(path, text, _find_value(text, obj, "examples", examples),
                     "'examples' must be a string of BST examples, e.g. \"{3 -> 6}\"")
    if examples:
        at = _find_value(text, obj, "examples", examples)
        problem = check_literal(examples, what="examples")
        if problem:
            raise _error(path, text, at + 1 + problem[1], problem[0])
        from batos.lang.contracts import parse_examples
        try:
            parse_examples(selector, image.evaluate(examples))
        except BatosError as exc:
            raise _error(path, text, at, f"examples: {exc}") from None
    return {"receiver": receiver, "selector": selector, "args": list(args),
            "examples": examples}


def seed(image: Any, intents: list[dict[str, Any]]) -> dict[str, Any]:
    """Queue the intents not queued already, in one transaction noted
    ``heartbeat: curriculum seeded with N intents``; answers counts."""
    from batos.mind.improve import add_curriculum, state
    st = state(image, create=False)
    queued = {intent_key(dict(i)) for i in (st["curriculum"] if st is not None else [])}
    new, seen = [], set(queued)
    for intent in intents:
        key = intent_key(intent)
        if key not in seen:
            seen.add(key)
            new.append(intent)
    total = len(queued)
    if new:
        total = image.execute(lambda: add_curriculum(image, new),
                              note=f"heartbeat: curriculum seeded with {len(new)} intents")
    return {"seeded": len(new), "skipped": len(intents) - len(new), "queued": total}


def listing(image: Any) -> list[dict[str, Any]]:
    """The queued seed intents (with their tries and whether they are used up) and the
    intents the log's failures add for weak areas: what ``improveCognition`` will try."""
    from batos.mind.improve import MAX_INTENT_TRIES, curriculum_intents, state
    st = state(image, create=False)
    tries = st["tries"] if st is not None else {}
    rows, seen = [], set()
    for intent in (st["curriculum"] if st is not None else []):
        intent = dict(intent)
        key = intent_key(intent)
        seen.add(key)
        count = int(tries.get(key, 0))
        rows.append({**intent, "args": [str(a) for a in intent.get("args", [])],
                     "key": key, "tries": count, "source": "seed",
                     "status": "used up" if count >= MAX_INTENT_TRIES else "queued"})
    for intent in curriculum_intents(image):
        key = intent_key(intent)
        if key not in seen:
            seen.add(key)
            rows.append({"receiver": intent["receiver"], "selector": intent["selector"],
                         "args": list(intent.get("args", [])),
                         "examples": intent.get("examples", ""), "key": key,
                         "tries": int(tries.get(key, 0)),
                         "source": f"log ({intent.get('topic', '')})".replace(" ()", ""),
                         "status": "queued"})
    return rows


__all__ = ["read_intents", "seed", "listing", "check_literal", "SeedError"]
