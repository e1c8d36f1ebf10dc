"""Rich renderables for the REPL: highlighted values, error panels, tables, method source.

Everything here returns a renderable and prints nothing, so tests compare the
exact text from a fixed-width colourless Console.
"""
from __future__ import annotations

import time
import traceback
from typing import Any, Iterable, Sequence

from pygments.token import Token, _TokenType
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from batos.guardian.hygiene import printable
from batos.repl.lexer import BSTLexer

__all__ = ["highlight", "error_panel", "error_message", "history_table", "vars_table",
           "method_view", "slot_table", "preview", "help_table"]

_STYLES: list[tuple[_TokenType, str]] = [
    (Token.Comment, "italic bright_black"),
    (Token.String.Symbol, "magenta"),
    (Token.String.Char, "green"),
    (Token.String, "green"),
    (Token.Number, "cyan"),
    (Token.Keyword.Constant, "bold blue"),
    (Token.Keyword, "bold red"),
    (Token.Name.Builtin.Pseudo, "bold blue"),
    (Token.Name.Function, "yellow"),
    (Token.Name.Class, "bold"),
    (Token.Name.Variable, "italic"),
    (Token.Operator, "red"),
    (Token.Error, "reverse red"),
]

_LEXER = BSTLexer()


def _style(token: _TokenType) -> str:
    for base, style in _STYLES:
        if token in base:
            return style
    return ""


def highlight(source: str) -> Text:
    """BST source (or a printString) as a rich Text coloured by :class:`BSTLexer`;
    control characters and escape sequences are shown escaped (terminal hygiene)."""
    source = printable(source)
    text = Text()
    for token, value in _LEXER.get_tokens(source):
        text.append(value, style=_style(token))
    if text.plain.endswith("\n") and not source.endswith("\n"):
        text.right_crop(1)
    return text


def _plain(text: str) -> Text:
    """One line of image text for a table cell or title: escapes shown, no markup."""
    return Text(printable(text, newlines=False))


def error_message(exc: BaseException) -> str:
    """One line for ``ERROR: ...`` output: the message, with ``line:col`` for source errors."""
    from batos.errors import BatosError, SourceError
    if isinstance(exc, SourceError) and exc.line:
        message = f"{exc.message} (line {exc.line}, column {exc.column})"
    elif isinstance(exc, BatosError):
        message = exc.message or type(exc).__name__
    else:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return printable(" ".join(message.split()), newlines=False)


def error_panel(exc: BaseException, *, source: str | None = None,
                debug: bool = False) -> RenderableType:
    """A red panel: the error's message, the source line with a caret under the
    failing place, and (``debug``) the Python traceback."""
    from batos.errors import BatosError, SourceError
    title = type(exc).__name__
    message = printable(exc.message if isinstance(exc, BatosError) else str(exc))
    body: list[RenderableType] = [Text(message or title, style="bold")]
    subtitle = None
    if isinstance(exc, SourceError) and exc.line:
        line_text = exc.source_line()
        if not line_text and source and exc.source in ("", None):
            lines = source.splitlines()
            line_text = lines[exc.line - 1] if exc.line <= len(lines) else ""
        subtitle = f"{exc.filename}:{exc.line}:{exc.column}"
        if line_text:
            body += [Text(""), _CaretLine(exc.line, line_text, exc.column)]
        chain = exc.call_chain()
        if chain:
            width = max(len(where) for where, _ in chain)
            body += [Text(""), Text("BST call chain (innermost last):", style="dim")]
            body += [Text(printable(f"  {where.ljust(width)}  {code}", newlines=False),
                          style="dim", no_wrap=True, overflow="ellipsis")
                     for where, code in chain]
    cause = getattr(exc, "cause", None)
    if cause is not None and str(cause) and str(cause) not in message:
        body.append(Text(printable(f"caused by {type(cause).__name__}: {cause}"), style="dim"))
    if debug:
        trace = printable("".join(traceback.format_exception(exc)).rstrip())
        body += [Text(""), Text(trace, style="dim")]
    return _FittedPanel(Group(*body), title=title, subtitle=subtitle)


_TAB = 4


