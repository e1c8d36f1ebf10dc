"""The guardian's rule catalogue as a table (``:guardian [RULE]``).

Apart from :mod:`batos.render.audit` (an AuditReport's own view, reached from its
``__rich__`` hook), so that view imports nothing of the guardian back.
"""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text


def rules_table(rule: str | None = None) -> RenderableType:
    """The guardian's rule catalogue, allow-list and default limits (``:guardian``)."""
    from batos.guardian import GUARDIAN_VERSION
    from batos.guardian.adapter import ADAPTER_RULES
    from batos.guardian.limits import DEFAULT_MEMORY_MB, DEFAULT_RECURSION, DEFAULT_TIMEOUT
    from batos.guardian.rules import ALLOWED_MODULES, RULES
    table = Table(show_header=True, header_style="bold", title=f"guardian {GUARDIAN_VERSION}")
    table.add_column("Rule", no_wrap=True)
    table.add_column("Checks", overflow="fold")
    adapter = {"A001": "file reads as GGUF", "A002": "general.type adapter, adapter.type lora",
               "A003": "architecture matches the base", "A004": "lora_a/lora_b pairs only",
               "A005": "shapes fit the base", "A006": "blocks exist in the base",
               "A007": "token_embd and output untouched", "A008": "lora alpha present"}
    rows = {**RULES, **{r: adapter[r] for r in ADAPTER_RULES}}
    for rid, text in rows.items():
        if rule is None or rid.lower() == rule.lower():
            table.add_row(rid, text)
    footer = Text(f"imports: {', '.join(sorted(ALLOWED_MODULES))}\n"
                  f"limits per statement: {DEFAULT_TIMEOUT:g} s, {DEFAULT_RECURSION} frames, "
                  f"{DEFAULT_MEMORY_MB} MB growth", style="dim")
    return Group(table, footer)


__all__ = ["rules_table"]
