"""Rich views of the heartbeat: the CEM with its parts and history, the digital ether.

Views draw the plain data they are given (a :class:`batos.mind.cem.Measure`, beat
records, :class:`batos.mind.ether.Pheromone` rows) and import nothing of the model.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text

from batos.guardian.hygiene import printable

BARS = "▁▂▃▄▅▆▇█"
PARTS = ("cog", "sol", "struc", "rel")
NAMES = {"cog": "cognitive diversity", "sol": "solution novelty",
         "struc": "structural growth", "rel": "relevance"}


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """Values in 0..1 as one line of block characters (the newest ``width``)."""
    shown = list(values)[-width:]
    return "".join(BARS[min(int(max(v, 0.0) * len(BARS)), len(BARS) - 1)] for v in shown)


def _delta(value: float) -> Text:
    if abs(value) < 0.0005:
        return Text("·", style="dim")
    return Text(f"{value:+.3f}", style="green" if value > 0 else "red")


def render_status(measure: Any, history: Sequence[Mapping[str, Any]], *,
                  width: int = 40) -> Group:
    """The CEM now, each part with its weight, its change since the last beat, what
    it is made of and its sparkline over the recorded beats."""
    last = history[-1] if history else None
    table = Table(title=f"CEM {measure.cem:.3f}  ·  {len(history)} beats recorded",
                  title_justify="left")
    for col in ("part", "value", "weight", "moved", "history", "made of"):
        table.add_column(col, overflow="fold")
    for key in PARTS:
        value = measure.parts[key]
        moved = value - last["parts"].get(key, 0.0) if last else 0.0
        series = [b["parts"].get(key, 0.0) for b in history] + [value]
        table.add_row(f"H_{key} {NAMES[key]}", f"{value:.3f}", f"{measure.weights[key]:g}",
                      _delta(moved), sparkline(series, width),
                      printable(str(measure.why.get(key, ""))))
    cems = [b["cem"] for b in history] + [measure.cem]
    moved = measure.cem - last["cem"] if last else 0.0
    table.add_row("CEM", f"{measure.cem:.3f}", "", _delta(moved), sparkline(cems, width), "")
    lines = [table]
    if last is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last["time"]))
        text = f"last beat {last['n']} at {when}: CEM {last['cem']:.3f}"
        if last.get("stagnant"):
            text += f"; stagnant ({last['stagnant']})"
        lines.append(Text(printable(text)))
        improved = [b for b in history if b.get("improved")][-3:]
        for b in improved:
            error = f" — {b['error']}" if b.get("error") else ""
            lines.append(Text(printable(f"  beat {b['n']}: improveCognition: "
                                        f"{b.get('work') or '?'}{error}"), style="dim"))
    else:
        lines.append(Text("no beats yet: run `batos heartbeat IMAGE --once`", style="dim"))
    return Group(*lines)


def render_history(history: Sequence[Mapping[str, Any]], *, width: int = 60) -> str:
    """The plot's text form: one sparkline per part and for the CEM, with the range."""
    rows = []
    for key in (*PARTS, "cem"):
        series = [b["cem"] if key == "cem" else b["parts"].get(key, 0.0) for b in history]
        if series:
            rows.append(f"{key:>6} {sparkline(series, width)}  {min(series):.2f}..{max(series):.2f}")
    return "\n".join(rows)


def render_ether(trails: Sequence[Any], summary: Mapping[str, Any] | None = None,
                 *, half_life: float | None = None) -> Table:
    """The strongest trails: kind, topic, persona, intensity, deposits, age."""
    title = "digital ether"
    if summary:
        title += f": {summary['trails']} trails, intensity {summary['intensity']:.2f}"
    if half_life:
        title += f" (half-life {half_life:g} s)"
    table = Table(title=title, title_justify="left")
    for col in ("kind", "topic", "persona", "intensity", "deposits", "age"):
        table.add_column(col, overflow="fold")
    style = {"success": "green", "failure": "red", "flaw": "yellow", "broken": "magenta"}
    now = time.time()
    for p in trails:
        age = max(now - p.time, 0.0)
        shown = f"{age:.0f} s" if age < 120 else f"{age / 60:.0f} min" if age < 7200 else \
            f"{age / 3600:.1f} h"
        table.add_row(Text(p.kind, style=style.get(p.kind, "")), printable(p.topic),
                      printable(p.persona or "—"), f"{p.intensity:.3f}", str(p.deposits), shown)
    if not trails:
        table.caption = "no trails: outcomes of generations and contracts leave them"
    return table


__all__ = ["sparkline", "render_status", "render_history", "render_ether"]
