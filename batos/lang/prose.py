"""Prose answers: text written for people, shown as text rather than as a String literal.

``genesis ask: 'how should I model a library?'`` answers a paragraph. Its value is
an ordinary String (so it is stored, compared, concatenated and printed like any
other: ``(genesis ask: 'q') printString`` is still quoted, quotes doubled), but the
REPL, ``batos eval`` and ``batos send`` show it, when it is the statement's result,
as the text itself. The answer object is marked by identity in a small ring of
recent prose answers: no new value type reaches the image, and a copy of the text
(``answer , '!'``, or the text read back from a slot after a restart) is a String
like any other.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

_RECENT: deque[str] = deque(maxlen=32)
_LOCK = threading.Lock()


def as_prose(text: str) -> str:
    """Mark ``text`` (this very string object) as prose; returns it."""
    text = str(text)
    with _LOCK:
        _RECENT.append(text)
    return text


def is_prose(value: Any) -> bool:
    """Whether ``value`` is a string marked by :func:`as_prose`."""
    if type(value) is not str or not value:
        return False
    with _LOCK:
        return any(value is kept for kept in _RECENT)


def result_string(value: Any) -> str:
    """How a statement's result is shown: prose as its text, anything else its
    printString."""
    if is_prose(value):
        return value
    from batos.lang.printing import print_string
    return print_string(value)


__all__ = ["as_prose", "is_prose", "result_string"]
