"""``batos image upgrade``: rewrite an older image's module paths, once, in place.

An image names classes (``batos.llm.genlog.GenerationRecord``) and primitive bodies
(``batos.image.primitives:clone``) by module path. Reading resolves old paths through
the rename table (:mod:`batos.guardian.renames`); this module makes the file itself
current: one storage transaction, with a note, that

* rewrites every class reference (a record's class, the class in each persistent
  reference, any global inside a state) with zodbupdate's ``ObjectRenamer``, its class
  lookup routed through the guardian's restricted loader (zodbupdate's own imports
  anything a record names);
* rewrites the ``module:function`` source of primitive Methods through the table;
* stores :data:`~batos.guardian.renames.FORMAT` as ``root['format']``.

It runs on every writable open before the database is opened (``Image.__init__``) and
does nothing when ``root['format']`` is current, so it is idempotent; a read-only open
never writes.
"""
from __future__ import annotations

import contextlib
import io
import pickle
import pickletools
from dataclasses import dataclass, field
from typing import Any, Iterator

from batos.guardian.renames import FORMAT, MODULES, class_renames, renamed_primitive

_ROOT_OID = b"\0" * 8
_METHOD = ("batos.image.method", "Method")
_MAPPING = ("persistent.mapping", "PersistentMapping")


@dataclass
class UpgradeReport:
    """What one upgrade did."""

    old_format: int
    new_format: int = FORMAT
    records: int = 0                      # records rewritten
    classes: dict[str, str] = field(default_factory=dict)     # old path -> new path
    primitives: dict[str, str] = field(default_factory=dict)  # old ref -> new ref

    def note(self) -> str:
        """The transaction note."""
        return (f"image upgrade: format {self.old_format} -> {self.new_format} "
                f"({self.records} records; {len(self.classes)} class paths, "
                f"{len(self.primitives)} primitive references renamed)")


# --- reading without a database ---------------------------------------------------------

class _RefUnpickler(pickle.Unpickler):
    """Unpickles a record's state with persistent references left as they are and
    classes found only through the guardian's allow-list."""

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102
        return pid

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        from batos.guardian.unpickle import resolve_global
        return resolve_global(module, name)


def stored_format(storage: Any) -> int | None:
    """``root['format']`` of the image in ``storage`` (1 when it has none); None when it
    is not an awakened batos image (no root record yet, or no ``globals``)."""
    from ZODB.POSException import POSKeyError
    try:
        data, _ = storage.load(_ROOT_OID, "")
    except POSKeyError:
        return None
    from batos.guardian.unpickle import loading
    with loading():
        unpickler = _RefUnpickler(io.BytesIO(data))
        unpickler.load()              # the class
        state = unpickler.load()
    root = state.get("data", {}) if isinstance(state, dict) else {}
    if "globals" not in root:
        return None  # not an awakened batos image: nothing to upgrade (or to touch)
    value = root.get("format", 1)
    return value if isinstance(value, int) else 1


def referenced_names(data: bytes) -> tuple[set[str], set[str]]:
    """``(globals, primitive references)`` named by one record (both of its pickles),
    found by walking the opcodes: nothing is unpickled."""
    names: set[str] = set()
    strings: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        for op, arg, _ in pickletools.genops(stream):
            if op.name == "GLOBAL":
                names.add(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.add(".".join(strings[-2:]))
            elif isinstance(arg, str) and "UNICODE" in op.name:
                strings.append(arg)
    primitives = {s for s in strings if ":" in s and s.split(":", 1)[0] in MODULES}
    return names, primitives


def old_paths(storage: Any) -> set[str]:
    """Every class path or primitive reference in the current records of ``storage``
    that the rename table says has moved (empty for an upgraded image)."""
    old: set[str] = set()
    classes = {f"{m}.{n}" for m, n in class_renames()}
    for _, _, data in _records(storage):
        names, primitives = referenced_names(data)
        old |= {n for n in names if n in classes or n.rpartition(".")[0] in MODULES}
        old |= primitives
    return old


def _records(storage: Any) -> Iterator[tuple[bytes, bytes, bytes]]:
    from zodbupdate.update import Updater
    for oid, serial, stream in Updater(storage).records:
        yield oid, serial, stream.getvalue()


# --- the upgrade ---------------------------------------------------------------------------

@contextlib.contextmanager
def _restricted_zodbupdate() -> Iterator[None]:
    """zodbupdate looks classes up with ``ZODB.broken.find_global``, which imports any
    module a record names; route it through the guardian's allow-list for the upgrade."""
    import zodbupdate.serialize as zs

    from batos.guardian.unpickle import loading, resolve_global

    def find_global(module: str, name: str, Broken: Any = None) -> Any:  # noqa: N803
        return resolve_global(module, name)

    original = zs.find_global
    zs.find_global = find_global
    try:
        with loading():
            yield
    finally:
        zs.find_global = original


def upgrade_storage(storage: Any) -> UpgradeReport | None:
    """Bring the image in ``storage`` (open, writable, no database on it yet) to
    :data:`FORMAT` in one transaction; None when it is current (or new)."""
    old_format = stored_format(storage)
    if old_format is None or old_format >= FORMAT:
        return None
    from ZODB.Connection import TransactionMetaData
    from zodbupdate.serialize import ObjectRenamer

    report = UpgradeReport(old_format)
    seen: set[tuple[str, str]] = set()
    for _, _, data in _records(storage):
        for path in referenced_names(data)[0]:
            module, _, name = path.rpartition(".")
            seen.add((module, name))
    renames = class_renames(seen)
    current: dict[str, bytes] = {}

    def method_state(state: Any) -> bool:
        # Methods are immutable to everyone, batos included: the upgrade is the one
        # writer of a stored Method, and it rewrites the record's state directly.
        if not isinstance(state, dict) or state.get("language") != "primitive":
            return False
        new = renamed_primitive(state.get("source", ""))
        if new == state.get("source"):
            return False
        report.primitives[state["source"]] = new
        state["source"] = new
        return True

    def root_state(state: Any) -> bool:
        if current.get("oid") != _ROOT_OID or not isinstance(state, dict):
            return False
        state.setdefault("data", {})["format"] = FORMAT
        return True

    renamer = ObjectRenamer(renames=dict(renames), decoders={_METHOD: [method_state],
                                                            _MAPPING: [root_state]},
                            pickle_protocol=3, encoding=None)
    rewritten: list[tuple[bytes, bytes, bytes]] = []
    with _restricted_zodbupdate():
        for oid, serial, data in _records(storage):
            current["oid"] = oid
            new = renamer.rename(io.BytesIO(data))
            if new is not None:
                rewritten.append((oid, serial, new.getvalue()))
    report.records = len(rewritten)
    report.classes = {f"{a}.{b}": f"{c}.{d}"
                      for (a, b), (c, d) in renamer.get_rules(explicit=True).items()
                      if (a, b) in seen}
    txn = TransactionMetaData(user="batos", description=report.note())
    storage.tpc_begin(txn)
    try:
        for oid, serial, data in rewritten:
            storage.store(oid, serial, data, "", txn)
        storage.tpc_vote(txn)
        storage.tpc_finish(txn)
    except BaseException:
        storage.tpc_abort(txn)
        raise
    return report


__all__ = ["UpgradeReport", "upgrade_storage", "stored_format", "old_paths",
           "referenced_names"]
