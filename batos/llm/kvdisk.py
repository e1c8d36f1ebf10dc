"""The prefix KV cache on disk: a fixed prompt prefix is processed once per machine.

The doesNotUnderstand_ prompt starts with a long fixed part (persona codex,
covenant, worked examples). In a fresh process (a ``batos send`` one-liner) the
in-memory prefix cache is empty, so that part would be re-processed on every run.
After evaluating it once, the engine writes the sequence's KV state to
``<cache>/kv/<hash>.kv``, the hash covering the model's sha256, the adapter key
(paths, sizes, mtimes, scales), the prefix tokens and the llama-cpp-python version,
so a state is never reused under another model, adapter set or llama.cpp build (the
state format is llama.cpp's own; a state from another build can crash it). Files are
written atomically; the newest ``BATOS_KV_FILES`` (default 12) are kept: a model and
adapter set uses one file for the part every persona shares and one per persona
(:func:`batos.mind.prompts.fixed_prefixes`), ~30 MB each on the default model.
"""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any, Sequence

from batos.settings import setting

_MAGIC = b"BKV1"


def kv_dir() -> Path:
    from batos.llm.models import cache_dir
    return Path(os.environ.get("BATOS_KV_DIR") or (cache_dir().parent / "kv"))


def _path(engine: Any, key: Any, tokens: Sequence[int]) -> Path:
    h = hashlib.sha256()
    h.update(engine.sha256.encode())
    h.update(b"\0llama-cpp-python " + str(getattr(engine, "lib_version", "")).encode() + b"\0")
    h.update(str(getattr(engine, "kv_layout", "")).encode() + b"\0")  # one sequence or several
    h.update(repr(key).encode())
    h.update(struct.pack(f"<{len(tokens)}i", *tokens))
    return kv_dir() / f"{h.hexdigest()[:32]}.kv"


def restore(engine: Any, key: Any, tokens: Sequence[int]) -> int:
    """Load the saved state of exactly ``tokens``; returns len(tokens), or 0 if none."""
    path = _path(engine, key, tokens)
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if data[:4] != _MAGIC or struct.unpack("<I", data[4:8])[0] != len(tokens):
        return 0
    if not engine.load_state(data[8:], tokens):
        return 0
    os.utime(path)
    engine.stats["disk_restores"] = engine.stats.get("disk_restores", 0) + 1
    return len(tokens)


def save(engine: Any, key: Any, tokens: Sequence[int]) -> None:
    """Write the context's state, which must hold exactly ``tokens``."""
    path = _path(engine, key, tokens)
    if path.exists():
        return
    state = engine.state_bytes()
    if state is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            fh.write(_MAGIC + struct.pack("<I", len(tokens)))
            fh.write(state)
        os.replace(tmp, path)
        engine.stats["disk_saves"] = engine.stats.get("disk_saves", 0) + 1
        _prune(path.parent)
    except OSError:
        pass  # a read-only or full cache only costs speed


def serve(engine: Any, key: Any, tokens: Sequence[int], bounds: Sequence[int],
          cached: int) -> tuple[int, int]:
    """Bring the context, which holds ``tokens[:cached]``, to the longest fixed prefix
    ``tokens[:n]`` of ``bounds`` (nested prefixes' lengths, shortest first: what every
    persona shares, then one persona's own): the longest state on disk is restored, and
    each longer prefix is evaluated and saved once. Returns (where to resume evaluating,
    how many prompt tokens were reused)."""
    ends = sorted(set(bounds))
    if not ends or cached >= ends[-1]:
        return cached, cached
    pos = reused = cached
    for n in reversed(ends):
        if n <= cached:
            break
        if restore(engine, key, tokens[:n]):
            pos = reused = n
            break
        if engine.llm.n_tokens != cached:  # a failed load cleared the context
            pos = reused = int(engine.llm.n_tokens)
            engine._truncate(pos)
            break
    for n in ends:
        if n > pos:
            engine._eval(tokens[pos:n])
            save(engine, key, tokens[:n])
            pos = n
    return pos, reused


def _prune(folder: Path) -> None:
    keep = setting("kv_files")
    files = sorted(folder.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        try:
            old.unlink()
        except OSError:
            pass
