"""Rich view of a guardian AuditReport: verdict line, findings table, source lines."""
from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from batos.guardian.hygiene import printable

_STYLE = {"accepted": "bold green", "repaired": "bold yellow", "rejected": "bold red"}
CONTEXT = 1


def _ranges(lines: list[int], total: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for n in sorted(set(x for x in lines if 1 <= x <= total)):
        lo, hi = max(1, n - CONTEXT), min(total, n + CONTEXT)
        if spans and lo <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def header(report: Any) -> Text:
    """``Guardian audit: REJECTED — method #foo · guardian 1.0 · sha256 0123abcd``."""
    text = Text("Guardian audit: ")
    text.append(report.verdict.upper(), style=_STYLE.get(report.verdict, "bold"))
    what = report.kind if getattr(report, "kind", "method") else "method"
    sel = getattr(report, "selector", None)
    subject = f"{what} #{sel}" if sel else what
    if what == "adapter":
        subject = f"adapter {printable(str(report.source), newlines=False)}"
    text.append(f" — {subject} · guardian {report.guardian_version} · "
                f"sha256 {report.source_hash[:12]}", style="dim")
    return text


def findings_table(report: Any) -> Table:
    """The findings as a table (rule, severity, line:col, message)."""
    table = Table(show_header=True, header_style="bold", expand=False, show_lines=False)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Where", no_wrap=True, justify="right")
    table.add_column("Message", overflow="fold")
    for f in report.findings:
        style = "red" if f["severity"] == "error" else "yellow"
        where = f"{f['line']}:{f['col']}" if f["line"] else "-"
        table.add_row(f["rule"], Text(f["severity"], style=style), where,
                      Text(printable(str(f["message"]))))
    return table


def source_views(report: Any) -> list[RenderableType]:
    """Highlighted source windows around every line a finding names."""
    if getattr(report, "kind", "method") != "method" or not report.source:
        return []
    total = len(report.source.splitlines())
    lines = [f["line"] for f in report.findings if f["line"]]
    views: list[RenderableType] = []
    for i, (lo, hi) in enumerate(_ranges(lines, total)):
        if i:
            views.append(Text("  ⋮", style="dim"))
        views.append(Syntax(printable(report.source), "python", line_numbers=True, line_range=(lo, hi),
                            highlight_lines=set(lines), theme="ansi_dark",
                            background_color="default", word_wrap=True))
    return views


def render_report(report: Any) -> RenderableType:
    """The whole report as one rich renderable."""
    parts: list[RenderableType] = [header(report)]
    if report.findings:
        parts.append(findings_table(report))
        parts.extend(source_views(report))
    else:
        parts.append(Text(f"no findings; {len(report.rules_checked)} rules checked",
                          style="green"))
    return Group(*parts)
