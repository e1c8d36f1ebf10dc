"""Rich views of a persona's LoRA adapter (``Adapter.__rich__``, ``batos lora list``).

Apart from :mod:`batos.render.persona`, so an adapter's view imports nothing of the mind
back: it draws the adapter it is given.
"""
from __future__ import annotations

import datetime
from typing import Any, Iterable

from rich.table import Table


def render_adapter(adapter: Any) -> Table:
    """An adapter's facts: file, size, sha256, arch, audit verdict, when added."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    added = datetime.datetime.fromtimestamp(adapter.added, datetime.timezone.utc)
    verdict = getattr(adapter.audit, "verdict", "-")
    grid.add_row("file", f"{adapter.name} ({adapter.size:,} bytes, {adapter.arch})")
    grid.add_row("sha256", adapter.sha256)
    grid.add_row("audit", verdict)
    grid.add_row("added", added.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return grid


def render_adapter_table(rows: Iterable[tuple[str, Any, float]]) -> Table:
    """``batos lora list``: persona, file, scale, size, sha256 prefix, audit verdict."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("persona", "adapter", "scale", "size", "sha256", "audit"):
        table.add_column(col, justify="right" if col in ("scale", "size") else "left")
    for persona, adapter, scale in rows:
        table.add_row(persona, adapter.name, f"{scale:g}", f"{adapter.size:,}",
                      adapter.sha256[:12], getattr(adapter.audit, "verdict", "-"))
    return table


__all__ = ["render_adapter", "render_adapter_table"]
