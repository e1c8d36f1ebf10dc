"""The image's timeline: transaction ids and times, WHEN parsing, transaction records
and kinds, and the revisions of one object read straight off ZODB's storage.

The layer under :mod:`batos.image.past`: ZODB's ``TimeStamp`` for tid ↔ time, the
transaction headers of a FileStorage indexed once per process (``_TxnIndex``) so a
transaction is found without ZODB's linear ``iterator(start=)`` search, and one walk down
an object's back-chain of data records (what ``storage.history`` walks) decoded with the
image connection's guarded reader.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
import time
import weakref
from typing import Any

from ZODB.TimeStamp import TimeStamp
from ZODB.utils import p64, u64, z64

from batos.errors import BatosError

#: an open :class:`batos.image.image.Image` (named, not imported: it imports this module)
Image = Any



class PastError(BatosError):
    """A WHEN that names no moment of this image's kept history."""


# --- tids, ids, times --------------------------------------------------------------------

def tid_id(tid: bytes) -> str:
    """The transaction id as ``batos image history`` prints it (base64 of the tid)."""
    return binascii.b2a_base64(tid, newline=False).decode("ascii")


def tid_time(tid: bytes) -> float:
    """The epoch time of a tid."""
    return TimeStamp(tid).timeTime()


def time_tid(t: float) -> bytes:
    """The (greatest) tid of epoch time ``t``."""
    g = time.gmtime(t)
    return TimeStamp(*g[:5], g[5] + (t % 1.0)).raw()


_SECONDS: dict[int, str] = {}


def _local(t: float) -> str:
    """Local time to the second (remembered per second: commits come in bursts)."""
    second = int(t)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) > 65536:
            _SECONDS.clear()
        text = _SECONDS[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
    return text


def _text(b: Any) -> str:
    return (b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b or "")).strip()


_RUN = re.compile(r"^(run |batos run|migration)")


def txn_kind(note: str) -> str:
    """What kind of act a transaction note records: human (a statement, eval, send),
    generation, migration (``batos run``), heartbeat, upgrade, awakening, undo, pack,
    restore or other."""
    n = (note or "").strip()
    if n in ("initial database creation", "Prototypal Awakening") or n.startswith("awakening"):
        return "awakening"
    if n.startswith("image upgrade"):
        return "upgrade"
    if _RUN.match(n):
        return "migration"
    if n.startswith("heartbeat"):
        return "heartbeat"
    if n.startswith("undo "):
        return "undo"
    if n.startswith("pack:"):
        return "pack"
    if n.startswith("restore"):
        return "restore"
    if n.startswith(("record failure", "record generations", "generat")):
        return "generation"
    return "human" if n else "other"


_KINDS: dict[str, str] = {}


def _record(tid: bytes, t: float | None, note: Any, user: Any) -> dict[str, Any]:
    t = tid_time(tid) if t is None else t
    note = _text(note)
    kind = _KINDS.get(note)
    if kind is None:
        kind = txn_kind(note)
        if len(_KINDS) < 4096:
            _KINDS[note] = kind
    return {"id": binascii.b2a_base64(tid, newline=False).decode("ascii"), "tid": tid.hex(),
            "time": t, "when": _local(t), "note": note, "user": _text(user), "kind": kind}