class _CaretLine:
    """``N │ code`` and a caret under column ``column`` (1-based, a tab counting one,
    as the lexer counts): tabs are expanded in both lines alike, and neither line
    wraps: a line wider than the panel is shown as a window around the caret."""

    def __init__(self, number: int, line: str, column: int) -> None:
        self.gutter = f"{number} │ "
        self.line = printable(line.rstrip()).expandtabs(_TAB)
        self.caret = cell_len(printable(line[: max(column - 1, 0)]).expandtabs(_TAB))

    def _window(self, width: int) -> tuple[str, int]:
        line, caret = self.line, self.caret
        width = max(width, 8)
        if cell_len(line) <= width and caret < width:
            return line, caret
        start = 0 if caret < width - 2 else caret - width // 2
        if start:
            line, caret = "…" + line[start + 1:], caret - start
        if cell_len(line) > width:
            line = line[: width - 1] + "…"
        return line, caret

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line, caret = self._window(options.max_width - cell_len(self.gutter))
        code = Text(self.gutter, style="dim", no_wrap=True) + highlight(line)
        code.no_wrap = True
        yield code
        yield Text(" " * (cell_len(self.gutter) + caret) + "^", style="bold red", no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        full = cell_len(self.gutter) + max(cell_len(self.line), self.caret + 1)
        return Measurement(min(full, cell_len(self.gutter) + 20), full)


class _FittedPanel:
    """The error panel: as wide as its content, its title and its footer (never wider
    than the terminal), so the ``file:line:col`` footer is never cut."""

    def __init__(self, body: RenderableType, *, title: str, subtitle: str | None) -> None:
        self.body, self.title, self.subtitle = body, title, subtitle

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        inner = Measurement.get(console, options.update_width(options.max_width - 4),
                                self.body).maximum
        width = max(inner + 4, cell_len(self.title) + 6, cell_len(self.subtitle or "") + 6)
        yield Panel(self.body, title=self.title, title_align="left", subtitle=self.subtitle,
                    subtitle_align="right", border_style="red",
                    width=min(width, options.max_width))


def preview(value: Any, width: int = 60) -> str:
    """A one-line printString, shortened to ``width`` characters
    (:func:`batos.image.preview.one_line`)."""
    from batos.image.preview import one_line
    return one_line(value, width)


def _when(value: Any) -> str:
    if isinstance(value, (int, float)):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
    return str(value or "")


def history_table(rows: Sequence[dict[str, Any]]) -> RenderableType:
    """The image's recent transactions (newest first): id, time, user, note."""
    if not rows:
        return Text("no transactions yet")
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for column in ("id", "time", "user", "note"):
        table.add_column(column, overflow="fold" if column == "note" else "ellipsis")
    for row in rows:
        table.add_row(str(row.get("id") or row.get("tid") or ""),
                      _when(row.get("time") or row.get("timestamp")),
                      str(row.get("user") or row.get("user_name") or ""),
                      _plain(str(row.get("note") or row.get("description") or "")))
    return table


def vars_table(workspace: dict[str, Any]) -> RenderableType:
    """The workspace variables with a preview of each value."""
    if not workspace:
        return Text("no workspace variables (assign one: x := 3 + 4)")
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("name")
    table.add_column("value", overflow="fold")
    for name in sorted(workspace):
        table.add_row(name, highlight(preview(workspace[name])))
    return table


def method_view(owner: str, selector: str, method: Any) -> RenderableType:
    """A method's source (highlighted as Python or BST) with its provenance
    (:func:`batos.render.code.method_view`, with the REPL's BST highlighting)."""
    from batos.render.code import method_view as view
    return view(owner, selector, method, highlight=highlight)


def slot_table(obj: Any) -> RenderableType:
    """Slot listing of a prototype (own then inherited, with owner and kind), or a
    one-line description of any other value."""
    from batos.image.proto import Proto
    if not isinstance(obj, Proto):
        return Text.assemble(highlight(preview(obj, 200)), ("  " + type(obj).__name__, "dim"))
    table = Table(title=_plain(preview(obj)), title_justify="left", show_edge=False,
                  header_style="bold", pad_edge=False)
    for column in ("slot", "kind", "value", "owner"):
        table.add_column(column, overflow="fold" if column == "value" else "ellipsis")
    for info in obj.slots():
        value = (f"method #{getattr(info.value, 'selector', info.name)}"
                 if info.kind == "method" else preview(info.value, 40))
        table.add_row(_plain(info.name), info.kind, _plain(value),
                      _plain(info.owner._display()) if info.inherited else "(own)")
    return table


def help_table(commands: Iterable[tuple[str, str, str]]) -> RenderableType:
    """``:help``: each command's usage and summary, then the keys."""
    table = Table(show_edge=False, show_header=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for _name, usage, summary in commands:
        table.add_row(usage, summary)
    keys = Table(show_edge=False, show_header=False, pad_edge=False, box=None)
    keys.add_column(style="bold")
    keys.add_column()
    for key, what in (("Enter", "evaluate (continues while a bracket, string or comment is open)"),
                      ("Esc Enter", "evaluate now (Meta+Enter)"),
                      ("Tab", "complete globals, variables and the receiver's selectors"),
                      ("Ctrl-C", "abandon the input; interrupt (and roll back) a running statement"),
                      ("Ctrl-X Ctrl-E", "edit the input in $EDITOR (v in vi mode)"),
                      ("Up / Down", "history (grey suggestions from history: Right arrow accepts)"),
                      ("Ctrl-D", "quit (on an empty line)")):
        keys.add_row(key, what)
    return Group(Text("Each statement runs as one transaction: it commits when it succeeds "
                      "and rolls back on an error."), Text(""), table, Text(""),
                 Text("keys", style="bold underline"), keys)
