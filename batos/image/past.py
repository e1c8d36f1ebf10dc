"""Time travel: the image as it was, per-slot history, diffs, blame and restore.

Everything here reads ZODB's own history: historical connections (``db.open(at=...)``)
for a read-only view of the whole image at a moment, the revisions of one object
(:func:`batos.image.timeline.revisions`, the walk ``storage.history`` does) for a slot's
history and blame, ``storage.loadBefore`` and the transactions' records for a diff, and
the transaction notes batos writes for what kind of act it was. Records are decoded with
the image connection's (guarded) reader, so a prototype referenced from the past is the
present object with the same oid. WHEN parsing and transaction records live in
:mod:`batos.image.timeline` (re-exported here).
"""
from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import transaction
from persistent import Persistent
from ZODB.utils import p64, u64, z64

from batos.errors import BatosError, ReadOnlyError
from batos.image.language import article
from batos.image.method import Method
from batos.image.preview import one_line
from batos.image.timeline import (EXPECTED, PastError, _as_tid, _class_of, _decode_all,
                                  _detached, _iterate, _load_before, _local, _plain, _reader,
                                  _record, _revisions, _SAME, _walk, describe_when,
                                  packed_time, parse_when, tid_id, tid_time, time_tid,
                                  txn_kind, when_key)

#: an open :class:`batos.image.image.Image` (named, not imported: it imports this module)
Image = Any
_MISSING = object()

# --- the historical view ----------------------------------------------------------------

class PastGlobals(Mapping):
    """The image's globals as they were: read-only."""

    def __init__(self, tree: Any, when: str) -> None:
        self._tree, self._when = tree, when

    def __getitem__(self, key: str) -> Any:
        return self._tree[str(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tree.keys())

    def __len__(self) -> int:
        return len(self._tree)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._tree

    def _refuse(self, *a: Any, **k: Any) -> None:
        raise ReadOnlyError(f"the image as of {self._when} is read-only: the past cannot be "
                            "changed (use `restore:from:` to bring a value into the present)")

    __setitem__ = __delitem__ = _refuse


class PastView:
    """The image as of one transaction: read-only, from a ZODB historical connection."""

    read_only = True

    def __init__(self, image: "Image", tid: bytes) -> None:
        self.image, self.tid = image, tid
        self._when: dict[str, Any] | None = None
        self.tm = transaction.TransactionManager()
        self.connection = image.db.open(transaction_manager=self.tm, at=tid)
        _VIEWS[id(self.connection)] = image
        self.root = self.connection.root()
        self.globals = PastGlobals(self.root.get("globals") or {}, _local(tid_time(tid)))
        self.workspace: dict[str, Any] = {}
        self.options = image.options
        self.path = image.path

    @property
    def when(self) -> dict[str, Any]:
        """The record of the transaction this view shows the image after."""
        if self._when is None:
            self._when = describe_when(self.image, self.tid)
        return self._when

    def _refuse_writes(self) -> None:
        wrote = bool(self.connection._registered_objects)
        self.tm.abort()
        if wrote:
            from batos.image.proto import invalidate_lookup_cache
            invalidate_lookup_cache()
            raise ReadOnlyError(f"the image as of {self.when['when']} is read-only: that "
                                "statement would change the past, so nothing was changed")

    def evaluate(self, source: str, *, filename: str = "<at>") -> Any:
        """Evaluate BST ``source`` against the past (writes refused: ReadOnlyError)."""
        from batos.image import language
        present_dirty = self.image.dirty()
        try:
            value = language.evaluate(self, source, workspace=self.workspace,
                                      filename=filename)
        except BaseException:
            self.tm.abort()
            raise
        self._refuse_writes()
        if not present_dirty and self.image.dirty():
            self.image.abort()
            raise ReadOnlyError(f"the image as of {self.when['when']} is read-only: that "
                                "statement changed the present image, so it was rolled back")
        return value

    def print_string(self, value: Any) -> str:
        from batos.image import language
        return language.print_string(value)

    def lookup_global(self, name: str) -> Any:
        try:
            return self.globals[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.globals), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BatosError(f"no global named {name!r} as of {self.when['when']}{hint}") \
                from None

    def resolve(self, path: str) -> Any:
        """``name`` or ``name.slot``: a global (and one of its slots) as it was."""
        head, _, slot = path.partition(".")
        obj = self.lookup_global(head)
        if slot:
            slots = obj.__dict__.get("_slots") if hasattr(obj, "_p_oid") else None
            if slots is None:
                obj._p_activate()
                slots = obj.__dict__.get("_slots", {})
            if slot not in slots:
                raise BatosError(f"{head} had no slot {slot!r} as of {self.when['when']}")
            return slots[slot]
        return obj

    def close(self) -> None:
        try:
            if getattr(self.tm, "_txn", True) is not None:  # a transaction was begun
                self.tm.abort()
        finally:
            _VIEWS.pop(id(self.connection), None)
            self.connection.close()

    def __repr__(self) -> str:
        return f"<image {self.image.path} as of {self.when['when']} ({self.when['id']})>"


#: the image of each open historical view's connection (for the traits primitives)
_VIEWS: dict[int, Any] = {}


def image_holding(obj: Any) -> Any:
    """The running image, else the open image (or historical view's image) holding ``obj``."""
    from batos.image.image import image_of
    image = image_of(obj)
    if image is None:
        jar = getattr(obj, "_p_jar", None)
        image = _VIEWS.get(id(jar)) if jar is not None else None
    return image


@contextmanager
def open_at(image: "Image", when: Any) -> Iterator[PastView]:
    """A read-only view of ``image`` as of WHEN (``db.open(at=...)``)."""
    view = PastView(image, _as_tid(image, when))
    try:
        yield view
    finally:
        view.close()



def _slots_of(state: Any) -> dict[str, Any]:
    return state.get("_slots", {}) if isinstance(state, dict) else {}


_PLAIN = frozenset({int, float, str, bytes, bool, type(None)})


def _key(value: Any) -> Any:
    """What identifies a value for change detection: a stored object by oid."""
    if isinstance(value, Persistent) and value._p_oid is not None:
        return ("oid", value._p_oid)
    return (type(value), value)


def _same(a: Any, b: Any) -> bool:
    if type(a) is type(b) and type(a) in _PLAIN:
        return bool(a == b)
    try:
        return bool(_key(a) == _key(b))
    except Exception:  # noqa: BLE001 - odd values differ
        return False


def _print(value: Any) -> str:
    if type(value) is int and -10**50 < value < 10**50:
        return str(value)  # what BST prints for an integer, without the language round trip
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, Method):
        return f"method #{value.selector} ({value.language})"
    return one_line(value, 60)


