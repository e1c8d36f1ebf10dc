"""The Transcript sink: where method output (``print``, ``Transcript show:``) goes.

The current sink lives in a :class:`contextvars.ContextVar`, so the REPL and
``batos run`` capture output with :func:`capture_transcript` while the default
writes to ``sys.stdout``. Pharo's ``cr`` (a carriage return) becomes a newline; other
control characters and escape sequences are shown escaped, never sent raw: the
Transcript is a terminal boundary (:mod:`batos.guardian.hygiene`). The BST global
``Transcript`` and its protocol are :mod:`batos.lang.transcript`.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator


def _stdout_write(text: str) -> None:
    sys.stdout.write(text)


class TranscriptSink:
    """Writes text to ``write``; renders rich renderables through ``render`` if given."""

    def __init__(self, write: Callable[[str], None],
                 render: Callable[[Any], None] | None = None) -> None:
        self._write = write
        self._render = render

    def show(self, text: str) -> None:
        """Write ``text``; control characters and escape sequences are shown escaped
        (the Transcript is a terminal boundary: see :mod:`batos.guardian.hygiene`)."""
        from batos.guardian.hygiene import printable
        text = str(text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self._write(printable(text))

    def show_line(self, text: str) -> None:
        self.show(f"{text}\n")

    def cr(self) -> None:
        self._write("\n")

    def tab(self) -> None:
        self._write("\t")

    def space(self) -> None:
        self._write(" ")

    def flush(self) -> None:
        flush = getattr(sys.stdout, "flush", None) if self._write is _stdout_write else None
        if flush is not None:
            flush()

    def render(self, renderable: Any) -> None:
        """Show a rich renderable (through a plain, colourless Console by default);
        a plain string is shown as a line (never as markup or raw escapes)."""
        if isinstance(renderable, str):
            self.show_line(renderable)
            return
        if self._render is not None:
            self._render(renderable)
            return
        import io

        from rich.console import Console
        buffer = io.StringIO()
        Console(file=buffer, force_terminal=False, color_system=None, width=100,
                highlight=False).print(renderable)
        from batos.guardian.hygiene import printable
        self._write(printable(buffer.getvalue()))


_DEFAULT = TranscriptSink(_stdout_write)
_CURRENT: ContextVar[TranscriptSink | None] = ContextVar("batos_transcript", default=None)


def transcript() -> TranscriptSink:
    """The current sink (stdout unless captured)."""
    sink = _CURRENT.get()
    return _DEFAULT if sink is None else sink


@contextmanager
def capture_transcript(write: Callable[[str], None],
                       render: Callable[[Any], None] | None = None) -> Iterator[TranscriptSink]:
    """Send Transcript output to ``write`` (and renderables to ``render``) inside the block."""
    sink = TranscriptSink(write, render)
    token = _CURRENT.set(sink)
    try:
        yield sink
    finally:
        _CURRENT.reset(token)


__all__ = ["TranscriptSink", "transcript", "capture_transcript"]
