"""The Transcript: where ``Transcript show:``, ``printNl`` and ``inspect`` write.

The current sink lives in a :class:`contextvars.ContextVar`, so the REPL and
``batos run`` capture output with :func:`capture_transcript` while the default
writes to ``sys.stdout``. Pharo's ``cr`` (a carriage return) becomes a newline; other
control characters and escape sequences are shown escaped, never sent raw.
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


class TranscriptObject:
    """The BST global ``Transcript``: ``Transcript show: 'hi'; cr``."""

    st_class_name = "TranscriptStream"

    def __repr__(self) -> str:
        return "<Transcript>"


TRANSCRIPT = TranscriptObject()


def _show(self: TranscriptObject, value: Any) -> TranscriptObject:
    from batos.lang.printing import display_string
    transcript().show(display_string(value))
    return self


def _show_line(self: TranscriptObject, value: Any) -> TranscriptObject:
    from batos.lang.printing import display_string
    transcript().show_line(display_string(value))
    return self


def _print(self: TranscriptObject, value: Any) -> TranscriptObject:
    from batos.lang.printing import print_string
    transcript().show(print_string(value))
    return self


def _simple(method: str) -> Callable[[TranscriptObject], TranscriptObject]:
    def call(self: TranscriptObject) -> TranscriptObject:
        getattr(transcript(), method)()
        return self
    return call


def _tab_n(self: TranscriptObject, n: Any) -> TranscriptObject:
    transcript().show("\t" * int(n))
    return self


def _space_n(self: TranscriptObject, n: Any) -> TranscriptObject:
    transcript().show(" " * int(n))
    return self


def _render(self: TranscriptObject, value: Any) -> TranscriptObject:
    transcript().render(value)
    return self


TRANSCRIPT_PROTOCOL: dict[str, Callable[..., Any]] = {
    "show:": _show, "nextPutAll:": _show, "display:": _show, "<<": _show,
    "showLine:": _show_line, "displayNl:": _show_line, "print:": _print,
    "cr": _simple("cr"), "nl": _simple("cr"), "lf": _simple("cr"), "tab": _simple("tab"),
    "space": _simple("space"), "flush": _simple("flush"), "endEntry": _simple("flush"),
    "tab:": _tab_n, "space:": _space_n, "render:": _render,
    "printString": lambda self: "a TranscriptStream",
    "clear": lambda self: self,
}

__all__ = ["TranscriptSink", "transcript", "capture_transcript", "TRANSCRIPT",
           "TranscriptObject", "TRANSCRIPT_PROTOCOL"]