class _TxnIndex:
    """tid → file position of every transaction of a FileStorage, built by one scan of
    the transaction headers the first time it is needed and extended as the file grows
    (rebuilt after a pack): what lets a transaction be found without ZODB's linear
    ``iterator(start=)`` search."""

    def __init__(self, storage: Any) -> None:
        self.storage = weakref.proxy(storage)
        self.tids: list[bytes] = []
        self.pos: list[int] = []
        self.end = 4
        self._file: Any = None

    def refresh(self) -> "_TxnIndex":
        from ZODB.FileStorage.format import TRANS_HDR_LEN, TxnHeaderFromString
        storage = self.storage
        if storage._pos == self.end and storage._file is self._file:
            return self  # nothing committed (nor packed) since the last look
        with storage._lock:
            end = storage._pos
            f = self._file = storage._file
            if self.pos and (end < self.end or _read_at(f, self.pos[-1], 8) != self.tids[-1]):
                self.tids, self.pos, self.end = [], [], 4  # packed: positions moved
            pos = self.end
            tids, poss = self.tids, self.pos
            while pos < end:
                f.seek(pos)
                h = TxnHeaderFromString(f.read(TRANS_HDR_LEN))
                if h.status != "u":
                    tids.append(h.tid)
                    poss.append(pos)
                pos += h.tlen + 8
            self.end = pos
        return self

    def at_or_before(self, tid: bytes) -> int | None:
        """The index of the last transaction at or before ``tid``."""
        import bisect
        i = bisect.bisect_right(self.tids, tid) - 1
        return i if i >= 0 else None

    def header(self, i: int) -> dict[str, Any]:
        storage = self.storage
        with storage._lock:
            th = storage._read_txn_header(self.pos[i])
        return _record(th.tid, None, th.descr, th.user)


def _read_at(f: Any, pos: int, n: int) -> bytes:
    f.seek(pos)
    return f.read(n)


_INDEXES: "weakref.WeakKeyDictionary[Any, _TxnIndex]" = weakref.WeakKeyDictionary()


def _txn_index(image: "Image") -> _TxnIndex | None:
    storage = image.storage
    index = _INDEXES.get(storage)
    if index is None:
        if not all(hasattr(storage, a) for a in ("_pos", "_file", "_lock", "_read_txn_header")):
            return None
        index = _INDEXES[storage] = _TxnIndex(storage)
    return index.refresh()


def describe_when(image: "Image", tid: bytes) -> dict[str, Any]:
    """The transaction record of ``tid`` (the last transaction at or before it)."""
    index = _txn_index(image)
    if index is not None:
        i = index.at_or_before(tid)
        return index.header(i) if i is not None else _record(tid, None, "", "")
    for entry in image.db.undoLog(0, 10_000):
        etid = base64.decodebytes(entry["id"] if isinstance(entry["id"], bytes)
                                  else entry["id"].encode())[:8]
        if etid <= tid:
            return _record(etid, entry.get("time"), entry.get("description"),
                           entry.get("user_name"))
    return _record(tid, None, "", "")


def _iterate(image: "Image", start: bytes, stop: bytes) -> Any:
    """``storage.iterator(start, stop)``, starting at the indexed position of ``start``."""
    index = _txn_index(image)
    if index is None:
        return image.storage.iterator(start, stop)
    import bisect
    i = bisect.bisect_left(index.tids, start)
    if i >= len(index.tids):
        return iter(())
    from ZODB.FileStorage.FileStorage import FileIterator
    return FileIterator(image.storage._file_name, index.tids[i], stop, pos=index.pos[i])


# --- WHEN -------------------------------------------------------------------------------

_REL = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|week|weeks)$")
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
         "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
EXPECTED = ("a transaction id as `batos image history` prints it (e.g. BA1uspyuoiI=), "
            "a 16-digit hex tid, an ISO time (2026-12-02 16:50 or 2026-12-02T16:50:00), "
            "or a relative time (-30s, -10m, -2h, -3d, -1w, yesterday, now)")


def _last_tid(image: "Image") -> bytes:
    return image.storage.lastTransaction()


def _first_tid(image: "Image") -> bytes:
    index = _txn_index(image)
    if index is not None:
        return index.tids[0] if index.tids else z64
    for txn in image.storage.iterator():
        return txn.tid
    return z64


def packed_time(image: "Image") -> float | None:
    """When history was last packed away (the note ``pack`` leaves in the root)."""
    packed = image.root.get("packed")
    try:
        return float(packed["time"]) if packed is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def _check_kept(image: "Image", tid: bytes, text: str) -> bytes:
    packed = packed_time(image)
    if packed is not None and tid_time(tid) < packed:
        raise PastError(f"{text!r} ({_local(tid_time(tid))}) is before the last pack: history "
                        f"before {_local(packed)} was packed away (`batos image pack`) and is "
                        "gone")
    first = _first_tid(image)
    if tid < first:
        raise PastError(f"{text!r} ({_local(tid_time(tid))}) is before this image existed "
                        f"(its first transaction is {_local(tid_time(first))})")
    return min(tid, _last_tid(image))


