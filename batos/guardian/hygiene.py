"""Terminal hygiene: what batos prints from the image reaches the terminal inert.

A String in the image may hold any character (Smalltalk semantics are kept: a
printString is the value's text).  At the output boundary, the REPL, ``batos
eval/send/run``, the Transcript, the inspector, ``batos log`` and ``batos trace``
pass image text through :func:`printable`, which shows control characters and
escape sequences visibly instead of letting the terminal obey them: ESC (so
CSI, OSC 52 clipboard writes, window titles, clear-screen), BEL, backspace,
``\\r`` line overwrites, DEL, the C1 controls (``\\x9b`` is a one-byte CSI) and
the bidirectional overrides that reorder what is shown ("Trojan Source").
Newline and tab stay as they are.  Import cost: ``re`` only.
"""
from __future__ import annotations

import re

__all__ = ["printable", "printable_json", "UNSAFE_RE"]

#: C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/
#: isolates, and the line/paragraph separators some terminals treat as newlines
UNSAFE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                       "\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    c = match.group()
    named = _NAMED.get(c)
    if named is not None:
        return named
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control character and escape introducer shown as a visible
    escape (``\\x1b[2J``, ``\\x9b``, ``\\r``, ``\\u202e``): safe to write to a terminal.

    Newlines and tabs are kept unless ``newlines`` is False (then ``\\n``/``\\t``
    are escaped too, for one-line displays).
    """
    if not isinstance(text, str):
        text = str(text)
    if newlines:
        if UNSAFE_RE.search(text) is None:
            return text
        return UNSAFE_RE.sub(_escape, text)
    text = UNSAFE_RE.sub(_escape, text) if UNSAFE_RE.search(text) else text
    return text.replace("\n", "\\n").replace("\t", "\\t")


_JSON_UNSAFE_RE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                             "\u202a-\u202e\u2066-\u2069]")


def printable_json(text: str) -> str:
    """JSON text (``json.dumps(..., ensure_ascii=False)``) with the characters JSON
    leaves raw but terminals obey (DEL, C1, bidi) written as ``\\uXXXX`` escapes:
    the same JSON value, inert on a terminal.  C0 controls are escaped by json."""
    if _JSON_UNSAFE_RE.search(text) is None:
        return text
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
