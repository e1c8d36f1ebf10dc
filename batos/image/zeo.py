"""A shared image: a ZEO server over an image file, and ``zeo://host:port`` clients.

* :func:`zeo_address` recognises an address wherever an image path is accepted (a
  ``Path`` collapses ``zeo://`` to ``zeo:/``; both spellings are read);
* :func:`open_client_storage` is the client side: a ``ZEO.ClientStorage`` with its own
  blob cache in the user's cache dir and a short connect wait; a server that is down is
  :class:`ServerUnavailableError` (exit 3), never a traceback;
* the server side (:func:`batos.image.zeoserver.serve`) runs ZEO's own ``StorageServer``;
* :func:`served_options` are the options a server advertises to its clients (``batos
  serve --model-server URL``: the ``url`` setting), stored in ``root['served_options']``.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from batos.errors import ImageError

_ADDRESS = re.compile(r"^zeo:/{1,2}(?P<host>\[[^\]]+\]|[^:/\[\]]+):(?P<port>\d{1,5})/?$")

#: root key of the options a `batos serve` advertises to its clients, and the only
#: settings it may advertise (a server must not hand its clients arbitrary objects)
SERVED_KEY = "served_options"
SERVED_SETTINGS = ("url",)

#: seconds a client waits for the server before giving up (``BATOS_ZEO_WAIT``)
DEFAULT_WAIT = 5.0


class ServerUnavailableError(ImageError):
    """The ZEO server of a ``zeo://`` image could not be reached (exit 3)."""


def zeo_address(value: Any) -> tuple[str, int] | None:
    """``(host, port)`` when ``value`` (str or Path) is a ``zeo://host:port`` address."""
    if value is None:
        return None
    text = str(value)
    if not text.startswith("zeo:"):
        return None
    m = _ADDRESS.match(text)
    if m is None:
        raise ImageError(f"{text!r} is not a ZEO address; write zeo://HOST:PORT")
    port = int(m.group("port"))
    if not 0 < port < 65536:
        raise ImageError(f"{text!r}: port {port} is out of range")
    return m.group("host").strip("[]"), port


def address_text(addr: tuple[str, int]) -> str:
    return f"zeo://{addr[0]}:{addr[1]}"


def client_blob_dir(addr: tuple[str, int]) -> Path:
    """This user's blob cache for one server: ``~/.cache/batos/zeo-blobs/<host>_<port>``."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    safe = re.sub(r"[^A-Za-z0-9.-]", "_", addr[0])
    return base / "batos" / "zeo-blobs" / f"{safe}_{addr[1]}"


def _wait_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("BATOS_ZEO_WAIT") or DEFAULT_WAIT))
    except ValueError:
        return DEFAULT_WAIT


def open_client_storage(addr: tuple[str, int], *, read_only: bool = False) -> Any:
    """A ``ZEO.ClientStorage`` connected to ``addr`` (ServerUnavailableError if it is not
    reachable within ``BATOS_ZEO_WAIT`` seconds)."""
    from ZEO.ClientStorage import ClientStorage
    from ZEO.Exceptions import ClientDisconnected

    blobs = client_blob_dir(addr)
    (blobs / "tmp").mkdir(parents=True, exist_ok=True, mode=0o700)  # clients share it
    # a refused connection is retried by ZEO in the background and logged each time
    for name in ("ZEO.asyncio.client", "ZEO.ClientStorage"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    wait = _wait_seconds()
    try:
        for attempt in range(3):  # two clients starting at once race to lay the cache out
            try:
                storage = ClientStorage(addr, blob_dir=str(blobs), shared_blob_dir=False,
                                        read_only=read_only, read_only_fallback=not read_only,
                                        wait_timeout=wait)
                break
            except FileExistsError:
                if attempt == 2:
                    raise
    except ClientDisconnected:
        raise ServerUnavailableError(
            f"no batos server answers at {address_text(addr)} (waited {wait:g} s); start one "
            f"with `batos serve IMAGE --host {addr[0]} --port {addr[1]}`") from None
    except OSError as exc:
        raise ServerUnavailableError(f"cannot reach {address_text(addr)}: {exc}") from None
    if not read_only and storage.isReadOnly():
        storage.close()
        raise ImageError(f"the batos server at {address_text(addr)} serves read-only; open it "
                         "with --read-only")
    return storage


def served_options(root: Any) -> dict[str, Any]:
    """The options the image's server advertises (``batos serve --model-server URL``
    stores ``{'url': URL}``); a client copies them into ``image.options`` when it opens
    the image, so they rank below a flag and above the environment (batos.settings)."""
    stored = root.get(SERVED_KEY)
    if not stored:
        return {}
    return {k: str(v) for k, v in stored.items() if k in SERVED_SETTINGS and v}


__all__ = ["zeo_address", "address_text", "client_blob_dir", "open_client_storage",
           "served_options", "ServerUnavailableError", "SERVED_KEY"]