def parse_when(text: Any, image: "Image") -> bytes:
    """WHEN → the tid of that moment (a tid, an id, an ISO time or a relative time).

    PastError says what was expected, or that the moment is before the last pack."""
    if isinstance(text, bytes) and len(text) == 8:
        return _check_kept(image, text, tid_id(text))
    s = str(text or "").strip()
    if not s:
        raise PastError(f"empty WHEN: expected {EXPECTED}")
    low = s.lower()
    now = time.time()
    if low == "now":
        return _last_tid(image)
    if low == "yesterday":
        return _check_kept(image, time_tid(now - 86400), s)
    m = _REL.match(low)
    if m:
        return _check_kept(image, time_tid(now - float(m.group(1)) * _UNIT[m.group(2)]), s)
    if re.fullmatch(r"[0-9a-fA-F]{16}", s):
        return _check_kept(image, bytes.fromhex(s), s)
    if re.fullmatch(r"[A-Za-z0-9+/]{11}=", s):
        try:
            tid = base64.decodebytes(s.encode("ascii"))
        except (binascii.Error, ValueError):
            tid = b""
        if len(tid) == 8:
            return _check_kept(image, tid, s)
    try:
        moment = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise PastError(f"cannot read WHEN {s!r}: expected {EXPECTED}") from None
    t = moment.timestamp() if moment.tzinfo else time.mktime(moment.timetuple()) \
        + moment.microsecond / 1e6
    if t > now + 1:
        raise PastError(f"WHEN {s!r} is in the future; the image has no history there")
    # a moment written to the second (or ms, minute, day) includes all of that unit, as
    # `batos image history` and historyOf: show the transactions made during it
    t_end = t + _granularity(s) - 1e-6
    if t_end >= now:
        return _check_kept(image, min(time_tid(now), _last_tid(image)), s)
    return _check_kept(image, time_tid(t_end), s)


def _granularity(s: str) -> float:
    m = re.search(r"\d[T ](\d\d)(:\d\d)?(:\d\d)?(\.\d+)?", s)
    if not m:
        return 86400.0
    if m.group(4):
        return 10.0 ** -(len(m.group(4)) - 1)
    return 1.0 if m.group(3) else 60.0 if m.group(2) else 3600.0


def when_key(t: float) -> str:
    """A moment as historyOf: shows it (local time to the millisecond): a valid WHEN."""
    return f"{_local(t)}.{int((t % 1.0) * 1000):03d}"


def _as_tid(image: "Image", when: Any) -> bytes:
    return parse_when(when, image)


# --- revisions of one object -------------------------------------------------------------

def _reader(image: "Image") -> Any:
    return image.connection._reader


def _revisions(image: "Image", oid: bytes, limit: int | None) -> list[dict[str, Any]]:
    """``storage.history`` of one object, newest first (at most ``limit``)."""
    from ZODB.POSException import POSKeyError
    try:
        return list(image.storage.history(oid, size=limit or 1 << 30) or ())
    except POSKeyError:
        return []


_SAME = object()


