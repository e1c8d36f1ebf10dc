"""What the current (uncommitted) transaction would change, for ``batos run --dry-run``.

For each prototype the transaction touched, its slots are compared with its committed
state (:mod:`batos.image.committed`); new prototypes list all their slots as added. Globals
added, rebound or removed are reported under ``Image``; other touched persistent
containers (lists and dictionaries held in slots) are listed with their new contents.
"""
from __future__ import annotations

from typing import Any

from batos.image.committed import committed_state

#: an open :class:`batos.image.image.Image` (named, not imported: it imports this module)
Image = Any

_NEW = b"\0" * 8
_PREVIEW = 60


def preview(value: Any) -> str:
    """A one-line, shortened printString (:func:`batos.image.preview.one_line`)."""
    from batos.image.method import Method
    from batos.image.preview import one_line
    if isinstance(value, Method):
        return f"method #{value.selector} ({value.language})"
    return one_line(value, _PREVIEW)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _describe(obj: Any) -> str:
    from batos.image.proto import Proto
    if isinstance(obj, Proto):
        return obj._display()
    return f"a {type(obj).__name__}"


def _proto_change(image: "Image", obj: Any) -> dict[str, Any] | None:
    slots = obj._slots
    new = obj._p_oid is None or obj._p_serial == _NEW
    old: dict[str, Any] = {}
    if not new:
        try:
            old = committed_state(obj).get("_slots", {})
        except Exception:
            old = {}
    added = [{"slot": k, "value": preview(v)} for k, v in slots.items() if k not in old]
    changed = [{"slot": k, "value": preview(v), "was": preview(old[k])}
               for k, v in slots.items() if k in old and not _same(v, old[k])]
    removed = [{"slot": k} for k in old if k not in slots]
    if not (added or changed or removed or new):
        return None
    return {"object": _describe(obj), "oid": _oid(obj), "new": new, "added": added,
            "changed": changed, "removed": removed}


def _oid(obj: Any) -> str | None:
    oid = getattr(obj, "_p_oid", None)
    return oid.hex() if oid else None


def _global_changes(image: "Image") -> dict[str, Any] | None:
    import transaction
    current = dict(image.root["globals"].items())
    conn = image.db.open(transaction_manager=transaction.TransactionManager())
    try:
        old = {k: getattr(v, "_p_oid", None) or v
               for k, v in conn.root()["globals"].items()}
    finally:
        conn.transaction_manager.abort()
        conn.close()
    added, changed = [], []
    for key, value in current.items():
        if key not in old:
            added.append({"slot": key, "value": preview(value)})
        else:
            ident = getattr(value, "_p_oid", None) or value
            if not _same(ident, old[key]):
                changed.append({"slot": key, "value": preview(value)})
    removed = [{"slot": k} for k in old if k not in current]
    if not (added or changed or removed):
        return None
    return {"object": "Image (globals)", "oid": None, "new": False, "added": added,
            "changed": changed, "removed": removed}


def _container_name(image: "Image", obj: Any, objects: list[Any]) -> str:
    """``counter.history`` for a list or dictionary held in a slot, else its class."""
    from batos.image.language import article
    from batos.image.proto import Proto
    holders = [o for o in objects if isinstance(o, Proto)]
    holders += [v for v in image.root["globals"].values() if isinstance(v, Proto)]
    for holder in holders:
        for key, value in holder._slots.items():
            if value is obj:
                return f"{_describe(holder)}.{key}"
    name = type(obj).__name__
    return article(name)


def _with_new_objects(image: "Image", registered: list[Any]) -> list[Any]:
    """``registered`` plus the new (never stored) prototypes reachable from it or from
    the globals: they have no ZODB connection yet, so nothing registered them."""
    from batos.image.proto import contained_values
    out = list(registered)
    seen = {id(o) for o in out}
    stack: list[Any] = list(registered)
    for value in image.root["globals"].values():
        stack.append(value)
        if getattr(value, "_p_oid", 0) is None and id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    while stack:
        obj = stack.pop()
        for value in contained_values(obj) or ():
            if contained_values(value) is not None \
                    and value._p_oid is None and id(value) not in seen:
                seen.add(id(value))
                out.append(value)
                stack.append(value)
    return out


def describe_changes(image: "Image") -> list[dict[str, Any]]:
    """Per touched object: ``object``, ``oid``, ``new`` and the slots ``added``,
    ``changed`` and ``removed`` (each ``{"slot", "value"}``)."""
    from batos.image.proto import Proto, contained_values
    out: list[dict[str, Any]] = []
    registered = _with_new_objects(image, list(image.connection._registered_objects))
    seen: set[int] = set()
    for obj in registered:
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Proto):
            entry = _proto_change(image, obj)
            if entry is not None:
                out.append(entry)
        elif contained_values(obj) is not None:  # a stored list, mapping or set
            if obj._p_oid is None:
                continue  # a new container: shown as the value of the slot that holds it
            if obj is image.root:
                continue  # batos's own records (log, contracts, ether) gained a table
            out.append({"object": _container_name(image, obj, registered), "oid": _oid(obj),
                        "new": obj._p_oid is None, "added": [],
                        "changed": [{"slot": "contents", "value": preview(obj)}],
                        "removed": []})
    globals_entry = _global_changes(image)
    if globals_entry is not None:
        out.insert(0, globals_entry)
    return out
