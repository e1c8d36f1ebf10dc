"""Image history and maintenance, all through ZODB's own tools.

info and history read the undo log; undo uses ``DB.undo``; pack uses
``DB.pack``; verify runs ``fstest`` and ``fsrefs``; backup runs ``repozo``
(full or incremental) and copies the blob directory beside it.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import time
from pathlib import Path
from typing import Any

from batos.errors import BatosError, ImageError, ReadOnlyError
from batos.image.storage import blob_dir_for

#: an open :class:`batos.image.image.Image` (named, not imported: it imports this module)
Image = Any


def _txn_record(entry: dict[str, Any]) -> dict[str, Any]:
    raw = entry["id"]
    ident = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
    desc = entry.get("description", b"")
    if isinstance(desc, bytes):
        desc = desc.decode("utf-8", "replace")
    user = entry.get("user_name", b"")
    if isinstance(user, bytes):
        user = user.decode("utf-8", "replace")
    return {"id": ident, "time": entry.get("time", 0.0),
            "when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.get("time", 0.0))),
            "note": desc.strip(), "user": user.strip()}


def history(image: "Image", limit: int = 20) -> list[dict[str, Any]]:
    """The most recent transactions, newest first, with their notes and undo ids."""
    return [_txn_record(e) for e in image.db.undoLog(0, max(int(limit), 1))]


def info(image: "Image") -> dict[str, Any]:
    """Size, object count and recent transactions."""
    storage = image.storage
    blobs = blob_dir_for(image.path)
    blob_bytes = sum(f.stat().st_size for f in blobs.rglob("*") if f.is_file()) if blobs.exists() else 0
    return {
        "path": str(image.path),
        "read_only": image.read_only,
        "size_bytes": storage.getSize(),
        "blob_bytes": blob_bytes,
        "objects": len(storage),
        "globals": sorted(image.globals),
        "awakening": list(image.root.get("awakening", ())),
        "recent": history(image, 5),
    }


#: where ``pack`` notes when it last removed history (root of the image)
PACKED_KEY = "packed"

#: transactions that make the image: never undone by default (name them to undo them)
UNDOABLE_ONLY_BY_ID = ("initial database creation", "Prototypal Awakening")


def latest_undoable(image: "Image") -> str:
    """The id of the latest transaction, the default of ``:undo`` and ``batos image undo``;
    BatosError when there is none or it is one that made the image."""
    rows = history(image, 1)
    note = str(rows[0].get("note") or "") if rows else ""
    if not rows or note in UNDOABLE_ONLY_BY_ID or note.startswith(("awakening", "pack:")):
        raise BatosError("nothing to undo" if not rows else
                         f"the latest transaction is {note!r}, which is undone only when "
                         "named (give its id from the history)")
    return str(rows[0]["id"])


def packed_before(image: "Image") -> float | None:
    """When the history was last packed away (``batos image pack``), else None."""
    packed = image.root.get(PACKED_KEY)
    try:
        return float(packed["time"]) if packed is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def undo(image: "Image", txn_id: str) -> dict[str, Any]:
    """Undo transaction ``txn_id`` (an id from :func:`history`) in a new transaction."""
    if image.read_only:
        raise ReadOnlyError(f"image {image.path} is open read-only; cannot undo")
    known = {e["id"]: e for e in history(image, 10_000)}
    if txn_id not in known:
        raise BatosError(f"no transaction {txn_id!r} in the history of {image.path} "
                         "(see `batos image history`)")
    image.abort()
    from ZODB.POSException import UndoError
    try:
        image.db.undo(txn_id.encode("ascii"), txn=image.tm.get())
        image.commit(f"undo {txn_id} ({known[txn_id]['note']})")
    except UndoError as exc:
        image.abort()
        raise BatosError(f"cannot undo {txn_id}: {exc}") from None
    image.connection.sync()
    return {"undone": txn_id, "note": known[txn_id]["note"]}


def pack(image: "Image", days: float = 0.0) -> dict[str, Any]:
    """Remove history older than ``days`` (and unreachable objects and blobs)."""
    if image.read_only:
        raise ReadOnlyError(f"image {image.path} is open read-only; cannot pack")
    before = image.storage.getSize()
    image.abort()
    cutoff = time.time() - days * 86400.0
    image.db.pack(days=days)
    # say so in the image: the history that follows begins with this note
    image.root[PACKED_KEY] = {"time": cutoff, "days": float(days)}
    image.commit(f"pack: history before {_when(cutoff)} removed")
    return {"before_bytes": before, "after_bytes": image.storage.getSize(), "days": days,
            "history_before": cutoff}


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def verify(image: "Image") -> dict[str, Any]:
    """Run ZODB's fstest (file structure) and fsrefs (dangling references)."""
    from ZODB.scripts import fsrefs, fstest
    path = str(image.path)
    problems: list[str] = []
    try:
        fstest.check(path)
    except fstest.FormatError as exc:
        problems.append(f"fstest: {exc}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fsrefs.main(path)
    text = out.getvalue().strip()
    if text:
        problems.append(f"fsrefs: {text}")
    return {"path": path, "ok": not problems, "problems": problems,
            "checks": ["fstest", "fsrefs"]}


def backup(image: "Image", dest: str | os.PathLike[str]) -> dict[str, Any]:
    """Back the image up into directory ``dest`` with repozo, plus its blobs.

    Restore with ``repozo -R -r DEST -o restored.fs`` and copy ``DEST/blobs`` to
    ``restored.fs.blobs``.
    """
    from ZODB.scripts import repozo
    target = Path(dest)
    if target.exists() and not target.is_dir():
        raise BatosError(f"backup destination {target} exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    image.abort()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            repozo.main(["-B", "-Q", "-r", str(target), "-f", str(image.path)])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise ImageError(f"repozo backup failed: {exc.code} {err.getvalue().strip()}") from None
    blobs = blob_dir_for(image.path)
    copied = 0
    if blobs.exists():
        for src in blobs.rglob("*"):
            if src.is_file():
                rel = src.relative_to(blobs)
                out = target / "blobs" / rel
                if not out.exists():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, out)
                    copied += 1
    files = sorted(p.name for p in target.iterdir() if p.is_file())
    return {"dest": str(target), "files": files, "blobs_copied": copied,
            "restore": f"repozo -R -r {target} -o RESTORED.fs"}
