"""Opening the image's FileStorage (with blobs) safely.

* a file that is not a FileStorage is refused before ZODB touches it;
* a lock held by another process becomes :class:`ImageLockedError` (exit 3);
* a stale lock left by a crashed process does not block: zc.lockfile uses
  ``fcntl`` locks, which the kernel releases when the holder dies.
"""
from __future__ import annotations

import os
from pathlib import Path

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


def open_storage(path: Path, *, read_only: bool = False):
    """Open (or create) ``path`` as a FileStorage with blobs in ``<path>.blobs/``."""
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
