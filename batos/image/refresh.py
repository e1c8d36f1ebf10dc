"""A read-only image follows the writer: the transactions another process appended.

A FileStorage knows the transactions it indexed when it was opened; a writer in
another process appends to the file. :func:`catch_up` indexes what was appended
since (as FileStorage itself does on open, from its last position) and answers
the new last transaction and the objects it changed, for the database to
invalidate at the next transaction boundary.
"""
from __future__ import annotations

import os
from typing import Any

from batos.errors import ImageError


def catch_up(storage: Any) -> tuple[bytes, list[bytes]] | None:
    """Index the transactions appended to ``storage``'s file since it was read (a
    read-only FileStorage); ``(last tid, changed oids)``, or None when there are none.

    ImageError when the file was replaced meanwhile (packed by the writer): its old
    positions mean nothing any more, so the image has to be opened again.
    """
    from ZODB.FileStorage.FileStorage import read_index
    from ZODB.TimeStamp import TimeStamp
    name = storage._file_name
    try:
        st = os.stat(name)
        same_file = st.st_ino == os.fstat(storage._file.fileno()).st_ino
    except (OSError, AttributeError, ValueError):
        return None
    if not same_file or st.st_size < storage._pos:
        raise ImageError(f"image {name} was packed or replaced by another process since it "
                         "was opened read-only; open it again to see its current state")
    if st.st_size == storage._pos:
        return None
    with storage._lock:
        index = _Recording(storage._index)
        pos, maxoid, ltid = read_index(storage._file, name, index, {}, b"\377" * 8,
                                       ltid=storage._ltid, start=storage._pos,
                                       maxoid=storage._oid, read_only=1)
        if pos <= storage._pos or not index.changed:
            return None  # a transaction still being written: next time
        storage._pos, storage._oid, storage._ltid = pos, maxoid, ltid
        storage._ts = TimeStamp(ltid)
    return ltid, sorted(index.changed)


class _Recording:
    """The storage's index, noting which oids ``read_index`` updates."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.changed: set[bytes] = set()

    def get(self, key: bytes, default: Any = None) -> Any:
        return self.index.get(key, default)

    def update(self, other: Any) -> None:
        self.changed.update(other.keys())
        self.index.update(other)

    def maxKey(self) -> bytes:  # noqa: N802 (fsIndex API)
        return self.index.maxKey()

    def __len__(self) -> int:
        return len(self.index)


__all__ = ["catch_up"]
