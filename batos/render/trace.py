"""Rich views of cognitive-cycle traces: a tree of states, a timeline, a table of traces.

    trace 3 · ask · BRICK · complete · 1.234 s
    ├── IDLE  +0.000 s
    ├── DECOMPOSING  +0.001 s
    │   └── route  BRICK 0.52 · ROBIN 0.31 · BABS 0.10 · ALFRED 0.07
    ├── DELEGATING  +0.002 s  BRICK  0.800 s
    │   ├── adapters  brick.gguf ×1.0
    │   └── tokens  120 prompt (64 cached) → 48 completion · 0.800 s
    ...
"""
from __future__ import annotations

import datetime
from typing import Any, Iterable, Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from batos.guardian.hygiene import printable

_VERDICT_STYLE = {"complete": "bold green", "failed": "bold red", "running": "bold yellow"}
_STATE_STYLE = {"FAILED": "bold red", "COMPLETE": "bold green"}
#: info keys shown in a step's label or folded into other lines, not listed on their own
_FOLDED = {"persona", "prompt_tokens", "prompt_tokens_cached", "completion_tokens", "seconds",
           "prompt_seconds", "finish", "model", "text", "noisy", "chosen", "branches",
           "proposed", "proposal_tokens", "proposal_seconds"}
MAX_VALUE = 70


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def _p(value: Any) -> str:
    """Image text on one line, control characters and escapes shown visibly."""
    return printable(str(value), newlines=False)


def _t(value: Any, style: str = "") -> Text:
    """Image text for a cell or title: visible escapes, never markup."""
    return Text(_p(value), style=style)


def _short(value: Any, limit: int = MAX_VALUE) -> str:
    """One line of at most ``limit`` characters, cut between words (never inside one)."""
    text = value if isinstance(value, str) else repr(value)
    text = _p(" ".join(text.split()))
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if text[limit - 1] != " " and space > limit // 2:   # the cut falls inside a word
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def _scores(scores: Mapping[str, Any]) -> str:
    ranked = sorted(scores.items(), key=lambda kv: -float(kv[1]))
    return " · ".join(f"{k} {float(v):.2f}" for k, v in ranked)


def _adapters(adapters: Iterable[Any]) -> str:
    parts = [f"{a[0]} ×{float(a[1]):g}" if isinstance(a, (list, tuple)) and len(a) == 2
             else _short(a) for a in adapters]
    return ", ".join(parts) if parts else "none (base model)"


def _tokens(info: Mapping[str, Any]) -> str | None:
    if "prompt_tokens" not in info and "completion_tokens" not in info:
        return None
    text = f"{info.get('prompt_tokens', 0)} prompt"
    if info.get("prompt_tokens_cached"):
        text += f" ({info['prompt_tokens_cached']} cached)"
    text += f" → {info.get('completion_tokens', 0)} completion"
    if info.get("seconds") is not None:
        text += f" · {float(info['seconds']):.3f} s"
    if info.get("finish"):
        text += f" · {info['finish']}"
    return text


