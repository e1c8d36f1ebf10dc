"""Opening the image's FileStorage (with blobs) safely.

* a file that is not a FileStorage is refused before ZODB touches it;
* a lock held by another process becomes :class:`ImageLockedError` (exit 3);
* a stale lock left by a crashed process does not block: zc.lockfile uses
  ``fcntl`` locks, which the kernel releases when the holder dies.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping

from batos.errors import ImageError, ImageLockedError, NotAnImageError

# FileStorage files start with one of these magics (FS21 for Python 3 pickles).
_MAGICS = (b"FS21", b"FS30")


def default_image_path() -> Path:
    """``$BATOS_IMAGE``, else ``./live_image.fs``."""
    return Path(os.environ.get("BATOS_IMAGE") or "live_image.fs")


def blob_dir_for(path: Path) -> Path:
    return Path(str(path) + ".blobs")


def check_image_file(path: Path) -> bool:
    """True when ``path`` exists as a FileStorage; False when missing or empty.

    Raises :class:`NotAnImageError` (and touches nothing) for anything else.
    """
    if not path.exists():
        return False
    if path.is_dir():
        raise NotAnImageError(f"{path} is a directory, not a batos image (.fs file)")
    size = path.stat().st_size
    if size == 0:
        return False
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic not in _MAGICS:
        raise NotAnImageError(
            f"{path} is not a batos image (not a ZODB FileStorage: it starts with {magic!r}); "
            "the file was left untouched")
    return True


def shared_address(path: Any) -> str | None:
    """How messages name an image that other processes share: ``zeo://host:port`` (a
    `batos serve`), ``postgresql://...`` (RelStorage; password hidden); None for a file."""
    from batos.image.relstore import display, pg_address
    from batos.image.zeo import address_text, zeo_address
    addr = zeo_address(path)
    if addr is not None:
        return address_text(addr)
    uri = pg_address(path)
    return display(uri) if uri is not None else None


