"""Where a REPL input ends: completeness checks and splitting a script into input units.

An *input unit* is what the REPL evaluates as one transaction: the lines typed
(or read from a pipe) until nothing is left open. Brackets, blocks, strings and
comments may span lines; a line that leaves everything closed ends the unit, so
``3 + 4. 5 + 6`` on one line is ONE unit (evaluated together; its value is the
last statement's). Lines starting with ``:`` are meta commands and always end
at the line's end.
"""
from __future__ import annotations

from typing import Iterable, Iterator

__all__ = ["is_complete", "is_command", "iter_units", "split_units", "scan"]

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def scan(source: str) -> tuple[int, str | None]:
    """Bracket depth at the end of ``source`` and the literal left open there
    (``"string"``, ``"comment"`` or None). Character literals (``$(``) open nothing."""
    depth = 0
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "'":                       # string ('' escapes a quote)
            i += 1
            while True:
                j = source.find("'", i)
                if j < 0:
                    return depth, "string"
                if source.startswith("''", j):
                    i = j + 2
                    continue
                i = j + 1
                break
            continue
        if c == '"':                       # comment
            j = source.find('"', i + 1)
            if j < 0:
                return depth, "comment"
            i = j + 1
            continue
        if c == "$":                       # character literal
            i += 2
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1                     # an extra closer is a syntax error, not "more"
        i += 1
    return depth, None


def _fallback_is_complete(source: str) -> bool:
    """True unless a bracket, block, brace array, string or comment is left open."""
    depth, literal = scan(source)
    return literal is None and depth <= 0


def is_complete(source: str) -> bool:
    """Whether ``source`` can be submitted: nothing open (``batos.lang.is_complete`` when
    the language provides it, else a bracket/string/comment scan). Meta commands and
    blank input are always complete."""
    if not source.strip() or is_command(source):
        return True
    try:
        from batos.lang import is_complete as lang_is_complete
    except ImportError:
        return _fallback_is_complete(source)
    try:
        return bool(lang_is_complete(source))
    except Exception:  # a checker bug must never trap the user in continuation mode
        return _fallback_is_complete(source)


def is_command(source: str) -> bool:
    """A meta command: the input's first non-blank character is ``:``."""
    return source.lstrip().startswith(":")


def iter_units(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(first_line_number, text)`` for each input unit in ``lines``.

    Blank lines between units are skipped; an unfinished unit at the end is yielded
    as it is (evaluating it reports the syntax error).
    """
    buf: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not buf:
            if not line.strip():
                continue
            start = number
        buf.append(line)
        text = "\n".join(buf)
        if is_complete(text):
            yield start, text.strip()
            buf = []
    if buf and "\n".join(buf).strip():
        yield start, "\n".join(buf).strip()


def split_units(text: str) -> list[str]:
    """The input units of a whole script (see :func:`iter_units`)."""
    return [unit for _, unit in iter_units(text.splitlines())]