def step_lines(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, text) rows shown under a step, in a stable order."""
    rows: list[tuple[str, str]] = []
    for key, value in info.items():
        if key in _FOLDED or key == "adapters":
            continue
        if key in ("route", "scores") and isinstance(value, Mapping):
            rows.append((key, _scores(value)))
        elif key in ("error", "reason"):    # a reason is read whole (the tree wraps it)
            rows.append((key, _p(" ".join(str(value).split()))))
        else:
            rows.append((key, _short(value)))
    if "adapters" in info:
        rows.append(("adapters", _adapters(info["adapters"])))
    tokens = _tokens(info)
    if tokens:
        rows.append(("tokens", tokens))
    if info.get("text"):
        rows.append(("said", _short(info["text"])))
    return rows


def _label(step: Mapping[str, Any]) -> Text:
    state = str(step.get("state", "?"))
    label = Text(_p(state), style=_STATE_STYLE.get(state, "bold"))
    label.append(f"  +{float(step.get('t', 0.0)):.3f} s", style="dim")
    persona = step.get("info", {}).get("persona")
    if persona:
        label.append(f"  {_p(persona)}", style="cyan")
    return label


def _branch(info: Mapping[str, Any]) -> Text:
    """One Tree-of-Thought branch: ``#1 3f2a1b9c  ok  examples 2/3  agree 1  logprob
    -0.210  chosen`` (and its error, cut)."""
    verdict = str(info.get("verdict", "?"))
    style = {"ok": "green", "repeat": "dim"}.get(verdict, "red")
    text = Text(f"#{_p(info.get('branch', '?'))} ", style="bold")
    text.append(_p(info.get("code", "")), style="cyan")
    text.append("  ")
    text.append(_p(verdict), style=style)
    if info.get("examples"):
        text.append(f"  examples {_p(info['examples'])}")
    if "agreement" in info:
        text.append(f"  agree {_p(info['agreement'])}")
    if info.get("logprob") is not None:
        text.append(f"  logprob {float(info['logprob']):.3f}")
    if info.get("chosen"):
        text.append("  chosen", style="bold green")
    if info.get("error"):
        text.append("  " + _short(info["error"], 60), style="dim")
    return text


def _tree_parts(node: Tree, info: Mapping[str, Any]) -> None:
    """The proposed examples and the branches of a step, as subtrees."""
    if "proposed" in info:
        proposed = list(info.get("proposed") or [])
        label = Text("proposed examples  ", style="dim")
        label.append(str(len(proposed)))
        if info.get("proposal_seconds") is not None:
            label.append(f" · {float(info['proposal_seconds']):.3f} s", style="dim")
        sub = node.add(label)
        for example in proposed:
            sub.add(Text(_short(example, 90)))
    if info.get("branches"):
        sub = node.add(Text("branches", style="dim"))
        for branch in info["branches"]:
            if isinstance(branch, Mapping):
                sub.add(_branch(branch))


def render_trace(trace: Any) -> RenderableType:
    """A tree: header (id, kind, persona, verdict, time), mission, steps with info, result."""
    data = trace.to_json() if hasattr(trace, "to_json") else dict(trace)
    head = Text(f"trace {_p(data['id'])} · {_p(data['kind'])}")
    if data.get("persona"):
        head.append(f" · {_p(data['persona'])}")
    head.append(" · ")
    head.append(_p(data["verdict"]), style=_VERDICT_STYLE.get(data["verdict"], "bold"))
    if data.get("seconds") is not None:
        head.append(f" · {data['seconds']:.3f} s")
    head.append(f" · {_when(data.get('started'))}", style="dim")
    tree = Tree(head)
    tree.add(Text("mission  ", style="dim") + Text(_short(data.get("mission", ""), 90)))
    for key, value in (data.get("info") or {}).items():
        tree.add(Text(f"{_p(key)}  ", style="dim") + Text(_short(value)))
    for step in data.get("steps", []):
        node = tree.add(_label(step))
        for key, text in step_lines(step.get("info", {})):
            node.add(Text(f"{_p(key)}  ", style="dim") + Text(_p(text)))
        _tree_parts(node, step.get("info", {}))
    parts: list[RenderableType] = [tree]
    if data.get("result"):
        parts.append(Text("result  ", style="bold") + Text(_short(data["result"], 300)))
    if data.get("error"):
        parts.append(Text("error  ", style="bold red") + Text(_short(data["error"], 300)))
    return Group(*parts)


def render_timeline(trace: Any) -> Table:
    """One row per step: state, when it began, how long it took, persona, tokens, notes."""
    data = trace.to_json() if hasattr(trace, "to_json") else dict(trace)
    steps = data.get("steps", [])
    total = data.get("seconds")
    table = Table(box=None, pad_edge=False, show_edge=False,
                  title=_t(f"trace {data['id']} · {data['kind']} · {data['verdict']}"),
                  title_justify="left")
    for col in ("state", "at", "took", "persona", "tokens", "notes"):
        table.add_column(col, justify="right" if col in ("at", "took") else "left")
    for i, step in enumerate(steps):
        t = float(step.get("t", 0.0))
        end = steps[i + 1]["t"] if i + 1 < len(steps) else total
        took = "" if end is None else f"{max(float(end) - t, 0.0):.3f}"
        info = step.get("info", {})
        tokens = ""
        if "completion_tokens" in info:
            tokens = f"{info.get('prompt_tokens', 0)}→{info['completion_tokens']}"
        notes = "; ".join(f"{k} {v}" for k, v in step_lines(info)
                          if k not in ("tokens", "said"))
        state = str(step.get("state", "?"))
        table.add_row(_t(state, _STATE_STYLE.get(state, "")), f"{t:.3f}", took,
                      _t(info.get("persona", "")), _t(tokens), Text(_short(notes, 50)))
    return table


def render_trace_table(traces: Iterable[Any]) -> Table:
    """One row per trace: id, kind, persona, verdict, states, seconds, mission."""
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("id", "kind", "persona", "verdict", "steps", "seconds", "mission"):
        table.add_column(col, justify="right" if col in ("id", "steps", "seconds") else "left")
    for t in traces:
        d = t.to_json() if hasattr(t, "to_json") else dict(t)
        secs = "-" if d.get("seconds") is None else f"{d['seconds']:.3f}"
        table.add_row(_t(d["id"]), _t(d["kind"]), _t(d.get("persona") or "-"),
                      _t(d["verdict"], _VERDICT_STYLE.get(d["verdict"], "")),
                      str(len(d.get("steps", []))), secs, Text(_short(d.get("mission", ""), 40)))
    return table


__all__ = ["render_trace", "render_timeline", "render_trace_table", "step_lines"]
