"""The slot inspector: a rich table of an object's slots, own and inherited.

Columns: slot, kind (data / method / parent), a value preview and the object that
defines it. The receiver's own methods follow the table with their source. Values
that are not prototypes show their class and printString.
"""
from __future__ import annotations

from typing import Any

_PREVIEW = 48


def _short(text: str, width: int = _PREVIEW) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _cell(text: str, width: int | None = None) -> Any:
    """Image text for a table cell or title: escapes shown visibly, never read as markup."""
    from rich.text import Text

    from batos.guardian.hygiene import printable
    text = printable(str(text), newlines=False)
    return Text(_short(text, width) if width else text)


def _print(value: Any) -> str:
    """The full printString (the JSON's ``printString``); never fails
    (:func:`batos.image.preview.safe_print_string`)."""
    from batos.image.preview import safe_print_string
    return safe_print_string(value)


def _method_preview(method: Any) -> str:
    body = [line.strip() for line in method.source.splitlines()[1:] if line.strip()]
    if method.language == "primitive":
        doc = method.provenance.get("doc", "") if method.provenance else ""
        return f"primitive{': ' + doc if doc else ''}"
    text = " ".join(body) if method.language == "bst" else method.source.splitlines()[0]
    return f"{method.language}: {text}"


def _owner_name(owner: Any) -> str:
    return owner.__dict__.get("_name") or owner._display()


def _is_proto(value: Any) -> bool:
    """A prototype (the view is handed its object; it imports nothing of the image's
    classes back: ``Proto.__rich__`` reaches this module)."""
    return callable(getattr(type(value), "slots", None)) \
        and callable(getattr(type(value), "own_slots", None))


def _class_name(value: Any) -> str:
    try:
        from batos.image.language import send  # the language's protocol, any value
        return _print(send(value, "class", ()))
    except Exception:
        return type(value).__name__


def slot_rows(obj: Any) -> list[dict[str, Any]]:
    """One dict per visible slot: slot, kind, value (preview), defined_on, inherited."""
    rows = []
    for info in obj.slots(inherited=True):
        if info.kind == "method":
            value = _method_preview(info.value)
        else:
            value = _print(info.value)
        name = getattr(info.value, "selector", info.name) if info.kind == "method" else info.name
        rows.append({"slot": name, "kind": info.kind, "value": value,
                     "defined_on": _owner_name(info.owner), "inherited": info.inherited})
    return rows


def inspect_data(value: Any) -> dict[str, Any]:
    """The inspector's content as JSON-ready data."""
    data: dict[str, Any] = {"printString": _print(value)}
    if _is_proto(value):
        data["slots"] = slot_rows(value)
        data["methods"] = [{"selector": m.selector, "language": m.language, "source": m.source}
                           for m in _own_methods(value)]
        data["contracts"] = contract_lines(value)
    else:
        data["class"] = _class_name(value)
        items = element_rows(value)
        if items is not None:
            data["elements"] = items
    return data


_MAX_ELEMENTS = 50


def element_rows(value: Any) -> list[dict[str, str]] | None:
    """``[{"key", "value"}]`` for a collection (1-based indexes for sequences, keys for
    dictionaries; at most 50), else None."""
    from collections.abc import Mapping, Set as AbstractSet
    if isinstance(value, (str, bytes)):
        return None
    if isinstance(value, Mapping):
        pairs = [(_print(k), v) for k, v in list(value.items())[:_MAX_ELEMENTS]]
    elif isinstance(value, (list, tuple)) or type(value).__name__ in (
            "PersistentList", "OrderedCollection", "SortedCollection"):
        pairs = [(str(i), v) for i, v in enumerate(list(value)[:_MAX_ELEMENTS], 1)]
    elif isinstance(value, AbstractSet):  # a PersistentSet too
        pairs = [(str(i), v) for i, v in enumerate(_set_order(value)[:_MAX_ELEMENTS], 1)]
    else:
        return None
    return [{"key": k, "value": _short(_print(v))} for k, v in pairs]


def _set_order(value: Any) -> list[Any]:
    """A set's elements sorted when they compare (the order its printString uses)."""
    items = list(value)
    try:
        return sorted(items)
    except TypeError:
        return items


def _own_methods(obj: Any) -> list[Any]:
    return [info.value for info in obj.slots(inherited=False)
            if info.kind == "method" and info.value.language != "primitive"]


def contract_lines(obj: Any, selector: str | None = None) -> list[str]:
    """``contract #sel (user): #sel 3 → 6`` lines for ``obj``'s contracts (one selector's
    when ``selector``); none when it is in no image or has none."""
    try:  # the image's contract tables (batos.lang.contracts), read as they are given
        jar = getattr(obj, "_p_jar", None)
        tables = jar.root().get("contracts", ()) if jar is not None else ()
        table = next((dict(t.by_selector) for t in tables if t.owner is obj), {})
    except Exception:  # noqa: BLE001 - an inspector never fails on the contracts
        return []
    lines = []
    for sel, contract in sorted(table.items()):
        if selector is None or sel == selector:
            lines.append(f"contract #{sel} ({contract.origin}):")
            lines += ["  " + ex.describe(sel) for ex in contract.examples]
    return lines


class Inspector:
    """``console.print(Inspector(obj))`` renders the slot table (Proto.__rich__ uses it)."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.render(options.max_width)

    def render(self, width: int | None = None) -> Any:
        """The renderable; ``width`` (the terminal's) lets long slot names show whole."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from batos.guardian.hygiene import printable
        obj = self.obj
        title = _cell(_print(obj), 60)
        if not _is_proto(obj):
            table = Table(title=title, show_header=True, header_style="bold")
            table.add_column("class")
            table.add_column("printString", overflow="fold")
            table.add_row(_cell(_class_name(obj)), _cell(_print(obj), 80))
            items = element_rows(obj)
            if not items:
                return table
            elements = Table(show_header=True, header_style="bold")
            elements.add_column("key", no_wrap=True)
            elements.add_column("value", overflow="ellipsis", no_wrap=True, max_width=_PREVIEW)
            for item in items:
                elements.add_row(_cell(item["key"]), _cell(item["value"]))
            return Group(table, elements)
        table = Table(title=title, show_header=True, header_style="bold")
        rows = slot_rows(obj)
        room, value_room = 24, _PREVIEW
        if width and rows:   # slot names whole when the terminal has room for them; in a
            #                  narrow one slots and values share it, every column shown
            names = max(len(str(r["slot"])) for r in rows)
            values = max(len(_short(r["value"])) for r in rows)
            owners = max(max(len(r["defined_on"]) for r in rows), 10)
            room = max(16, width - 13 - 6 - values - owners)
            value_room = max(16, min(_PREVIEW, width - 13 - 6 - owners - min(names, room)))
        table.add_column("slot", no_wrap=True, overflow="ellipsis", max_width=room)
        table.add_column("kind", no_wrap=True, min_width=6)
        table.add_column("value", overflow="ellipsis", no_wrap=True, max_width=value_room)
        table.add_column("defined on", no_wrap=True, overflow="ellipsis", min_width=10)
        for row in rows:
            style = "dim" if row["inherited"] else ""
            table.add_row(_cell(row["slot"]), row["kind"], _cell(row["value"], _PREVIEW),
                          _cell(row["defined_on"]), style=style)
        parts: list[Any] = [table]
        for method in _own_methods(obj):
            parts.append(Text(printable(f"#{method.selector} ({method.language})"),
                              style="bold"))
            parts.append(Text(printable(method.source.expandtabs(4))))
        for line in contract_lines(obj):
            parts.append(Text(printable(line), style="cyan"))
        return Group(*parts)
