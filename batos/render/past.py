"""Rich views of the image's past (issue 18): slot and method history, diffs, blame.

Every function receives plain data (dicts of strings, as the commands prepare them from
:mod:`batos.image.past`) and draws it; nothing of the model is imported here.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = ["to_plain", "when_line", "slot_history_table", "method_history_view", "diff_view",
           "blame_table", "restore_line"]


_SCALARS = (type(None), bool, int, float, str)
#: keys whose values are live objects loaded from the image (printString them)
_LIVE_KEYS = ("value", "was")


def to_plain(data: Any, printer: Callable[[Any], str], *, keep_scalars: bool = False,
             _key: str = "") -> Any:
    """``data`` (records from :mod:`batos.image.past`) as plain JSON-able data: live
    values under ``value``/``was`` become their printString (``printer``), kept as they
    are when ``keep_scalars`` and they are JSON scalars; bytes become hex; any other
    object its printString."""
    if isinstance(data, Mapping):
        return {str(k): to_plain(v, printer, keep_scalars=keep_scalars, _key=str(k))
                for k, v in data.items()}
    if isinstance(data, (list, tuple)) and _key not in _LIVE_KEYS:
        return [to_plain(v, printer, keep_scalars=keep_scalars) for v in data]
    if isinstance(data, bytes):
        return data.hex()
    if _key in _LIVE_KEYS and not isinstance(data, _SCALARS if keep_scalars else str):
        return _print(printer, data)    # (a str there is a printString already)
    if isinstance(data, _SCALARS):
        return data
    return _print(printer, data)


def _print(printer: Callable[[Any], str], value: Any) -> str:
    try:
        return str(printer(value))
    except Exception as exc:  # a broken printOn: must not hide the history
        return f"<unprintable: {type(exc).__name__}>"


def _clean(text: Any) -> str:
    from batos.guardian.hygiene import printable  # image text: escapes shown, never obeyed
    return printable(str(text if text is not None else ""), newlines=False)


def _txn(row: Mapping[str, Any]) -> str:
    return str(row.get("id") or "")


def when_line(record: Mapping[str, Any]) -> Text:
    """``as of 2026-12-02 15:04:05 · txn ID · note`` (the header of a historical view)."""
    text = Text(f"as of {record.get('when', '?')}", style="bold")
    if record.get("id"):
        text.append(f" · txn {record['id']}")
    if record.get("note"):
        text.append(f" · {_clean(record['note'])}")
    return text


def slot_history_table(title: str, rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    """A slot's successive values, oldest first: time, transaction, kind, note, value."""
    if not rows:
        return Text(f"{title}: no history (the slot was never set in the kept history)")
    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False,
                  pad_edge=False)
    table.add_column("time · transaction", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("note", overflow="fold", min_width=10, ratio=2)
    table.add_column("value", overflow="fold", min_width=8, ratio=1)
    for row in rows:
        value = _clean(row.get("print", "")) if row.get("present", True) else "(absent)"
        table.add_row(f"{row.get('when', '')}\n{_txn(row)}", str(row.get("kind", "")),
                      _clean(row.get("note", "")), value)
    return table


def _provenance(row: Mapping[str, Any]) -> str:
    author = str(row.get("author") or "?")
    if row.get("persona"):
        author += f" by {row['persona']}"
    if row.get("corrected"):
        author += ", corrected"
    return author


def method_history_view(title: str, rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    """Each source version of a method, oldest first: a header line (time, transaction,
    provenance, note), then the source (first version) or the unified diff from the one
    before."""
    if not rows:
        return Text(f"{title}: no history (the method was never defined in the kept history)")
    parts: list[RenderableType] = [Text(title, style="bold")]
    for number, row in enumerate(rows, 1):
        head = Text(f"v{number} · {row.get('when', '')} · txn {_txn(row)} · "
                    f"{row.get('language', '?')} · {_provenance(row)}", style="bold")
        if row.get("note"):
            head.append(f" · {_clean(row['note'])}", style="")
        parts.append(head)
        body = str(row.get("diff") or "") if number > 1 else ""
        body = body or str(row.get("source") or "")
        if not row.get("present", True):
            body = "(removed)"
        for line in body.rstrip("\n").splitlines():
            parts.append(Text("    " + _clean(line), style=_diff_style(line) if number > 1 else ""))
    return Group(*parts)


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    if line.startswith("@@"):
        return "cyan"
    return ""


def diff_view(data: Mapping[str, Any]) -> RenderableType:
    """What changed between two points: per object, slots added (+), removed (-) and
    changed (~ value, was ...), methods as unified source diffs; globals added/removed."""
    to = data.get("to") or {}
    frm = data.get("from")
    head = Text("diff ", style="bold")
    if isinstance(frm, Mapping):
        head.append(f"{frm.get('id')} ({frm.get('when')})")
    else:
        head.append(str(frm) if frm else "(the beginning)")
    head.append(f" → {to.get('id')} ({to.get('when')})")
    if to.get("note"):
        head.append(f" · {_clean(to['note'])}")
    parts: list[RenderableType] = [head]
    glob = data.get("globals") or {}
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
        names = glob.get(kind) or []
        if names:
            names = [n.get("slot", n.get("name", "")) if isinstance(n, Mapping) else n
                     for n in names]
            parts.append(Text(f"globals {kind}: {', '.join(_clean(n) for n in names)}",
                              style=_diff_style(mark)))
    objects = data.get("objects") or []
    if not objects and not any(glob.get(k) for k in ("added", "removed", "changed")):
        parts.append(Text("no object changed"))
    for entry in objects:
        status = str(entry.get("status") or "changed")
        parts.append(Text(f"{_clean(entry.get('object'))} ({status})", style="bold"))
        for slot in entry.get("added") or []:
            parts.append(Text(f"  + {_clean(slot.get('slot'))}: {_clean(slot.get('value'))}",
                              style="green"))
        for slot in entry.get("removed") or []:
            parts.append(Text(f"  - {_clean(slot.get('slot'))} (was {_clean(slot.get('was'))})",
                              style="red"))
        for slot in entry.get("changed") or []:
            if slot.get("diff") is not None or slot.get("method"):
                parts.append(Text(f"  ~ {_clean(slot.get('slot'))} (method "
                                  f"#{_clean(slot.get('method') or slot.get('slot'))})",
                                  style="yellow"))
                for line in str(slot.get("diff") or "").rstrip("\n").splitlines():
                    parts.append(Text("      " + _clean(line), style=_diff_style(line)))
            else:
                parts.append(Text(f"  ~ {_clean(slot.get('slot'))}: {_clean(slot.get('value'))}"
                                  f" (was {_clean(slot.get('was'))})", style="yellow"))
    return Group(*parts)


def blame_table(title: str, rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    """For each slot, the transaction that last set it: slot, value, time, kind, txn, note."""
    if not rows:
        return Text(f"{title}: no slots")
    table = Table(title=title, title_justify="left", header_style="bold", show_edge=False,
                  pad_edge=False)
    table.add_column("slot", overflow="fold", max_width=20)
    table.add_column("value", overflow="fold", min_width=8, ratio=1)
    table.add_column("set in", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("note", overflow="fold", min_width=10, ratio=2)
    for row in rows:
        table.add_row(_clean(row.get("slot")), _clean(row.get("print", "")),
                      f"{row.get('when', '')}\n{_txn(row)}", str(row.get("kind", "")),
                      _clean(row.get("note", "")))
    return table


def restore_line(target: str, record: Mapping[str, Any], restored: Sequence[str],
                 removed: Sequence[str] = (), txn: str | None = None) -> str:
    """One line: what ``restore`` set back, as of when, and how to undo it."""
    what = ", ".join(restored) if restored else "nothing"
    line = f"restored {target}: {what} as of {record.get('when')} (txn {record.get('id')})"
    if removed:
        line += f"; removed {', '.join(removed)}"
    if txn:
        line += f"; undo: batos image undo {txn}"
    return _clean(line)
