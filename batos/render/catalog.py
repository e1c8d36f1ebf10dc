"""Rich views of the knowledge catalog: search results and a document's fractal."""
from __future__ import annotations

from typing import Any, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text


def render_results(results: Sequence[dict[str, Any]], query: str = "",
                   preview: int = 160) -> Any:
    """A table of search results (rank, score, document#chunk, level, text preview)."""
    if not results:
        return Text(f"no chunk matches {query!r}" if query else "no results", style="dim")
    table = Table(title=f"search: {query}" if query else None, title_justify="left",
                  show_lines=False, expand=False)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("document", style="cyan", overflow="fold")
    table.add_column("text", overflow="fold")
    for rank, hit in enumerate(results, 1):
        where = f"{hit['doc']} #{hit['chunk']}"
        if hit.get("level") == "summary":
            where = f"{hit['doc']} (summary)"
        text = " ".join(str(hit.get("text", "")).split())
        if len(text) > preview:
            text = text[: preview - 1].rstrip() + "…"
        table.add_row(str(rank), f"{hit['score']:.2f}", where, text)
    return table


def render_fractal(description: dict[str, Any], chunks: Sequence[dict[str, Any]] = (),
                   preview: int = 120) -> Any:
    """A document: its title and summary, then (zoomed in) its chunks."""
    head = Text()
    head.append(str(description.get("title") or description.get("doc")), style="bold")
    head.append(f"  {description.get('doc')} · {description.get('chunks')} chunks · "
                f"{description.get('chars')} chars", style="dim")
    parts: list[Any] = [head, Text(str(description.get("summary", "")))]
    for chunk in chunks:
        text = " ".join(str(chunk.get("text", "")).split())
        if len(text) > preview:
            text = text[: preview - 1].rstrip() + "…"
        parts.append(Text(f"  #{chunk['chunk']} [{chunk['start']}:{chunk['end']}] {text}",
                          style="dim"))
    return Group(*parts)
