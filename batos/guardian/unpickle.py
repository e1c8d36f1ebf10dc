"""Which globals an image pickle may name, on load and on write: one allow-list, both sides.

Unpickling runs code through the globals a pickle names (``REDUCE`` calls them,
``NEWOBJ`` creates their instances), so a hand-crafted record naming
``os.system`` runs a shell the moment it is loaded.  :func:`resolve_global` is
the only way ZODB finds a class for a batos image (``DB.classFactory`` and the
writer's check both use it).  It answers:

* batos's own classes that are persistent or registered value types (never a
  batos function, never ``batos.__main__``);
* persistent's and BTrees' containers, ``BTrees.Length.Length``, ``ZODB.blob.Blob``;
* plain data types whose constructors only build data from data: ``set``,
  ``frozenset``, ``complex``, ``list``, ``dict``, ``tuple``, ``int``, ``float``
  (the last ones as ``defaultdict`` factories), ``Fraction``, ``Decimal``, the
  ``datetime`` types, ``collections.deque/OrderedDict/Counter/defaultdict``;
* the catalog lexicon's pipeline elements from ``zope.index.text.lexicon``.

A path an older batos wrote resolves through the rename table
(:mod:`batos.guardian.renames`) to where the class lives today, and is vetted there.

Everything else (``os.system``, ``builtins.eval``/``getattr``, ``copyreg``
helpers, any unknown module) raises :class:`~batos.errors.UnsafeImageError`
naming ``module.name``, and the module is never imported.  Allowed classes can
still be *called* by a crafted ``REDUCE`` with arbitrary arguments: their
constructors build in-memory data only, and a prototype's message dispatch is
switched off while a record is being loaded (:func:`loading`), so a crafted
``APPEND`` or ``dict(proto)`` cannot reach a method of the image.
"""
from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from batos.errors import UnsafeImageError
from batos.guardian.renames import renamed_class

_BTREE_FAMILIES = ("IF", "II", "IO", "IU", "LF", "LL", "LO", "LQ", "OI", "OL", "OO", "OQ",
                   "OU", "QF", "QL", "QO", "QQ", "UF", "UI", "UO", "UU", "fs")
_BTREE_KINDS = ("BTree", "Bucket", "Set", "TreeSet")

#: module -> names allowed outside batos (classes only; checked again after import)
_FIXED: dict[str, frozenset[str]] = {
    "builtins": frozenset({"set", "frozenset", "complex", "list", "dict", "tuple", "int",
                           "float"}),
    "fractions": frozenset({"Fraction"}),
    "decimal": frozenset({"Decimal"}),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "collections": frozenset({"deque", "OrderedDict", "Counter", "defaultdict"}),
    "persistent.list": frozenset({"PersistentList"}),
    "persistent.mapping": frozenset({"PersistentMapping"}),
    "persistent.dict": frozenset({"PersistentDict"}),
    "BTrees.Length": frozenset({"Length"}),
    "ZODB.blob": frozenset({"Blob"}),
    "zope.index.text.lexicon": frozenset({"Splitter", "CaseNormalizer", "StopWordRemover",
                                          "StopWordAndSingleCharRemover"}),
}
for _fam in _BTREE_FAMILIES:
    _FIXED[f"BTrees.{_fam}BTree"] = frozenset(
        {*_BTREE_KINDS, *(_fam + k for k in _BTREE_KINDS)})
del _fam

_CACHE: dict[tuple[str, str], Any] = {}
_MISSING = object()


def _refuse(module: str, name: str, why: str, oid: str | None = None) -> UnsafeImageError:
    where = f" (object {oid})" if oid else ""
    return UnsafeImageError(
        f"the image names {module}.{name}{where}, which batos does not load: {why}. "
        "A batos image holds only batos objects and plain data; this record was not "
        "unpickled, so nothing in it ran", module=module, name=name, oid=oid, why=why)


#: batos's value types an image may hold (``guardian.storable.register_storable`` adds)
_VALUE_TYPES: set[type] = set()


def allow_value_type(cls: type) -> None:
    """Let images name the batos value class ``cls`` (called by ``register_storable``)."""
    _VALUE_TYPES.add(cls)


def _batos_class_ok(cls: Any) -> bool:
    from persistent import Persistent
    return isinstance(cls, type) and (issubclass(cls, Persistent) or cls in _VALUE_TYPES)


def resolve_global(module: str, name: str) -> Any:
    """The class ``module.name`` if an image may name it; else raise UnsafeImageError."""
    key = (module, name)
    found = _CACHE.get(key, _MISSING)
    if found is not _MISSING:
        return found
    if not isinstance(module, str) or not isinstance(name, str) or not name.isidentifier():
        raise _refuse(str(module), str(name), "not a plain module and class name")
    module, name = renamed_class(module, name)  # a path an older batos wrote (the table)
    is_batos = module == "batos" or module.startswith("batos.")
    if is_batos:
        if module.split(".")[-1] == "__main__" or name.startswith("_"):
            raise _refuse(module, name, "not a batos class that an image may hold")
    elif name not in _FIXED.get(module, ()):
        raise _refuse(module, name, "only batos's classes, persistent and BTrees containers "
                      "and plain data types may be named by an image")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise _refuse(module, name, f"it cannot be found ({exc})") from None
    if is_batos and not _batos_class_ok(obj):
        raise _refuse(module, name, "only batos's persistent classes and registered value "
                      "types may be named by an image, not its functions or other classes")
    if not isinstance(obj, type):
        raise _refuse(module, name, "it is not a class")
    _CACHE[key] = obj
    return obj


def class_factory(connection: Any, module: str, name: str) -> Any:
    """``DB.classFactory`` for batos images (ZODB's signature)."""
    try:
        return resolve_global(module, name)
    except UnsafeImageError as exc:
        oid = getattr(connection, "_batos_loading_oid", None)
        if oid and not exc.details.get("oid"):
            raise _refuse(module, name, exc.details["why"], oid) from None
        raise


def allowed_global(obj: Any) -> bool:
    """Whether the class ``obj`` may be written as a global: loading would find it again."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        return False
    try:
        return resolve_global(module, name) is obj
    except UnsafeImageError:
        return False


# --- while a record is unpickled, prototypes answer no messages ---------------------

_STATE = threading.local()


def is_loading() -> bool:
    """True while this thread unpickles an image record (or sets an object's state)."""
    return getattr(_STATE, "depth", 0) > 0


@contextmanager
def loading() -> Iterator[None]:
    """Mark this thread as unpickling (nestable)."""
    _STATE.depth = getattr(_STATE, "depth", 0) + 1
    try:
        yield
    finally:
        _STATE.depth -= 1


# --- ZODB's own unrestricted unpicklers -------------------------------------------------

_HARDENED = False


def harden_zodb() -> None:
    """Route ZODB's helper unpicklers through :func:`resolve_global` in this process.

    ``ZODB.utils.get_pickle_metadata`` (used by ``fsrefs``, i.e. ``image verify``)
    unpickles with no find_global, and conflict resolution (``undo``) imports any
    module a record names; both would run a hostile record.
    """
    global _HARDENED
    if _HARDENED:
        return
    import ZODB.ConflictResolution as cr
    from ZODB._compat import Unpickler

    def find_global(*args: Any) -> Any:
        if len(args) != 2:
            raise cr.BadClassName(*args)
        return resolve_global(*args)

    cr.find_global = find_global
    Unpickler.find_global = staticmethod(resolve_global)
    _HARDENED = True


__all__ = ["resolve_global", "class_factory", "allowed_global", "is_loading", "loading",
           "harden_zodb"]