def _is_generated(value: Any) -> bool:
    if not isinstance(value, Method):
        return False
    try:
        return str(value.provenance.get("author", "human")) not in ("human", "batos")
    except Exception:  # noqa: BLE001
        return False


def _oid_of(proto: Any) -> bytes:
    oid = getattr(proto, "_p_oid", None)
    if oid is None:
        raise PastError("that object has never been committed, so it has no history")
    return oid


def slot_history(image: "Image", proto: Any, slot: str,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """The successive values of one slot, oldest first, one record per change: the
    transaction record plus ``value``, ``print`` and ``present`` (False: slot absent).
    ``limit``: look at the last ``limit`` revisions of the object only."""
    oid = _oid_of(proto)
    out: list[dict[str, Any]] = []
    last: Any = _MISSING
    first = True
    revs = list(reversed(_walk(image, oid, limit)))
    states = _decode_all(image, [data for _rev, data in revs])
    for (rev, _data), state in zip(revs, states):
        if state is _SAME:
            continue  # the same record as the one before: the same value
        value = state["_slots"].get(slot, _MISSING) if type(state) is dict \
            and "_slots" in state else _MISSING
        if not first and _same(value, last):
            continue
        if first and value is _MISSING:
            first, last = False, value
            continue
        first, last = False, value
        rec = _record(rev["tid"], rev.get("time"), rev.get("description"),
                      rev.get("user_name"))
        if _is_generated(value) and rec["kind"] == "human":
            rec["kind"] = "generation"
        shown = value
        if isinstance(value, Persistent) and not isinstance(value, Method) \
                and type(value).__name__ != "Proto" and value._p_oid is not None:
            # a stored container: its contents as of this revision, not today's
            shown = _detached(value, _load_before(image, value._p_oid, rev["tid"])[1])
        rec.update(value=None if value is _MISSING else shown, print=_print(shown),
                   present=value is not _MISSING)
        out.append(rec)
    return out


def object_history(image: "Image", proto: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Every revision of one object, oldest first (transaction records)."""
    return [_record(r["tid"], r.get("time"), r.get("description"), r.get("user_name"))
            for r in reversed(_revisions(image, _oid_of(proto), limit))]


def _method_fields(method: Any) -> dict[str, Any]:
    prov = {str(k): v for k, v in dict(method.provenance or {}).items()}
    author = str(prov.get("author", "human"))
    audit = getattr(method, "audit", None)
    repaired = bool(getattr(audit, "source", None)) and audit.source == method.source \
        and bool(getattr(audit, "repairs", None) or getattr(audit, "repaired", None))
    return {"source": method.source, "language": method.language, "author":
            "human" if author == "human" else "generated",
            "persona": prov.get("persona") or (None if author == "human" else author),
            "provenance": {k: v for k, v in prov.items() if k != "prompt"},
            "repaired": repaired}


def method_history(image: "Image", proto: Any, selector: str,
                   limit: int | None = None) -> list[dict[str, Any]]:
    """Each source version of one method, oldest first, with provenance (human or
    generated by which persona), ``corrected`` (a human redefinition of a generated
    version, or a guardian repair) and ``diff`` (unified, against the previous version)."""
    from batos.image.selectors import selector_to_name
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for rec in slot_history(image, proto, selector_to_name(selector), limit):
        value = rec.pop("value")
        if not isinstance(value, Method):
            rec.update(source=None, language=None, author=None, persona=None,
                       provenance={}, corrected=False, diff="")
            out.append(rec)
            continue
        fields = _method_fields(value)
        rec.update(fields)
        rec["corrected"] = fields["repaired"] or bool(
            previous and previous.get("author") == "generated" and fields["author"] == "human")
        rec["diff"] = _udiff(previous.get("source") if previous else None, fields["source"],
                             f"#{selector} before", f"#{selector} {rec['when']}")
        out.append(rec)
        previous = rec
    return out


def _udiff(old: str | None, new: str | None, a: str, b: str) -> str:
    return "".join(difflib.unified_diff([x + "\n" for x in (old or "").splitlines()],
                                        [x + "\n" for x in (new or "").splitlines()], a, b))


# --- diff ---------------------------------------------------------------------------------









def _slot_change(slot: str, old: Any, new: Any) -> dict[str, Any]:
    if isinstance(old, Method) or isinstance(new, Method):
        o = old.source if isinstance(old, Method) else None
        n = new.source if isinstance(new, Method) else None
        sel = (new if isinstance(new, Method) else old).selector
        return {"slot": slot, "method": sel, "value": _print(new), "was": _print(old),
                "diff": _udiff(o, n, f"#{sel} before", f"#{sel} after")}
    return {"slot": slot, "value": _print(new), "was": _print(old)}


def _holder_name(image: "Image", oid: bytes) -> str | None:
    """``counter.items`` for a container held in a slot of a global prototype."""
    from batos.image.proto import Proto
    for name, obj in image.root["globals"].items():
        if not isinstance(obj, Proto):
            continue
        obj._p_activate()
        for slot, value in obj.__dict__.get("_slots", {}).items():
            if getattr(value, "_p_oid", None) == oid and not isinstance(value, Proto):
                return f"{name}.{slot}"
    return None


def _globals_oids(image: "Image", tid: bytes) -> dict[str, Any]:
    conn = image.db.open(transaction_manager=transaction.TransactionManager(), at=tid)
    try:
        return {k: (getattr(v, "_p_oid", None) or _print(v))
                for k, v in conn.root()["globals"].items()}
    finally:
        conn.transaction_manager.abort()
        conn.close()


def _snap(image: "Image", tid: bytes) -> bytes:
    """The id of the last transaction committed at or before ``tid``."""
    from batos.image.timeline import _txn_index
    index = _txn_index(image)
    if index is not None:
        i = index.refresh().at_or_before(tid)
        return index.tids[i] if i is not None else tid
    last = tid
    for info in image.storage.iterator(None, tid):
        last = info.tid
    return last


def _previous_tid(image: "Image", tid: bytes) -> bytes:
    """The tid just before ``tid`` (a point to compare one transaction against)."""
    return p64(u64(tid) - 1)


def diff(image: "Image", when1: Any, when2: Any = None) -> dict[str, Any]:
    """What changed between two points, per object and slot (JSON-able). With one point:
    that transaction against the moment before it."""
    t1 = _as_tid(image, when1)
    if when2 is None:  # a time names the last transaction at or before it
        t1 = _snap(image, t1)
        t_from, t_to = _previous_tid(image, t1), t1
    else:
        t2 = _as_tid(image, when2)
        t_from, t_to = min(t1, t2), max(t1, t2)
    oids: dict[bytes, None] = {}
    txns: list[dict[str, Any]] = []
    for txn in _iterate(image, p64(u64(t_from) + 1), t_to):
        txns.append(_record(txn.tid, None, txn.description, txn.user))
        for rec in txn:
            oids.setdefault(rec.oid, None)
    gtree = image.root["globals"]._p_oid
    objects: list[dict[str, Any]] = []
    globals_change: dict[str, list[Any]] = {"added": [], "removed": [], "changed": []}
    for oid in oids:
        if oid == z64:
            continue
        old_data, old = _load_before(image, oid, t_from)
        new_data, new = _load_before(image, oid, t_to)
        data = new_data or old_data
        cls = _class_of(data) if data else "?"
        if oid == gtree or cls.startswith("BTrees."):
            continue  # the globals tree: compared by name below
        if cls.endswith(".Method"):
            continue  # shown as a slot change of the object holding it
        status = "added" if old is None else "removed" if new is None else "changed"
        if status == "added" and not cls.endswith(".Proto"):
            continue  # a new container: shown as the value of the slot that holds it
        entry: dict[str, Any] = {"oid": oid.hex(), "status": status, "class": cls.rsplit(".", 1)[-1],
                                 "added": [], "removed": [], "changed": []}
        if cls.endswith(".Proto"):
            os_, ns = _slots_of(old), _slots_of(new)
            entry["object"] = (new or old or {}).get("_name") or f"a Proto ({oid.hex()})"
            entry["added"] = [{"slot": k, "value": _print(v)} for k, v in ns.items()
                              if k not in os_]
            entry["removed"] = [{"slot": k, "was": _print(v)} for k, v in os_.items()
                                if k not in ns]
            entry["changed"] = [_slot_change(k, os_[k], v) for k, v in ns.items()
                                if k in os_ and not _same(os_[k], v)]
            if status == "changed" and not (entry["added"] or entry["removed"]
                                            or entry["changed"]):
                continue
        else:
            entry["object"] = _holder_name(image, oid) or \
                f"{article(entry['class'])} ({oid.hex()})"
            entry["changed"] = [{"slot": "contents", "value": _print(_plain(new)),
                                 "was": _print(_plain(old))}]
        objects.append(entry)
    if gtree in oids:
        before, after = _globals_oids(image, t_from), _globals_oids(image, t_to)
        globals_change["added"] = [{"slot": k} for k in after if k not in before]
        globals_change["removed"] = [{"slot": k} for k in before if k not in after]
        globals_change["changed"] = [{"slot": k} for k in after
                                     if k in before and before[k] != after[k]]
    return {"from": tid_id(t_from), "to": _record(t_to, None, txns[-1]["note"] if txns else "",
                                                   txns[-1]["user"] if txns else ""),
            "transactions": txns, "objects": objects, "globals": globals_change}


# --- blame --------------------------------------------------------------------------------

def blame(image: "Image", proto: Any) -> list[dict[str, Any]]:
    """For each own slot (present order): the transaction that last set it (its record:
    note, time, kind) plus ``slot`` and ``print``."""
    oid = _oid_of(proto)
    proto._p_activate()
    present = dict(proto.__dict__.get("_slots", {}))
    found: dict[str, dict[str, Any]] = {}
    pending = dict(present)
    walked = _walk(image, oid, None)
    revs = [rev for rev, _data in walked]
    states = _decode_all(image, [data for _rev, data in walked])
    candidate: dict[str, dict[str, Any]] = {}
    slots: dict[str, Any] = {}
    for rev, state in zip(revs, states):  # newest first: a slot was set by the oldest
        if state is not _SAME:            # revision of its run
            slots = _slots_of(state)
        for name in list(pending):
            if name in slots and _same(slots[name], pending[name]):
                candidate[name] = rev
            else:
                found[name] = candidate.get(name, rev)
                del pending[name]
        if not pending:
            break
    for name in pending:  # unchanged since the object's first kept revision
        found[name] = candidate.get(name) or (revs[-1] if revs else {"tid": z64})
    out = []
    for name, value in present.items():
        rev = found[name]
        rec = _record(rev["tid"], rev.get("time"), rev.get("description"), rev.get("user_name"))
        if _is_generated(value) and rec["kind"] == "human":
            rec["kind"] = "generation"
        rec.update(slot=name, print=_print(value))
        out.append(rec)
    return out


# --- restore -----------------------------------------------------------------------------

def _to_present(image: "Image", value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A value loaded from a historical connection, re-made for the present: stored
    prototypes and methods map to the present objects by oid, containers are copied."""
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping

    from batos.image.containers import PersistentSet
    from batos.image.proto import Proto
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, (PersistentList, list, tuple)):
        items = value.data if isinstance(value, PersistentList) else value
        out: Any = [_to_present(image, v, memo) for v in items]
        out = tuple(out) if isinstance(value, tuple) else out
    elif isinstance(value, (PersistentMapping, dict)):
        items = value.data if isinstance(value, PersistentMapping) else value
        out = {_to_present(image, k, memo): _to_present(image, v, memo) for k, v in items.items()}
    elif isinstance(value, PersistentSet):
        out = {_to_present(image, v, memo) for v in value.data}
    elif isinstance(value, Persistent) and value._p_oid is not None:
        try:
            out = image.connection.get(value._p_oid)
        except Exception:  # noqa: BLE001 - gone from the present (packed)
            if isinstance(value, Proto):
                raise PastError("that value refers to an object no longer in the image") \
                    from None
            out = value
    else:
        out = value
    memo[id(value)] = out
    return out


def _past_slots(view: PastView, oid: bytes) -> dict[str, Any]:
    try:
        obj = view.connection.get(oid)
        obj._p_activate()
    except Exception:  # noqa: BLE001 - POSKeyError: the object did not exist yet
        raise PastError(f"that object did not exist as of {view.when['when']}") from None
    return dict(obj.__dict__.get("_slots", {}))


def value_at(image: "Image", proto: Any, slot: str, when: Any) -> Any:
    """The value ``slot`` of ``proto`` had as of WHEN, mapped to the present (None:
    absent then)."""
    with open_at(image, when) as view:
        slots = _past_slots(view, _oid_of(proto))
        return _to_present(image, slots[slot]) if slot in slots else None


def restore_slot(image: "Image", proto: Any, slot: str, when: Any) -> Any:
    """Set ``slot`` of ``proto`` to its value as of WHEN, in the open transaction (the
    caller commits with a note); answers the restored value. Absent then: the slot is
    removed now (answers None)."""
    from batos.image.proto import Proto
    oid = _oid_of(proto)
    with open_at(image, when) as view:
        slots = _past_slots(view, oid)
        if slot not in slots:
            if slot in proto._slots:
                Proto.remove_slot(proto, slot)
                return None
            raise PastError(f"{proto._display()} had no slot {slot!r} as of "
                            f"{view.when['when']} and has none now")
        value = _to_present(image, slots[slot])
    Proto.set_slot(proto, slot, value)
    return proto._slots[slot]


def restore_object(image: "Image", proto: Any, when: Any) -> dict[str, Any]:
    """Every slot of ``proto`` as of WHEN (slots added since are removed), in the open
    transaction; answers ``{"restored": [...], "removed": [...]}``."""
    from batos.image.proto import Proto
    oid = _oid_of(proto)
    with open_at(image, when) as view:
        slots = {k: _to_present(image, v) for k, v in _past_slots(view, oid).items()}
        stamp = view.when
    restored = []
    for name, value in slots.items():
        if name not in proto._slots or not _same(proto._slots[name], value):
            Proto.set_slot(proto, name, value)
            restored.append(name)
    removed = [name for name in list(proto._slots) if name not in slots]
    for name in removed:
        Proto.remove_slot(proto, name)
    return {"restored": restored, "removed": removed, "when": stamp}


#: the traits primitives of time travel, added to images awakened before them
PAST_PRIMITIVES: tuple[tuple[str, str, str], ...] = (
    ("historyOf:", "history_of", "the successive values of a slot: time -> value"),
    ("restore:from:", "restore_from", "set a slot to its value as of WHEN; answers the receiver"),
)


def awaken_past(image: "Image") -> None:
    """Awakening step ``past``: give ``traits`` historyOf: and restore:from:."""
    from batos.image.method import primitive
    from batos.image.proto import Proto
    from batos.image.selectors import selector_to_name
    traits = image.root["globals"].get("traits")
    if traits is None:
        return
    for selector, fn, doc in PAST_PRIMITIVES:
        name = selector_to_name(selector)
        if name not in traits._slots:
            Proto.set_slot(traits, name, primitive(selector, "batos.lang.traits:" + fn, doc))


def resolve_object(image: "Image", text: str) -> Any:
    """``counter`` → the global of that name (for command-line arguments)."""
    return image.lookup_global(str(text).strip())


__all__ = ["PastError", "PastView", "PastGlobals", "parse_when", "describe_when", "txn_kind",
           "open_at", "slot_history", "object_history", "method_history", "diff", "blame",
           "restore_slot", "restore_object", "resolve_object", "tid_id", "tid_time",
           "time_tid", "packed_time", "EXPECTED", "value_at", "when_key", "awaken_past",
           "PAST_PRIMITIVES", "image_holding"]
