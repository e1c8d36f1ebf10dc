"""A method as a rich view: its source, highlighted, and its provenance.

``rich.print(method)`` shows it (``Method.__rich__``), and so do the REPL's ``:source``
and ``:inspect``. The view receives what it draws (the Method, an owner's name) and
imports nothing above the image. BST source is shown plain unless the caller passes a
``highlight`` function (the REPL passes its pygments-based one).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from batos.guardian.hygiene import printable
from batos.image.preview import one_line

__all__ = ["MethodView", "method_view"]

_TAB = 4


def _when(value: Any) -> str:
    if isinstance(value, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    return str(value or "")


def _plain(text: str) -> Text:
    return Text(printable(text, newlines=False))


def method_view(owner: str | None, selector: str, method: Any, *,
                highlight: Callable[[str], Text] | None = None) -> RenderableType:
    """A panel titled ``OWNER >> selector``: the source (Python highlighted, BST through
    ``highlight`` or plain), a blank line, then language and provenance (one row each,
    ``created`` last as a time)."""
    language = getattr(method, "language", "python")
    source = printable(str(getattr(method, "source", "") or ""))
    code: RenderableType
    if language == "python":
        code = Syntax(source.rstrip("\n"), "python", theme="ansi_dark",
                      background_color="default")
    else:
        text = source.rstrip("\n").expandtabs(_TAB)
        code = highlight(text) if highlight is not None else Text(text)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("language", language)
    provenance = dict(getattr(method, "provenance", None) or {})
    created = getattr(method, "created", None) or provenance.get("created")
    provenance.pop("created", None)     # one "created" row, as a time
    for key in sorted(provenance):
        facts.add_row(_plain(str(key)), _plain(one_line(provenance[key], 60)))
    if created:
        facts.add_row("created", _when(created))
    title = f"{owner} >> {selector}" if owner else f">> {selector}"
    return Panel(Group(code, Text(""), facts), title=printable(title, newlines=False),
                 title_align="left", expand=False)


class MethodView:
    """``method_view`` of one Method as a rich renderable (``Method.__rich__``)."""

    def __init__(self, method: Any, owner: str | None = None) -> None:
        self.method = method
        self.owner = owner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        selector = str(getattr(self.method, "selector", "") or "?")
        yield method_view(self.owner, selector, self.method)
