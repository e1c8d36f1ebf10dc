"""A batos image in PostgreSQL through RelStorage: the scale-out path past one machine.

``--image postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME`` (or ``postgres://``,
``BATOS_IMAGE=...``) opens the image as a RelStorage over that database instead of a
FileStorage: every process that opens the same address shares one image, with ZODB's
invalidations and conflict detection (as over ``batos serve``, without a server of
batos's own: PostgreSQL is the server). History is kept (undo, time travel); blobs live in
the database, with a per-user cache in ``~/.cache/batos/pg-blobs/``; RelStorage creates its
tables on first use. The optional extra ``pip install 'batos[postgres]'`` brings
RelStorage and psycopg2; without it such an address is a clear error (exit 2).

A ``Path`` collapses ``//`` to ``/``; :func:`pg_address` reads both spellings, so always
name the database (``postgresql:///DBNAME?host=/run/postgresql`` for a Unix socket).
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from batos.errors import ImageError, UsageError

SCHEMES = ("postgresql:", "postgres:")
INSTALL_HINT = "pip install 'batos[postgres]' (RelStorage and psycopg2)"
_DRIVERS = ("psycopg2", "psycopg2cffi", "pg8000")


class PostgresExtraMissing(UsageError):
    """A ``postgresql://`` image without RelStorage or a PostgreSQL driver installed."""


def pg_address(value: Any) -> str | None:
    """The libpq URI when ``value`` (str or Path) is a ``postgresql://`` address, else None."""
    if value is None:
        return None
    text = str(value)
    scheme = next((s for s in SCHEMES if text.startswith(s)), None)
    if scheme is None:
        return None
    rest = text[len(scheme):]
    if not rest.startswith("/"):
        raise ImageError(f"{text!r} is not a PostgreSQL address; write "
                         "postgresql://USER@HOST:PORT/DBNAME")
    if not rest.startswith("//"):  # a Path made '//' one '/': was there a host?
        body = rest[1:]
        rest = ("//" if "/" in body.split("?", 1)[0] else "///") + body
    uri = scheme + rest
    parts = urlsplit(uri)
    if not parts.path.strip("/"):
        raise ImageError(f"{display(uri)!r} names no database; write "
                         "postgresql://USER@HOST:PORT/DBNAME")
    return uri


def display(uri: str) -> str:
    """``uri`` with its password hidden (for messages, history, ``image info``)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def conninfo(uri: str) -> str:
    """``uri`` as a libpq ``key='value'`` string: RelStorage appends its own
    ``application_name=...`` to the DSN, which a URI cannot take."""
    parts = urlsplit(uri)
    fields: dict[str, str] = {}
    if parts.hostname:
        fields["host"] = unquote(parts.hostname)
    if parts.port:
        fields["port"] = str(parts.port)
    if parts.username:
        fields["user"] = unquote(parts.username)
    if parts.password is not None:
        fields["password"] = unquote(parts.password)
    fields["dbname"] = unquote(parts.path.lstrip("/"))
    fields.update(parse_qsl(parts.query))
    quoted = (v.replace("\\", "\\\\").replace("'", "\\'") for v in fields.values())
    return " ".join(f"{k}='{v}'" for k, v in zip(fields, quoted))


def missing_modules() -> list[str]:
    """What the ``postgres`` extra would bring that is not importable here."""
    def found(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False
    missing = [] if found("relstorage") else ["RelStorage"]
    if not any(found(d) for d in _DRIVERS):
        missing.append("psycopg2")
    return missing


def client_blob_dir(uri: str) -> Path:
    """This user's blob cache for one database (named by a hash: the URI may hold a
    password)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    return base / "batos" / "pg-blobs" / digest


def open_relstorage(uri: str, *, read_only: bool = False) -> Any:
    """A RelStorage on the PostgreSQL database at ``uri`` (history kept, blobs in the
    database with a local cache); the schema is created on first use.

    :class:`PostgresExtraMissing` (exit 2) without the extra;
    :class:`batos.image.zeo.ServerUnavailableError` (exit 3) when the database cannot be
    reached or refuses the login."""
    missing = missing_modules()
    if missing:
        raise PostgresExtraMissing(
            f"{display(uri)} is a PostgreSQL image, which needs {' and '.join(missing)}: "
            f"{INSTALL_HINT}")
    from relstorage.adapters.postgresql import PostgreSQLAdapter
    from relstorage.options import Options
    from relstorage.storage import RelStorage

    from batos.image.zeo import ServerUnavailableError

    blobs = client_blob_dir(uri)
    blobs.mkdir(parents=True, exist_ok=True, mode=0o700)
    options = Options(keep_history=True, blob_dir=str(blobs), shared_blob_dir=False,
                      read_only=read_only, create_schema=not read_only)
    # a refused connection is logged with a traceback before it is raised
    logging.getLogger("relstorage").setLevel(logging.CRITICAL)
    try:
        adapter = PostgreSQLAdapter(dsn=conninfo(uri), options=options)
        return RelStorage(adapter, options=options)
    except Exception as exc:  # noqa: BLE001  (drivers raise their own error classes)
        if not _is_connect_error(exc):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ServerUnavailableError(
            f"cannot open the PostgreSQL image {display(uri)}: {first}") from None


_FILE_ONLY = {
    "verify": "verify walks an image file (ZODB's fstest and fsrefs); {address} is a "
              "PostgreSQL database, which has none: copy it to a file with RelStorage's "
              "`zodbconvert` and verify that copy (PostgreSQL checks its own pages)",
    "backup": "backup copies an image file with repozo; {address} is a PostgreSQL "
              "database: back it up with pg_dump, or copy it to a file with RelStorage's "
              "`zodbconvert`",
}


def file_only(command: str, address: str) -> str | None:
    """Why ``batos image COMMAND`` (verify, backup) cannot run on the PostgreSQL image at
    ``address``; None when ``address`` is not a PostgreSQL one."""
    if not address.startswith(SCHEMES) or command not in _FILE_ONLY:
        return None
    return _FILE_ONLY[command].format(address=address)


def _is_connect_error(exc: BaseException) -> bool:
    """An error of the driver while connecting (server down, login or database refused)."""
    seen = 0
    while exc is not None and seen < 8:
        module = type(exc).__module__ or ""
        if module.split(".")[0] in _DRIVERS or type(exc).__name__ in (
                "OperationalError", "DriverNotAvailableError", "InterfaceError"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


__all__ = ["pg_address", "display", "conninfo", "file_only", "open_relstorage", "missing_modules",
           "PostgresExtraMissing", "client_blob_dir", "INSTALL_HINT"]
