"""Rich views of the forge: the golden dataset's counts and a training's outcome."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text


def render_dataset(counts: Mapping[str, Mapping[str, int]], dropped: Mapping[str, int],
                   sources: Sequence[str], enough: int) -> RenderableType:
    """One row per persona, one column per source, the total and whether it is enough."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("persona")
    for s in sources:
        table.add_column(s, justify="right")
    table.add_column("total", justify="right")
    table.add_column("")
    for persona, by_source in sorted(counts.items()):
        total = sum(by_source.values())
        table.add_row(Text(persona, style="bold"), *[str(by_source.get(s, 0)) for s in sources],
                      str(total), Text("enough to train" if total >= enough else
                                       f"needs {enough - total} more", style="dim"))
    parts: list[RenderableType] = [table if counts else Text("no golden examples yet")]
    if dropped:
        parts.append(Text("left out: " + ", ".join(f"{n} {why}" for why, n in
                                                    sorted(dropped.items())), style="dim"))
    return Group(*parts)


def render_forge_result(out: Mapping[str, Any]) -> RenderableType:
    """A forge run: training figures, the evaluation, and whether it was incarnated."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    t = out.get("training") or {}
    d = out.get("dataset") or {}
    grid.add_row("dataset", f"{d.get('examples')} examples ({d.get('train')} trained, "
                            f"{d.get('heldout')} held out), sha256 {str(d.get('sha256'))[:12]}")
    grid.add_row("training", f"{t.get('steps')} steps, loss {t.get('first_loss')} → "
                             f"{t.get('loss')}, {t.get('seconds')} s, peak "
                             f"{t.get('peak_rss_mb')} MB")
    grid.add_row("adapter", f"{t.get('adapter')} (audit: {out.get('audit')})")
    ev = out.get("evaluation")
    if ev:
        for part in ("heldout", "probes"):
            e = ev.get(part) or {}
            extra = f", {e['unchecked']} unchecked" if e.get("unchecked") else ""
            grid.add_row(part, f"base {e.get('base')}/{e.get('cases')}, adapter "
                               f"{e.get('adapter')}/{e.get('cases')}{extra}")
    verdict = Text("incarnated" if out.get("incarnated") else "not incarnated",
                   style="bold green" if out.get("incarnated") else "bold yellow")
    verdict.append(f" ({out.get('why')})", style="dim")
    return Group(grid, verdict)


def provenance_rows(provenance: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) rows of a forged adapter's provenance (``batos persona show``)."""
    if not provenance:
        return []
    p = provenance
    rows = [("forged", f"{p.get('steps')} steps on {p.get('train_examples')} of "
                       f"{p.get('dataset_size')} examples, loss {p.get('first_loss')} → "
                       f"{p.get('loss')}, rank {p.get('rank')} α {p.get('alpha')} on "
                       f"{p.get('targets')} (top {p.get('layers') or 'all'} layers)"),
            ("dataset", f"sha256 {str(p.get('dataset_sha256', ''))[:16]}"),
            ("evaluation", f"{p.get('evaluation')} ({p.get('decision')})")]
    return rows


__all__ = ["render_dataset", "render_forge_result", "provenance_rows"]
