"""Rich views of personas and their adapters (``batos persona list|show``, ``batos lora list``)."""
from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from batos.render.adapter import render_adapter
from batos.render.forge import provenance_rows


def _slot(proto: Any, name: str, default: Any = None) -> Any:
    found = proto.lookup(name)
    return found[1] if found is not None and found[1] is not None else default


def _adapter_cell(adapter: Any, scale: Any) -> str:
    if adapter is None:
        return "-"
    return f"{adapter.name} ×{float(scale if scale is not None else 1.0):g}"


def _provenance(adapter: Any) -> dict[str, Any] | None:
    """A forged adapter's provenance (``batos forge train``) as plain data, else None."""
    prov = getattr(adapter, "provenance", None) if adapter is not None else None
    return dict(prov) if prov else None


def persona_row(name: str, proto: Any) -> dict[str, Any]:
    """Plain data of one persona (also the JSON of ``batos persona list``)."""
    adapter = _slot(proto, "adapter")
    return {"name": name, "role": _slot(proto, "role", ""),
            "voice": _slot(proto, "voice", ""),
            "pillars": list(_slot(proto, "pillars", {}) or {}),
            "cues": [str(c) for c in _slot(proto, "cues", []) or []],
            "adapter": adapter.to_json() if adapter is not None else None,
            "adapter_provenance": _provenance(adapter),
            "adapter_scale": float(_slot(proto, "adapter_scale", 1.0)),
            "system_prompt": _slot(proto, "system_prompt", "")}


def render_persona_table(image_or_registry: Any) -> Table:
    """One row per persona: name, role, pillars, adapter (* marks the persona that writes
    missing methods now: :func:`batos.mind.personas.code_persona_name`)."""
    reg = image_or_registry
    code = None
    if hasattr(image_or_registry, "root"):
        from batos.mind.personas import code_persona_name, registry
        reg = registry(image_or_registry)
        code = code_persona_name(image_or_registry)  # the session's choice, else the image's
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("", "persona", "role", "pillars", "adapter"):
        table.add_column(col)
    for name, proto in reg.items():
        pillars = ", ".join(_slot(proto, "pillars", {}) or {})
        table.add_row("*" if name == code else "", Text(name, style="bold"),
                      _slot(proto, "role", ""), pillars,
                      _adapter_cell(_slot(proto, "adapter"), _slot(proto, "adapter_scale")))
    return table


def render_persona(name: str, proto: Any) -> RenderableType:
    """A persona's codex: role, voice, system prompt, pillars, cues and adapter."""
    row = persona_row(name, proto)
    head = Text(name, style="bold")
    head.append(f" — {row['role']}", style="dim")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row("voice", row["voice"])
    grid.add_row("system", row["system_prompt"])
    pillars = _slot(proto, "pillars", {}) or {}
    for pillar, prompt in pillars.items():
        grid.add_row(f"#{pillar}", str(prompt))
    grid.add_row("cues", ", ".join(row["cues"]))
    adapter = _slot(proto, "adapter")
    grid.add_row("adapter", _adapter_cell(adapter, row["adapter_scale"]) if adapter else
                 "none (base model)")
    for label, text in provenance_rows(row["adapter_provenance"]):
        grid.add_row(label, text)
    parts: list[RenderableType] = [head, grid]
    if adapter is not None:
        parts.append(render_adapter(adapter))
    return Group(*parts)


__all__ = ["render_persona", "render_persona_table", "persona_row"]
