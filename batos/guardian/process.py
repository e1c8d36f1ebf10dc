"""Process-level guards for :mod:`batos.guardian.limits`: the memory cap (a soft
rlimit that fails the allocation itself) and the hard deadline (faulthandler's C
thread ends a process stuck in C), plus the /proc readings they need.

The /proc files are opened at import (:func:`preopen`), before a confinement could
forbid opening them; the open descriptors keep working.
"""
from __future__ import annotations

import faulthandler
import os
import struct
import sys
import threading
import time
from typing import Any

__all__ = ["vm_usage", "peak_reset", "resident", "preopen", "cap_owner",
           "share_hard_deadline", "HARD_STATE"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# -- the memory cap: a soft rlimit around the statement ------------------------------------
def _cap_resource() -> tuple[int | None, int]:
    """(RLIMIT_*, statm field): RLIMIT_DATA counts every private writable mapping on
    Linux >= 4.7 (not a read-only model mmap); elsewhere RLIMIT_AS and the whole VM."""
    try:
        import resource
    except ImportError:
        return None, 0
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
        modern = sys.platform.startswith("linux") and (major, minor) >= (4, 7)
    except ValueError:
        modern = False
    if modern:
        return resource.RLIMIT_DATA, 5   # statm "data": data + stack pages
    return getattr(resource, "RLIMIT_AS", None), 0


_CAP_RES, _CAP_FIELD = _cap_resource()
_cap_lock = threading.Lock()
_cap_owner: "_MemoryCap | None" = None


def cap_owner() -> "_MemoryCap | None":
    """The memory cap in force (owned by the outermost limits), if any."""
    return _cap_owner


def vm_usage() -> int:
    """The bytes the memory cap counts (private data on Linux, else the address space)."""
    try:
        return int(os.pread(_proc("statm"), 256, 0).split()[_CAP_FIELD]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


_PROC: dict[str, tuple[int, int]] = {}  # name -> (pid, fd), kept open (read with pread)


def _proc(name: str, flags: int = os.O_RDONLY) -> int:
    pid = os.getpid()
    known = _PROC.get(name)
    if known is None or known[0] != pid:
        _PROC[name] = known = (pid, os.open(f"/proc/self/{name}", flags))
    return known[1]


def peak_reset() -> bool:
    """Reset the kernel's peak resident set size (VmHWM); False where it cannot be."""
    try:
        os.write(_proc("clear_refs", os.O_WRONLY), b"5")
        return True
    except OSError:
        return False


def resident() -> tuple[int, int]:
    """(resident bytes now, peak resident bytes since the last :func:`peak_reset`)."""
    data = os.pread(_proc("status"), 8192, 0)
    def field(key: bytes) -> int:
        i = data.index(key)
        return int(data[i + len(key):data.index(b"kB", i)]) * 1024
    return field(b"VmRSS:"), field(b"VmHWM:")


def preopen() -> None:
    """Open the /proc files the limits read and write now, before a confinement
    (Landlock) could forbid opening them; the open descriptors keep working."""
    for name, flags in (("statm", os.O_RDONLY), ("status", os.O_RDONLY),
                        ("clear_refs", os.O_WRONLY)):
        try:
            _proc(name, flags)
        except OSError:
            pass


preopen()


class _MemoryCap:
    """A soft rlimit of ``usage + budget`` bytes, owned by the outermost limits.

    A MemoryError that code swallows leaves no trace, so the cap also watches how
    close the block came: the peak resident growth (VmHWM, reset when applied) or
    the current usage within a sliver of the cap counts as a breach."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.slack = max(budget // 32, 2 * 2**20)
        self.limit = 0
        self.active = False
        self.hit = False
        self.old: tuple[int, int] | None = None
        self.allowed = budget
        self.rss_base: int | None = None

    def apply(self, budget: int | None = None) -> bool:
        global _cap_owner
        import resource
        with _cap_lock:
            if _CAP_RES is None or (_cap_owner is not None and _cap_owner is not self):
                return False
            usage = vm_usage()
            if not usage:
                return False
            allowed = self.budget if budget is None else budget
            try:
                old = self.old or resource.getrlimit(_CAP_RES)
                soft = usage + allowed
                for bound in old:
                    if bound != resource.RLIM_INFINITY:
                        soft = min(soft, bound)
                resource.setrlimit(_CAP_RES, (soft, old[1]))
            except (OSError, ValueError):
                return False
            self.old, self.limit, self.active, self.allowed = old, soft, True, allowed
            _cap_owner = self
        try:
            self.rss_base = resident()[0] if peak_reset() else None
        except (OSError, ValueError):
            self.rss_base = None
        return True

    def _peak_hit(self) -> bool:
        if self.rss_base is None:
            return False
        try:
            return resident()[1] - self.rss_base > self.allowed - self.slack
        except (OSError, ValueError):
            return False

    def lift(self) -> int:
        """Restore the previous limit; answer the budget left."""
        global _cap_owner
        import resource
        if not self.active:
            return 0
        self.hit = self.hit or self._peak_hit()
        left = max(self.limit - vm_usage(), 0)
        with _cap_lock:
            try:
                resource.setrlimit(_CAP_RES, self.old)  # type: ignore[arg-type]
            except (OSError, ValueError):
                pass
            self.active = False
            _cap_owner = None
        return left

    def pressed(self) -> bool:
        """Whether the block came to the cap (an allocation has almost surely failed)."""
        if self.active and not self.hit:
            self.hit = vm_usage() > self.limit - self.slack or self._peak_hit()
        return self.hit


# -- the hard deadline: faulthandler's C thread ends the process -----------------------------
_hard_lock = threading.Lock()
_hard_deadlines: dict[int, tuple[float, float]] = {}  # id(limits) -> (monotonic deadline, limit)
_hard_armed: float | None = None
_hard_state: Any = None   # a writable buffer shared with a supervisor (see share_hard_deadline)
HARD_STATE = struct.Struct("<dd")  # (monotonic deadline or 0, the time limit it doubles)


_hard_file = 2  # where faulthandler writes the stacks before it ends the process


def share_hard_deadline(buffer: Any, output: int | None = None) -> None:
    """Publish the armed hard deadline into ``buffer`` (a shared ``mmap`` of at least
    ``HARD_STATE.size`` bytes, or None to stop): a supervising parent reads it after
    the process died to tell a hard-deadline exit from any other.  ``output``: a file
    descriptor for the stack dump instead of stderr (the supervisor's log file)."""
    global _hard_state, _hard_file
    _hard_state = buffer
    _hard_file = 2 if output is None else output
    with _hard_lock:
        _publish()


def _publish() -> None:
    if _hard_state is not None:
        deadline, limit = min(_hard_deadlines.values(), default=(0.0, 0.0))
        HARD_STATE.pack_into(_hard_state, 0, deadline, limit)


def _set_hard(key: int, deadline: float | None, limit: float = 0.0) -> None:
    global _hard_armed
    with _hard_lock:
        if deadline is None:
            if _hard_deadlines.pop(key, None) is None:
                return
        else:
            _hard_deadlines[key] = (deadline, limit)
        soonest = min((d for d, _ in _hard_deadlines.values()), default=None)
        if soonest == _hard_armed:
            return
        _publish()
        try:
            if soonest is None:
                faulthandler.cancel_dump_traceback_later()
            else:
                faulthandler.dump_traceback_later(max(soonest - time.monotonic(), 0.001),
                                                  exit=True, file=_hard_file)
        except (OSError, ValueError, RuntimeError):  # no stderr to write to
            pass
        _hard_armed = soonest
