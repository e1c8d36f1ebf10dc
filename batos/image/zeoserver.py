"""``batos serve``: ZEO's own ``StorageServer`` over an image's FileStorage and blobs,
until SIGTERM/SIGINT; clients connect with ``zeo://host:port`` (batos.image.zeo).

``--model-server URL`` is advertised in the image (:func:`advertise`: ``root
['served_options']``); every client of the server copies it into its ``image.options``,
so its misses generate through that llama.cpp server (the HTTP backend)."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Callable

from batos.errors import ImageError, UsageError
from batos.image.zeo import SERVED_KEY, address_text


# --- what the server advertises to its clients -------------------------------------------

def check_model_server(url: str) -> str:
    """``url`` normalised (no trailing slash) when it is an http(s)://HOST[:PORT] address
    of a llama.cpp server; :class:`UsageError` (exit 2) otherwise."""
    from urllib.parse import urlsplit
    text = url.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise UsageError(f"--model-server {url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--model-server {url!r} is not a llama.cpp server address; write "
                         "http://HOST:PORT (the `llama-server` one)")
    return text


def advertise(image: Any, model_server: str | None) -> bool:
    """Store (or, with None, remove) the model server this image's server advertises to
    its clients, in one noted transaction when it changed; True when it did."""
    from persistent.mapping import PersistentMapping
    stored = image.root.get(SERVED_KEY)
    current = dict(stored) if stored else {}
    wanted = {"url": model_server} if model_server else {}
    if current == wanted:
        return False
    if wanted:
        image.root[SERVED_KEY] = PersistentMapping(wanted)
    else:
        del image.root[SERVED_KEY]
    image.commit(f"batos serve: model server {model_server}" if model_server
                 else "batos serve: no model server")
    return True


# --- the server --------------------------------------------------------------------------

def serve(path: Path, *, host: str = "127.0.0.1", port: int = 8100, read_only: bool = False,
          say: Callable[[str], Any] = print, model_server: str | None = None,
          prepare_image: Callable[[Path], Any] | None = None) -> None:
    """Serve the image at ``path`` over ZEO until SIGTERM/SIGINT (the FileStorage lock
    refuses a second server on the same file: :class:`ImageLockedError`).

    ``prepare_image(path)`` (the caller opens and closes the image once: awakening and
    upgrade run here, server-side, before any client connects; the caller
    :func:`advertise`\ s ``model_server`` there) is skipped read-only; ``model_server`` is
    named in the startup line."""
    from ZEO.StorageServer import StorageServer

    from batos.guardian.unpickle import harden_zodb
    from batos.image.storage import blob_dir_for, open_storage

    harden_zodb()  # conflict resolution on the server loads classes: only allowed ones

    from batos.errors import ImageLockedError
    try:
        if not read_only and prepare_image is not None:
            prepare_image(path)
        storage = open_storage(path, read_only=read_only)
    except ImageLockedError:
        raise ImageLockedError(
            f"{path} is already held by another process (a running `batos serve`, a REPL or "
            f"another command); one server per image file: connect to that one, or stop it "
            f"first", path=str(path)) from None
    try:
        try:
            server = StorageServer((host, port), {"1": storage}, read_only=read_only)
        except OSError as exc:
            raise ImageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = server.acceptor.addr
        loop = server.acceptor.event_loop
        stop = {"signal": None}

        def _stop(signum: int, _frame: Any) -> None:
            stop["signal"] = signum  # closed between two requests, never inside a commit
            loop.call_soon_threadsafe(server.close)

        previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
        blobs = blob_dir_for(path)
        say(f"batos serve: {address_text((bound[0], bound[1]))} image {path} blobs "
            f"{blobs if blobs.exists() else '(none)'}{' read-only' if read_only else ''} "
            f"(pid {os.getpid()})")
        if model_server:
            say(f"batos serve: clients generate through the model server {model_server}")
        try:
            server.loop()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
            server.close()
        say(f"batos serve: stopped ({signal.Signals(stop['signal']).name if stop['signal'] else 'closed'}); "
            f"{path} closed cleanly")
    finally:
        storage.close()


__all__ = ["serve", "advertise", "check_model_server"]
