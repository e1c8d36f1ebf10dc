"""The living image: one ZODB database, its globals, and transactional execution.

Every top-level action (a REPL statement, ``send``, ``eval``, a whole ``run``
script) goes through :meth:`Image.execute`: it runs under the guardian's limits,
commits with a note on success, and aborts on any error so the image stays
exactly as it was.
"""
from __future__ import annotations

import contextvars
from collections.abc import MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import transaction
from persistent.list import PersistentList

from batos.errors import BatosError, ImageError, ReadOnlyError, SlotError
from batos.guardian.renames import FORMAT
from batos.image.proto import Proto, invalidate_lookup_cache
from batos.image.storage import max_record_bytes, open_database, open_storage


_CURRENT: contextvars.ContextVar["Image | None"] = contextvars.ContextVar("batos_image", default=None)


class Globals(MutableMapping):
    """The image's global namespace (an OOBTree at ``root['globals']``).

    Binding an unnamed prototype to a global also gives it that name for printing.
    """

    def __init__(self, tree: Any) -> None:
        self._tree = tree

    def __getitem__(self, key: str) -> Any:
        return self._tree[str(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        key = str(key)
        if not key or not (key[0].isalpha() or key[0] == "_"):
            raise SlotError(f"invalid global name {key!r}")
        from batos.guardian import check_storable
        from batos.image.proto import persistify
        value = persistify(value)
        check_storable(value)  # early error; the commit's pickler is the guarantee
        if isinstance(value, Proto) and not value.__dict__.get("_name"):
            value.__dict__["_name"] = key
            value._p_changed = True
        self._tree[key] = value

    def __delitem__(self, key: str) -> None:
        del self._tree[str(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tree.keys())

    def __len__(self) -> int:
        return len(self._tree)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._tree

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._tree.get(str(key), default)


class _CacheSynch:
    """Drops cached method bindings after every transaction boundary."""

    def newTransaction(self, txn: Any) -> None:  # noqa: N802 (ZODB API)
        pass

    def beforeCompletion(self, txn: Any) -> None:  # noqa: N802
        pass

    def afterCompletion(self, txn: Any) -> None:  # noqa: N802
        if getattr(txn, "status", None) != "Committed":
            invalidate_lookup_cache()


#: how many times a statement that hits a ConflictError runs (``BATOS_CONFLICT_ATTEMPTS``)
DEFAULT_CONFLICT_ATTEMPTS = 20


def conflict_attempts() -> int:
    import os
    try:
        return max(1, int(os.environ.get("BATOS_CONFLICT_ATTEMPTS") or DEFAULT_CONFLICT_ATTEMPTS))
    except ValueError:
        return DEFAULT_CONFLICT_ATTEMPTS


def _strict_sync() -> bool:
    import os
    return os.environ.get("BATOS_ZEO_SYNC", "") not in ("", "0")


def _is_disconnect(exc: BaseException) -> bool:
    """A ZEO client lost its server (checked without importing ZEO for file images)."""
    import sys
    exceptions = sys.modules.get("ZEO.Exceptions")
    seen = 0
    while exceptions is not None and exc is not None and seen < 8:  # also when wrapped
        if isinstance(exc, exceptions.ClientDisconnected):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _is_conflict(exc: BaseException | None) -> bool:
    """A ConflictError, also when a statement's error wraps one."""
    from ZODB.POSException import ConflictError
    for _ in range(8):
        if exc is None:
            return False
        if isinstance(exc, ConflictError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False




class WriteConflictError(BatosError):
    """A statement kept conflicting with other clients' commits; it was rolled back."""


def _drop_caches_on_invalidations(connection: Any) -> None:
    """When the connection syncs (a new transaction) and another client changed objects,
    batos's lookup caches go too: a method defined elsewhere is found by the next lookup."""
    adapter = connection._storage
    poll = getattr(adapter, "poll_invalidations", None)
    if poll is None:
        return

    def poll_invalidations() -> Any:
        changed = poll()
        if changed is None or changed:
            invalidate_lookup_cache()
        return changed

    adapter.poll_invalidations = poll_invalidations


class Image:
    """An open batos image. Create with :func:`batos.open_image`."""

    def __init__(self, path: str | Path, *, read_only: bool = False, adopt: bool = False) -> None:
        from BTrees.OOBTree import OOBTree

        from batos.image.storage import shared_address
        #: ``zeo://host:port`` (a client of a batos server) or ``postgresql://...``
        #: (RelStorage, password hidden) when other processes share this image, else None
        self.address = shared_address(path)
        self.path = Path(path)
        self.read_only = read_only
        self.storage = open_storage(self.path, read_only=read_only)
        self.upgraded = None  # the UpgradeReport when this open rewrote old module paths
        try:
            # old module paths → today's, once (read-only: the table; a server: its own open)
            if not read_only and self.address is None:
                from batos.image.upgrade import upgrade_storage
                self.upgraded = upgrade_storage(self.storage)
            self.db = open_database(self.storage, cache_size=50_000)
        except Exception:
            self.storage.close()
            raise
        self._owns_db = True
        self._connect()
        self.options: dict[str, Any] = {}
        try:  # a record that cannot be loaded (or is refused) must not leave the file locked
            if "globals" not in self.root:
                self._refuse_foreign(adopt)
                if read_only:
                    self.close()
                    raise ImageError(f"{self.path} is an empty ZODB database, not an awakened "
                                     "batos image; open it without --read-only to awaken it")
                from batos.image import awakening
                self.root["globals"] = OOBTree()
                self.root["awakening"] = PersistentList()
                self.root["format"] = FORMAT  # module paths as of this batos
                awakening.awaken(self)
                self.commit("Prototypal Awakening")
            elif not read_only:
                from batos.image import awakening
                if awakening.missing_steps(self):
                    awakening.awaken(self)
                    self.commit("awakening: upgrade")
            self.globals = Globals(self.root["globals"])
            if self.address is not None:  # `batos serve --model-server URL` advertises it
                from batos.image.zeo import served_options
                self.options.update(served_options(self.root))
        except BaseException:
            self.close()
            raise

    def _connect(self) -> None:
        """A connection of this image's own, with its own transaction manager."""
        self.tm = transaction.TransactionManager()
        self.tm.registerSynch(_CacheSynch())
        self.connection = self.db.open(transaction_manager=self.tm)
        _drop_caches_on_invalidations(self.connection)
        self.root = self.connection.root()
        self._closed = False
        self.workspace: dict[str, Any] = {}
        _OPEN[id(self.connection)] = self

    def sibling(self) -> "Image":
        """A second connection to this open image's database, with its own transactions
        (a background worker's: the REPL's idle heartbeat). Its options are this image's,
        without the memory cap (the cap is process-wide: a statement's); closing it
        leaves the database open."""
        twin = object.__new__(type(self))
        twin.address, twin.path, twin.read_only = self.address, self.path, self.read_only
        twin.storage, twin.db, twin.upgraded = self.storage, self.db, None
        twin._owns_db = False
        twin._connect()
        twin.options = {k: v for k, v in self.options.items() if k != "memory_mb"}
        twin.options["memory_mb"] = 0
        twin.globals = Globals(twin.root["globals"])
        return twin

    def _refuse_foreign(self, adopt: bool) -> None:
        """A ZODB file whose root holds another application's data is not written into
        (batos would add its globals beside them) unless ``adopt`` asks for it."""
        try:
            foreign = sorted(str(k) for k in self.root.keys())
        except Exception:
            foreign = ["?"]
        if not foreign or adopt:
            return
        self.close()
        from batos.errors import NotAnImageError
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise NotAnImageError(
            f"{self.path} is a ZODB database of another application (its root holds {shown}), "
            "not a batos image; it was left untouched. To make it a batos image beside that "
            "data, open it with --adopt")

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Abort anything uncommitted and close the database (saving its index)."""
        if self._closed:
            return
        self._closed = True
        _OPEN.pop(id(self.connection), None)
        try:
            self.tm.abort()
            claims = getattr(self, "_claims_conn", None)
            if claims is not None:  # batos.image.claims
                self._claims_tm.abort()
                claims.close()
        finally:
            self.connection.close()
            if self._owns_db:
                self.db.close()

    def __enter__(self) -> "Image":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- transactions ----------------------------------------------------------------------
    def commit(self, note: str | None = None) -> None:
        """Commit the current transaction with ``note`` (recorded in the history)."""
        txn = self.tm.get()
        if note:
            txn.note(note[:2000])
        if self.read_only and self.connection._registered_objects:
            self.abort()
            raise ReadOnlyError(f"image {self.path} is open read-only; nothing was saved")
        # the storability check and the record cap run inside the commit itself, on every
        # object pickled (batos.image.storage.GuardedObjectWriter): StorageRejected aborts
        self.db.batos_max_record = max_record_bytes(options=self.options)
        try:
            txn.commit()
        except Exception as exc:
            self.abort()
            from ZODB.POSException import ReadOnlyError as ZReadOnly
            if isinstance(exc, ZReadOnly):
                raise ReadOnlyError(f"image {self.path} is open read-only; nothing was saved") from None
            raise

    def abort(self) -> None:
        """Throw away everything since the last commit."""
        self.tm.abort()
        invalidate_lookup_cache()

    def dirty(self) -> bool:
        """Whether the current transaction has changed anything."""
        return bool(self.connection._registered_objects)

    @contextmanager
    def transaction(self, note: str | None = None) -> Iterator["Image"]:
        """Commit on success, abort on any exception."""
        try:
            yield self
        except BaseException:
            self.abort()
            raise
        else:
            self.commit(note)

    def changes(self) -> list[dict[str, Any]]:
        """What the current transaction would change, per object (for ``--dry-run``)."""
        from batos.image.changes import describe_changes
        return describe_changes(self)

    # -- executing user actions --------------------------------------------------------------
    def execute(self, action: Callable[[], Any], *, note: str, save: bool = True,
                timeout: float | None | object = ...) -> Any:
        """Run ``action`` as one transaction under the guardian's limits.

        Commits with ``note`` when ``save`` (else aborts); any error aborts and re-raises.
        The limits (time, memory cap, hard deadline; the ``timeout`` and ``memory_mb``
        settings: a flag, ``options``, ``$BATOS_TIMEOUT``/``$BATOS_MEMORY_MB``) cover the
        action, the finalizers of its garbage (collected before the commit) and the
        commit while it pickles (never once it writes).  A limit that fired
        fails the statement even if the action caught it.
        """
        from ZODB.POSException import ConflictError
        attempts = conflict_attempts()
        for attempt in range(1, attempts + 1):
            try:
                try:
                    return self._execute_once(action, note=note, save=save, timeout=timeout,
                                              retrying=attempt < attempts)
                finally:
                    if self.address is not None and getattr(self, "_claimed", None):
                        from batos.image.claims import release_claims
                        release_claims(self)
            except BaseException as exc:
                if self.address is not None and _is_disconnect(exc):
                    raise self._lost_server() from None
                if not _is_conflict(exc):
                    raise
                if attempt >= attempts:
                    raise WriteConflictError(
                        f"another client kept changing the same objects: this statement "
                        f"conflicted {attempts} times and was rolled back ({exc})") from None
                import random
                import time
                time.sleep(random.uniform(0.0, min(0.25, 0.005 * 2 ** attempt)))  # then run it again
        raise AssertionError("unreachable")

    def _lost_server(self) -> ImageError:
        from batos.image.zeo import ServerUnavailableError
        self._safe_abort()
        return ServerUnavailableError(
            f"lost the connection to the batos server at {self.address}; this statement was "
            "rolled back (if the loss came while the server was finishing the commit, it may "
            "have been saved: look with `batos eval` once the server is back)")

    def _safe_abort(self) -> None:
        try:
            self.tm.abort()
        except Exception:
            pass
        invalidate_lookup_cache()

    def _execute_once(self, action: Callable[[], Any], *, note: str, save: bool,
                      timeout: float | None | object, retrying: bool = False) -> Any:
        """One attempt of :meth:`execute` (a ConflictError while ``retrying`` leaves no
        follow-up records: the statement runs again)."""
        from batos.guardian.limits import configured_memory_mb, configured_timeout, limits
        if timeout is ...:
            timeout = configured_timeout(self.options)  # flag → options → env → default
        memory_mb = configured_memory_mb(self.options)
        if self.dirty():  # start clean: nothing half-done may ride along
            self.abort()
        if self.read_only:
            self.refresh()  # see what writers committed since the last statement
        if self.address is not None:
            # a new transaction polls the invalidations other clients' commits sent (the
            # server sends them before it answers the committer, so what a client saw
            # committed is here); no extra round trip: BATOS_ZEO_SYNC=1 pings the server too
            self.tm.begin() if _strict_sync() else self.tm.abort()
        self._survivors: list[Callable[["Image"], Any]] = []
        token = _CURRENT.set(self)
        committed = False
        try:
            with limits(timeout=timeout, memory_mb=memory_mb, collect=True) as guard:
                value = action()
                if save and not self.read_only:
                    with guard.committing(self.tm.get()):
                        self.commit(note)
                    committed = True
        except BaseException as exc:
            if not committed:
                self.abort()
                if not (retrying and _is_conflict(exc)):
                    self._run_followup(exc)
            raise
        finally:
            _CURRENT.reset(token)
        if committed:
            self._survivors = []
            return value
        if save and self.read_only and self.dirty():
            self.abort()
            raise ReadOnlyError(f"image {self.path} is open read-only; this statement changed "
                                "the image, so it was rolled back")
        self.abort()
        self._run_followup(None)  # not saved (--dry-run, --no-save): its records still are
        return value

    def refresh(self) -> bool:
        """A read-only image catches up with the transactions other processes committed
        since (as a ZODB connection does at a new transaction); True when there were any."""
        if not self.read_only or self._closed or self.address is not None:
            return False  # a ZEO client hears of other commits from its server
        from batos.image.refresh import catch_up
        found = catch_up(self.storage)
        if found is None:
            return False
        tid, oids = found
        mvcc = getattr(self.db, "_mvcc_storage", None)
        if mvcc is not None:
            mvcc.invalidate(tid, oids)
        else:
            self.connection._cache.invalidate(oids)
        self.abort()  # a new transaction: the connection drops the changed objects
        return True

    def keep_if_rolled_back(self, rewrite: Callable[["Image"], Any]) -> None:
        """Have ``rewrite(image)`` run in a follow-up transaction if the running statement
        is rolled back (an error, ``--dry-run``, ``--no-save``): how a record of what
        happened in it (a generation) outlives the rollback."""
        survivors = getattr(self, "_survivors", None)
        if survivors is not None:
            survivors.append(rewrite)

    def _run_followup(self, exc: BaseException | None) -> None:
        """Write, in one transaction of their own, what a rolled-back statement must leave
        behind: the records kept with :meth:`keep_if_rolled_back`, then the error's
        ``followup`` (e.g. a failed generation)."""
        survivors, self._survivors = list(getattr(self, "_survivors", None) or ()), []
        followup = getattr(exc, "followup", None)
        if self.read_only or not (survivors or callable(followup)):
            return
        try:
            note = None
            for rewrite in survivors:
                rewrite(self)
            if callable(followup):
                note = followup(self)
            self._survivors = []
            self.commit(note if isinstance(note, str) else
                        f"record failure: {exc}"[:200] if exc is not None else
                        "record generations of a rolled-back statement")
        except Exception:
            self.abort()
        finally:
            self._survivors = []

    def evaluate(self, source: str, *, workspace: dict[str, Any] | None = None,
                 filename: str = "<input>") -> Any:
        """Evaluate BST ``source`` in this image and return its value (no commit)."""
        from batos.image.language import evaluate  # BST, installed by batos.lang
        return evaluate(self, source, workspace=self.workspace if workspace is None else workspace,
                        filename=filename)

    def print_string(self, value: Any) -> str:
        """Smalltalk printString of ``value``."""
        from batos.image.language import print_string  # installed by batos.lang
        return print_string(value)

    def lookup_global(self, name: str) -> Any:
        """A global by name; BatosError with close matches when missing."""
        try:
            return self.globals[name]
        except KeyError:
            import difflib
            close = difflib.get_close_matches(name, list(self.globals), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BatosError(f"no global named {name!r}{hint}") from None

    # -- generation claims (a shared image: batos.image.claims) ------------------------------
    def claim_generation(self, receiver: Any, selector: str) -> None:
        """Over ZEO, one client generates a missing method (:mod:`batos.image.claims`)."""
        if self.address is not None and not self.read_only:
            from batos.image.claims import claim_generation
            claim_generation(self, receiver, selector)

    # -- history (ZODB's own tools) -----------------------------------------------------------
    def info(self) -> dict[str, Any]:
        from batos.image.history import info
        data = info(self)
        if self.address is not None:  # the file and its blobs are the server's
            data.update(path=self.address, server=self.address)
        return data

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        from batos.image.history import history
        return history(self, limit)

    def undo(self, txn_id: str) -> dict[str, Any]:
        from batos.image.history import undo
        return undo(self, txn_id)

    def pack(self, days: float = 0.0) -> dict[str, Any]:
        from batos.image.history import pack
        result = pack(self, days)  # over ZEO: ClientStorage.pack, done by the server
        if self.address is not None:
            result["packed_by"] = f"the server at {self.address}" if self.address.startswith(
                "zeo:") else f"PostgreSQL at {self.address}"
        return result

    def verify(self) -> dict[str, Any]:
        if self.address is not None:
            from batos.image.relstore import file_only
            raise ImageError(file_only("verify", self.address) or
                f"verify reads the image file itself (ZODB's fstest and fsrefs walk its "
                f"records), which a client of {self.address} cannot see: run `batos image "
                f"verify -i FILE --read-only` on the server's machine (works while it serves)")
        from batos.image.history import verify
        return verify(self)

    def backup(self, dest: str | Path) -> dict[str, Any]:
        if self.address is not None:
            from batos.image.relstore import file_only
            raise ImageError(file_only("backup", self.address) or
                             f"backup copies the image file with repozo: run `batos image "
                             f"backup` on the server's machine, not over {self.address}")
        from batos.image.history import backup
        return backup(self, dest)

    def __repr__(self) -> str:
        return f"<Image {self.address or self.path}{' (read-only)' if self.read_only else ''}>"


_OPEN: dict[int, Image] = {}


def image_of(obj: Any) -> "Image | None":
    """The running image, else the open image that holds ``obj``."""
    image = _CURRENT.get()
    if image is not None:
        return image
    jar = getattr(obj, "_p_jar", None)
    return _OPEN.get(id(jar)) if jar is not None else None


def open_image(path: str | Path | None = None, read_only: bool = False,
               adopt: bool = False) -> Image:
    """Open (creating and awakening if missing) the image at ``path``; a ZODB file of
    another application is refused unless ``adopt``."""
    from batos.image.storage import default_image_path
    return Image(Path(path) if path is not None else default_image_path(), read_only=read_only,
                 adopt=adopt)


__all__ = ["Image", "Globals", "open_image", "image_of"]
