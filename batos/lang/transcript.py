"""The BST global ``Transcript``: ``Transcript show:``, ``printNl`` and ``inspect`` write
to the current sink (:mod:`batos.guardian.transcript`: stdout unless the REPL or
``batos run`` captures it).
"""
from __future__ import annotations

from typing import Any, Callable

from batos.guardian.transcript import TranscriptSink, capture_transcript, transcript


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
