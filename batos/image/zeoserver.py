"""``batos serve``: ZEO's own ``StorageServer`` over an image's FileStorage and blobs,
until SIGTERM/SIGINT; clients connect with ``zeo://host:port`` (batos.image.zeo)."""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Callable

from batos.errors import ImageError
from batos.image.zeo import address_text

# --- the server --------------------------------------------------------------------------

def serve(path: Path, *, host: str = "127.0.0.1", port: int = 8100, read_only: bool = False,
          say: Callable[[str], Any] = print,
          prepare_image: Callable[[Path], Any] | None = None) -> None:
    """Serve the image at ``path`` over ZEO until SIGTERM/SIGINT (the FileStorage lock
    refuses a second server on the same file: :class:`ImageLockedError`).

    ``prepare_image(path)`` (the caller opens and closes the image once: awakening and
    upgrade run here, server-side, before any client connects) is skipped read-only."""
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


__all__ = ["serve"]
