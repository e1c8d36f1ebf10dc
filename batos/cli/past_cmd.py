"""``batos history OBJ SLOT``, ``batos diff TXN [TXN2]``, ``batos restore OBJ [SLOT] --at WHEN``:
the image's past (issue 18), read through :mod:`batos.image.past`, drawn by
:mod:`batos.render.past`. ``eval --at`` and ``inspect --at`` live in ``lang_cmd.py``.

WHEN is a transaction id (as ``batos image history`` prints it), an ISO time
(``2026-12-02 15:04``) or a relative time (``-10m``, ``-2h``, ``yesterday``). A WHEN
before the last pack is an error (exit 1) that says so.
"""
from __future__ import annotations

import sys
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import (ImageOpt, JsonOpt, ReadOnlyOpt, confine_statements, console,
                              emit_json, handle_errors, open_cli_image)

WhenOpt = Annotated[Optional[str], typer.Option(
    "--at", metavar="WHEN", help="a transaction id (`batos image history`), an ISO time "
                                 "(2026-12-02 15:04) or a relative one (-10m, -2h, yesterday)")]


def slot_name(proto: Any, slot: str) -> str:
    """The stored name of ``slot`` on ``proto``: as given, else the selector's Python name
    (``at:put:`` → ``at_put_``)."""
    from batos.image.selectors import selector_to_name
    slot = slot.lstrip("#")
    try:
        if proto.lookup(slot) is not None:
            return slot
        name = selector_to_name(slot)
        return name if proto.lookup(name) is not None else slot
    except Exception:
        return slot


def is_method_slot(proto: Any, name: str) -> bool:
    """True when ``name`` answers a Method on ``proto`` today (its history is of sources)."""
    from batos.image.method import Method
    try:
        found = proto.lookup(name)
    except Exception:
        return False
    return found is not None and isinstance(found[1], Method)


def history_data(im: Any, target: str, slot: str, *, limit: Optional[int] = None,
                 as_json: bool = False) -> dict[str, Any]:
    """The history of ``target``'s ``slot`` as plain data: ``{"object", "slot", "kind":
    "slot"|"method", "rows": [...]}`` (values as printStrings, scalars kept for JSON)."""
    from batos.image import past
    from batos.render.past import to_plain
    proto = past.resolve_object(im, target)
    name = slot_name(proto, slot)
    if is_method_slot(proto, name):
        rows = past.method_history(im, proto, name, limit=limit)
        kind = "method"
    else:
        rows = past.slot_history(im, proto, name, limit=limit)
        kind = "slot"
    return {"object": target, "slot": name, "kind": kind,
            "rows": to_plain(rows, im.print_string, keep_scalars=as_json)}


def render_history(data: dict[str, Any]) -> Any:
    from batos.render.past import method_history_view, slot_history_table
    title = f"{data['object']} . {data['slot']}"
    if data["kind"] == "method":
        return method_history_view(f"history of method {title}", data["rows"])
    return slot_history_table(f"history of {title}", data["rows"])


def register(app: typer.Typer) -> None:
    """Add ``history``, ``diff`` and ``restore`` to the batos app."""

    @app.command("history")
    @handle_errors
    def history_cmd(
        target: Annotated[str, typer.Argument(metavar="OBJ", help="a global name, e.g. counter")],
        slot: Annotated[str, typer.Argument(
            metavar="SLOT", help="a slot or a method's selector, e.g. count or at:put:")],
        image: ImageOpt = None, as_json: JsonOpt = False, read_only: ReadOnlyOpt = False,
        limit: Annotated[Optional[int], typer.Option(
            "--limit", "-n", help="at most this many of the latest changes")] = None,
    ) -> None:
        """A slot's successive values (time, transaction, note, value), or each source
        version of a method with its provenance."""
        with open_cli_image(image, read_only=read_only) as im:
            confine_statements(im)  # printStrings may run the image's methods
            data = im.execute(lambda: history_data(im, target, slot, limit=limit,
                                                   as_json=as_json),
                              note=f"history {target} {slot}", save=False)
        if as_json:
            emit_json(data)
        else:
            console().print(render_history(data))

    @app.command("diff")
    @handle_errors
    def diff_cmd(
        txn: Annotated[str, typer.Argument(
            metavar="TXN", help="a transaction id or WHEN; alone: what that transaction changed")],
        txn2: Annotated[Optional[str], typer.Argument(
            metavar="TXN2", help="a later transaction id or WHEN: what changed from TXN to it")]
        = None,
        image: ImageOpt = None, as_json: JsonOpt = False, read_only: ReadOnlyOpt = False,
    ) -> None:
        """Per object and slot, what changed: values, methods as unified source diffs,
        added and removed slots and objects."""
        from batos.image import past
        from batos.render.past import diff_view, to_plain
        with open_cli_image(image, read_only=read_only) as im:
            confine_statements(im)  # printStrings may run the image's methods
            def action() -> Any:
                first = past.parse_when(txn, im)
                second = past.parse_when(txn2, im) if txn2 is not None else None
                return to_plain(past.diff(im, first, second), im.print_string,
                                keep_scalars=as_json)
            data = im.execute(action, note=f"diff {txn} {txn2 or ''}".strip(), save=False)
        if as_json:
            emit_json(data)
        else:
            console().print(diff_view(data))

    @app.command("restore")
    @handle_errors
    def restore_cmd(
        target: Annotated[str, typer.Argument(metavar="OBJ", help="a global name, e.g. counter")],
        slot: Annotated[Optional[str], typer.Argument(
            metavar="SLOT", help="one slot (default: every slot of the object)")] = None,
        at: WhenOpt = None,
        image: ImageOpt = None, as_json: JsonOpt = False,
    ) -> None:
        """Set a slot (or every slot of an object) back to its value at WHEN, as a new
        transaction noted `restore ...` (undo it like any other)."""
        from batos.errors import UsageError
        from batos.image import past
        if not at:
            raise UsageError("restore needs --at WHEN: batos restore OBJ [SLOT] --at WHEN")
        note = f"restore {target}{' ' + slot if slot else ''} at {at}"
        with open_cli_image(image) as im:
            confine_statements(im)
            def action() -> dict[str, Any]:
                proto = past.resolve_object(im, target)
                record = past.describe_when(im, past.parse_when(at, im))
                if slot is not None:
                    name = slot_name(proto, slot)
                    value = past.restore_slot(im, proto, name, at)
                    if name not in proto._slots:  # absent then: removed now
                        return {"restored": [], "removed": [name], "when": record}
                    return {"restored": [name], "removed": [], "when": record,
                            "value": im.print_string(value)}
                done = past.restore_object(im, proto, at)
                return {"restored": list(done.get("restored", [])),
                        "removed": list(done.get("removed", [])), "when": record}
            data = im.execute(action, note=note)
            latest = im.history(1)
            data["transaction"] = latest[0]["id"] if latest and latest[0]["note"] == note \
                else None
        data["object"] = target
        if as_json:
            from batos.render.past import to_plain
            emit_json(to_plain(data, str, keep_scalars=True))
            return
        from batos.render.past import restore_line
        sys.stdout.write(restore_line(target, data["when"], data["restored"], data["removed"],
                                      data["transaction"]) + "\n")
