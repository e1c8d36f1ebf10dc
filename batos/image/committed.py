"""What a persistent object was at the last commit, read from the storage: the
custody check (a method's receiver holds only what it held then) and ``run --dry-run``'s
change report (a slot's old value) both ask.

After a savepoint the connection's storage is a temporary one with no old revisions,
so the state is read from the database's own storage by the object's ``_p_serial``.
"""
from __future__ import annotations

from typing import Any


def committed_state(obj: Any) -> dict[str, Any]:
    """``obj``'s stored state as of the revision it was loaded from."""
    jar = obj._p_jar
    data = jar.db().storage.loadSerial(obj._p_oid, obj._p_serial)
    return jar._reader.getState(data)


def as_committed(obj: Any) -> Any:
    """``obj`` itself when the open transaction has not changed it, its stored state
    (a dict) when it has, None when it is new (it held nothing at the last commit)."""
    if getattr(obj, "_p_jar", None) is None or obj._p_oid is None:
        return None
    if not obj._p_changed:  # up to date, or a ghost
        return obj
    return committed_state(obj)


def state_members(state: Any) -> list[Any]:
    """The values a persistent container's stored state holds (its list, dict or set)."""
    out: list[Any] = []
    for value in state.values() if isinstance(state, dict) else ():
        if isinstance(value, dict):
            out.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            out.extend(value)
        else:
            out.append(value)
    return out