def _decode_all(image: "Image", datas: list[Any]) -> list[Any]:
    """The states of many records of one object, in one guarded unpickling pass (``_SAME``
    where a record repeats the one before). The list holds every state, so the ghosts
    they refer to stay in the cache and later records reuse them."""
    from io import BytesIO

    from ZODB.serialize import PersistentUnpickler

    from batos.guardian.unpickle import loading
    reader = _reader(image)
    factory, conn, resolve = reader._factory, reader._conn, reader._persistent_load
    classes: dict[tuple[str, str], Any] = {}
    refs: dict[Any, Any] = {}

    def find_global(module: str, name: str) -> Any:
        # the image's vetted class factory, asked once per class (it answers or raises)
        key = (module, name)
        found = classes.get(key)
        if found is None:
            found = classes[key] = factory(conn, module, name)
        return found

    def persistent_load(ref: Any) -> Any:
        # a reference means the same object of this connection every time it recurs
        try:
            return refs[ref]
        except KeyError:
            found = refs[ref] = resolve(ref)
            return found
        except TypeError:  # an unhashable reference form
            return resolve(ref)

    out: list[Any] = []
    last: Any = None
    with loading():
        for data in datas:
            if data is not None and data == last:
                out.append(_SAME)
                continue
            last = data
            if not data:
                out.append(None)
                continue
            try:  # ObjectReader.getState, without entering loading() per record
                unpickler = PersistentUnpickler(find_global, persistent_load, BytesIO(data))
                unpickler.load()  # the class (its memo serves the state: same unpickler)
                out.append(unpickler.load())
            except Exception:  # noqa: BLE001 - the guarded reader says what is wrong
                out.append(reader.getState(data))
    return out


def _walk(image: "Image", oid: bytes, limit: int | None) -> list[tuple[dict[str, Any], Any]]:
    """The revisions of one object, newest first, each (history record, pickle or None):
    one walk down FileStorage's back-chain of data records (``storage.history`` does
    the same walk), instead of a ``loadSerial`` per revision (which walks it again)."""
    storage = image.storage
    size = limit or 1 << 30
    if not all(hasattr(storage, a) for a in ("_read_data_header", "_read_txn_header",
                                            "_loadBack_impl", "_lookup_pos", "_lock")):
        out = []
        for rev in _revisions(image, oid, limit):
            try:
                out.append((rev, storage.loadSerial(oid, rev["tid"])))
            except Exception:  # noqa: BLE001 - a deleted/uncreated revision
                out.append((rev, None))
        return out
    from ZODB.POSException import POSKeyError
    out = []
    with storage._lock:
        try:
            pos = storage._lookup_pos(oid)
        except POSKeyError:
            return []
        while pos and len(out) < size:
            h = storage._read_data_header(pos)
            if h.plen:
                data = storage._file.read(h.plen)
            elif h.back:
                data = storage._loadBack_impl(oid, h.back)[0]
            else:
                data = None
            th = storage._read_txn_header(h.tloc)
            out.append(({"tid": h.tid, "time": None, "user_name": th.user,
                         "description": th.descr, "tloc": h.tloc}, data))
            pos = h.prev
    return out


def _load_before(image: "Image", oid: bytes, tid: bytes) -> tuple[bytes | None, Any]:
    """The record of ``oid`` as of ``tid`` (inclusive): (data, state) or (None, None)."""
    try:
        found = image.storage.loadBefore(oid, p64(u64(tid) + 1))
    except Exception:  # noqa: BLE001 - POSKeyError: no such object then
        return None, None
    if not found or found[0] is None:
        return None, None
    return found[0], _reader(image).getState(found[0])


def _class_of(data: bytes) -> str:
    from ZODB.utils import get_pickle_metadata
    try:
        mod, name = get_pickle_metadata(data)
        return f"{mod}.{name}"
    except Exception:  # noqa: BLE001
        return "?"


def _detached(like: Any, state: Any) -> Any:
    """A copy of the stored container ``like`` holding ``state`` (a past revision's
    contents), attached to no connection; ``like`` itself when that cannot be made."""
    if state is None:
        return like
    try:
        copy = type(like).__new__(type(like))
        copy.__setstate__(state)
        return copy
    except Exception:  # noqa: BLE001 - an odd container: its plain data
        return _plain(state)


def _plain(state: Any) -> Any:
    if isinstance(state, dict) and "data" in state and len(state) <= 2:
        return state["data"]
    return state


__all__ = ["PastError", "EXPECTED", "tid_id", "tid_time", "time_tid", "txn_kind",
           "describe_when", "packed_time", "parse_when", "when_key"]