def open_storage(path: Path, *, read_only: bool = False):
    """Open (or create) ``path`` as a FileStorage with blobs in ``<path>.blobs/``;
    a ``zeo://host:port`` address opens a ZEO client storage instead (batos.image.zeo),
    a ``postgresql://...`` one a RelStorage (batos.image.relstore)."""
    from batos.image.relstore import open_relstorage, pg_address
    from batos.image.zeo import open_client_storage, zeo_address
    addr = zeo_address(path)
    if addr is not None:
        return open_client_storage(addr, read_only=read_only)
    uri = pg_address(path)
    if uri is not None:
        return open_relstorage(uri, read_only=read_only)
    from ZODB.FileStorage import FileStorage
    from ZODB.FileStorage.FileStorage import FileStorageFormatError
    import zc.lockfile

    exists = check_image_file(path)
    if read_only and not exists:
        raise ImageError(f"image {path} does not exist (cannot create it with --read-only)")
    blobs = blob_dir_for(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return FileStorage(str(path), read_only=read_only, create=False,
                           blob_dir=str(blobs) if (blobs.exists() or not read_only) else None)
    except zc.lockfile.LockError:
        raise ImageLockedError(
            f"image {path} is in use by another batos process; close it there, or open it "
            "with --read-only to look without changing it",
            path=str(path)) from None
    except FileStorageFormatError as exc:
        raise NotAnImageError(f"{path} is not a readable batos image: {exc}") from None
    except PermissionError as exc:
        raise ImageError(f"cannot open image {path}: {exc.strerror}") from None


# --- the image's database: every record written is checked, every class read is vetted --

#: default cap on one committed record (``BATOS_MAX_RECORD_MB`` or the image option
#: ``max_record_mb``); blobs are not records and are not capped
DEFAULT_MAX_RECORD_MB = 64.0


def max_record_bytes(option: float | None = None, *,
                     options: Mapping[str, Any] | None = None) -> int:
    """The per-record cap in bytes: the ``max_record_mb`` setting (``option``, else
    ``options['max_record_mb']``, else ``$BATOS_MAX_RECORD_MB``; :mod:`batos.settings`),
    else 64."""
    from batos.errors import BatosError
    from batos.settings import setting
    try:
        mb = setting("max_record_mb", flag=option, options=options,
                     default=DEFAULT_MAX_RECORD_MB)
    except BatosError as exc:
        raise ImageError(str(exc)) from None
    if mb <= 0:
        raise ImageError("the record size cap must be positive")
    return int(mb * 1024 * 1024)


def _make_db_classes() -> tuple[type, type, type]:
    """Build the guarded writer/reader/connection/DB classes (ZODB imported lazily)."""
    import ZODB
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping
    from ZODB.Connection import Connection
    from ZODB.POSException import POSError, StateLoadError
    from ZODB.serialize import ObjectReader, ObjectWriter
    from ZODB.utils import oid_repr

    from batos.errors import StorageRejected, UnsafeImageError
    from batos.guardian.storable import _WRITABLE, describe, writable
    from batos.guardian.unpickle import allowed_global, class_factory, harden_zodb, loading
    from batos.image.method import Method as method_class
    from batos.image.containers import PersistentSet

    harden_zodb()

    class _QuietRefusals(logging.Filter):
        """ZODB logs a traceback for every record it fails to load; a refused record is
        reported once, by the UnsafeImageError/ImageError that reaches the user."""

        def filter(self, record: logging.LogRecord) -> bool:
            exc = record.exc_info[1] if record.exc_info else None
            return not isinstance(exc, ImageError)

    logging.getLogger("ZODB.Connection").addFilter(_QuietRefusals())
    native = frozenset({type(None), bool, int, float, str, bytes, tuple, list, dict})
    global_ok: dict[Any, bool] = {}
    class_types = frozenset({type})

    def _reject(obj: Any, holder: Any) -> StorageRejected:
        where = f" (inside {type(holder).__qualname__} {oid_repr(holder._p_oid)})" \
            if holder is not None and getattr(holder, "_p_oid", None) else ""
        return StorageRejected(describe(obj) + where + "; nothing was committed",
                               type=type(obj).__qualname__)

    def _plain_to_persistent(obj: Any) -> None:
        """A plain list/dict/set held by a persistent container becomes persistent, so a
        later in-place mutation of it marks something changed (the "silent loss" fix)."""
        from batos.image.proto import persistify
        kinds = (list, dict, set, tuple)
        if isinstance(obj, PersistentList):
            data = obj.data
            for i, v in enumerate(data):
                if type(v) in kinds:
                    data[i] = persistify(v)
        elif isinstance(obj, PersistentMapping):
            data = obj.data
            for k, v in list(data.items()):
                if type(v) in kinds:
                    data[k] = persistify(v)
        elif isinstance(obj, PersistentSet):
            data = obj.data
            for v in [v for v in data if type(v) is tuple]:
                new = persistify(v)
                if new is not v:
                    data.discard(v)
                    data.add(new)

    holders = (PersistentList, PersistentMapping, PersistentSet)

    class GuardedObjectWriter(ObjectWriter):
        """ZODB's writer with the storability check on every object pickled."""

        def __init__(self, jar: Any, stack: list[Any], limit: int) -> None:
            super().__init__()
            self._jar = jar
            self._stack = stack
            self._limit = limit
            self._holder: Any = None
            self._frozen: set[int] = set()
            self._watch: Any = None   # a persistent container's own data (list/dict/set)
            self._plain = 0           # plain lists/dicts/sets seen besides it

        def persistent_id(self, obj: Any) -> Any:
            t = type(obj)
            if t in native:
                if t is str or t is bytes:
                    if len(obj) > self._limit:
                        raise StorageRejected(
                            f"a {len(obj) / 1048576:.1f} MB {t.__name__} cannot be committed: "
                            f"one record may hold at most {self._limit / 1048576:g} MB "
                            "(BATOS_MAX_RECORD_MB); nothing was committed")
                elif (t is list or t is dict) and self._watch is not None \
                        and obj is not self._watch:
                    self._plain += 1
                return None
            if t in class_types or (t not in _WRITABLE and isinstance(obj, type)):
                ok = global_ok.get(obj)
                if ok is None:
                    ok = global_ok[obj] = allowed_global(obj)
                if not ok:
                    raise _reject(obj, self._holder)
                return None
            kind = _WRITABLE.get(t) or writable(t)
            if kind == "persistent":
                if type(self._holder) is method_class:
                    self._frozen.add(id(obj))  # a Method's provenance stays as it was made
                return ObjectWriter.persistent_id(self, obj)
            if kind != "value" or (hasattr(obj, "__dict__") and any(
                    isinstance(k, str) and k.startswith("__") for k in vars(obj))):
                raise _reject(obj, self._holder)
            if t is set and self._watch is not None and obj is not self._watch:
                self._plain += 1
            return None

        def serialize(self, obj: Any) -> bytes:
            t = type(obj)
            if writable(t) != "persistent":
                raise _reject(obj, None)
            watch = isinstance(obj, holders) and id(obj) not in self._frozen
            self._holder = obj
            self._watch = obj.data if watch else None
            self._plain = 0
            try:
                p = super().serialize(obj)
                # besides the state dict, a plain list/dict/set was pickled inside a
                # persistent container: make it persistent and write the record again
                if watch and self._plain > 1:
                    _plain_to_persistent(obj)
                    self._watch = None
                    p = super().serialize(obj)
            finally:
                self._holder = self._watch = None
            if len(p) > self._limit:
                raise StorageRejected(
                    f"{t.__qualname__} {oid_repr(obj._p_oid)} would be a "
                    f"{len(p) / 1048576:.1f} MB record; one record may hold at most "
                    f"{self._limit / 1048576:g} MB (BATOS_MAX_RECORD_MB): split the data "
                    "over several objects; nothing was committed")
            return p

    class GuardedObjectReader(ObjectReader):
        """ZODB's reader, with prototype dispatch off while a record is unpickled."""

        def getGhost(self, pickle: bytes) -> Any:  # noqa: N802 (ZODB API)
            with loading():
                return super().getGhost(pickle)

        def getClassName(self, pickle: bytes) -> str:  # noqa: N802
            with loading():
                return super().getClassName(pickle)

        def _unloadable(self, exc: BaseException) -> BaseException:
            cause = exc.__cause__
            if isinstance(cause, UnsafeImageError):
                return cause
            if isinstance(exc, StateLoadError) and cause is not None:
                oid = getattr(self._conn, "_batos_loading_oid", None) or "?"
                return ImageError(f"object {oid} of the image cannot be loaded "
                                  f"({type(cause).__name__}: {cause}); it was not loaded")
            return exc

        def getState(self, pickle: bytes) -> Any:  # noqa: N802
            with loading():
                try:
                    return super().getState(pickle)
                except POSError as exc:
                    raise self._unloadable(exc) from None

        def setGhostState(self, obj: Any, pickle: bytes) -> None:  # noqa: N802
            with loading():
                try:
                    super().setGhostState(obj, pickle)
                except POSError as exc:
                    raise self._unloadable(exc) from None

    class GuardedConnection(Connection):
        """A connection whose commits go through :class:`GuardedObjectWriter`."""

        def __init__(self, db: Any, *args: Any, **kw: Any) -> None:
            super().__init__(db, *args, **kw)
            self._reader = GuardedObjectReader(self, self._cache, db.classFactory)
            self._batos_loading_oid: str | None = None

        def _store_objects(self, writer: Any, transaction: Any) -> None:
            guarded = GuardedObjectWriter(self, writer._stack, self._db.batos_max_record)
            super()._store_objects(guarded, transaction)

        def setstate(self, obj: Any) -> None:
            previous = self._batos_loading_oid
            self._batos_loading_oid = oid_repr(obj._p_oid)
            try:
                super().setstate(obj)
            finally:
                self._batos_loading_oid = previous

        def get(self, oid: bytes) -> Any:
            previous = self._batos_loading_oid
            self._batos_loading_oid = oid_repr(oid)
            try:
                return super().get(oid)
            finally:
                self._batos_loading_oid = previous

    class BatosDB(ZODB.DB):
        """A ZODB database for batos images: guarded commits, vetted classes."""

        klass = GuardedConnection
        batos_max_record = int(DEFAULT_MAX_RECORD_MB * 1024 * 1024)

        def classFactory(self, connection: Any, modulename: str, globalname: str) -> Any:  # noqa: N802
            return class_factory(connection, modulename, globalname)

    return BatosDB, GuardedConnection, GuardedObjectWriter


_DB_CLASSES: tuple[type, type, type] | None = None


def open_database(storage: Any, *, max_record_mb: float | None = None, **kw: Any) -> Any:
    """A :class:`BatosDB` on ``storage`` (every commit checked, every load vetted)."""
    global _DB_CLASSES
    if _DB_CLASSES is None:
        _DB_CLASSES = _make_db_classes()
    db = _DB_CLASSES[0](storage, **kw)
    db.batos_max_record = max_record_bytes(max_record_mb)
    return db


def __getattr__(name: str) -> Any:
    """``BatosDB``, ``GuardedConnection``, ``GuardedObjectWriter``, built on first use
    (ZODB is imported lazily)."""
    global _DB_CLASSES
    names = ("BatosDB", "GuardedConnection", "GuardedObjectWriter")
    if name in names:
        if _DB_CLASSES is None:
            _DB_CLASSES = _make_db_classes()
        return _DB_CLASSES[names.index(name)]
    raise AttributeError(name)
