"""Process-level guards for :mod:`batos.guardian.limits`: the memory cap (a soft
rlimit that fails the allocation itself) and the hard deadline (a soft CPU-time
rlimit whose SIGXCPU ends a process stuck in C), plus the /proc readings they need.

The /proc files are opened at import (:func:`preopen`), before a confinement could
forbid opening them; the open descriptors keep working.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import struct
import sys
import threading
import time
from typing import Any

try:
    import resource
except ImportError:  # not POSIX: no memory cap, no hard deadline
    resource = None  # type: ignore[assignment]

__all__ = ["vm_usage", "peak_reset", "resident", "preopen", "cap_owner", "cpu_time",
           "share_hard_deadline", "HARD_STATE", "HARD_EXIT"]

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
_INF = resource.RLIM_INFINITY if resource is not None else -1
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


_PROC: dict[str, int] = {}  # name -> fd, kept open (read with pread); this process's own


def _proc(name: str, flags: int = os.O_RDONLY) -> int:
    fd = _PROC.get(name)
    if fd is None:
        _PROC[name] = fd = os.open(f"/proc/self/{name}", flags)
    return fd


if hasattr(os, "register_at_fork"):  # a fork's inherited descriptors read its parent
    os.register_at_fork(after_in_child=_PROC.clear)


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


def _max_resident() -> int:
    """The kernel's peak resident size through getrusage (one cheap syscall, no /proc
    text to format and parse); Linux reports kB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class _MemoryCap:
    """A soft rlimit of ``usage + budget`` bytes, owned by the outermost limits.

    A MemoryError that code swallows leaves no trace, so the cap also watches how
    close the block came: the peak resident growth (the kernel's high-water mark) or
    the current usage within a sliver of the cap counts as a breach.  The mark is
    reset (``clear_refs``) only when an older peak stands above what would count as
    a breach; it is read with ``getrusage``, from ``/proc/self/status`` only where
    getrusage's is held up by a peak a reset cannot lower.  Per statement: a ``statm``
    read, ``getrlimit``, two ``setrlimit`` and a ``getrusage`` to apply and lift, a
    ``statm`` read and a ``getrusage`` per check."""

    __slots__ = ("budget", "slack", "limit", "active", "hit", "old", "allowed", "threshold",
                 "rss_base", "fast_peak", "statm")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.slack = max(budget // 32, 2 * 2**20)
        self.limit = 0
        self.active = self.hit = self.fast_peak = False
        self.old: tuple[int, int] | None = None
        self.allowed = self.threshold = budget
        self.rss_base: int | None = None
        self.statm: list[bytes] | None = None  # the last /proc/self/statm read (fields)

    def apply(self, budget: int | None = None, statm: list[bytes] | None = None) -> bool:
        """Set the soft limit to the usage now plus ``budget`` (default: the whole one);
        ``statm``: the fields of a /proc/self/statm read just made, if any."""
        global _cap_owner
        if _CAP_RES is None:
            return False
        allowed = self.budget if budget is None else budget
        with _cap_lock:
            if _cap_owner is not None and _cap_owner is not self:
                return False
            try:
                fields = statm or os.pread(_proc("statm"), 256, 0).split()
                usage, rss = int(fields[_CAP_FIELD]) * _PAGE, int(fields[1]) * _PAGE
                old = self.old or resource.getrlimit(_CAP_RES)
                soft = usage + allowed
                for bound in old:
                    if bound < soft and bound != _INF:
                        soft = bound
                resource.setrlimit(_CAP_RES, (soft, old[1]))
            except (OSError, IndexError, ValueError):
                return False
            self.old, self.limit, self.active, self.allowed = old, soft, True, allowed
            _cap_owner = self
        # growth of the peak resident size past ``threshold`` reads as a breach: an older
        # peak above it is reset first (clear_refs), or, where getrusage keeps a peak the
        # reset cannot lower (an exited thread's), read from /proc/self/status
        self.threshold = threshold = allowed - self.slack
        self.rss_base, self.fast_peak = rss, True
        try:
            if resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss > threshold:
                if not peak_reset():
                    self.rss_base = None
                elif _max_resident() - rss > threshold:
                    self.fast_peak = False
        except (OSError, ValueError):
            self.rss_base = None
        return True

    def _peak_hit(self) -> bool:
        if self.rss_base is None:
            return False
        try:
            peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if self.fast_peak
                    else resident()[1])
        except (OSError, ValueError):
            return False
        return peak - self.rss_base > self.threshold

    def lift(self, check: bool = True) -> int:
        """Restore the previous limit; answer the budget left.  ``check``: first note
        whether the block came to the cap (skip it right after :meth:`pressed`)."""
        global _cap_owner
        if not self.active:
            return 0
        left = 0
        if check:
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
            try:
                self.statm = fields = os.pread(_proc("statm"), 256, 0).split()
                usage = int(fields[_CAP_FIELD]) * _PAGE
            except (OSError, IndexError, ValueError):
                self.statm, usage = None, 0
            self.hit = usage > self.limit - self.slack or self._peak_hit()
        return self.hit


# -- the hard deadline: the kernel's CPU-time limit ends the process --------------------------
# A soft RLIMIT_CPU of (CPU time so far + the hard deadline) is set while a statement runs
# (two setrlimit calls per statement, no thread).  Past it the kernel sends SIGXCPU; the
# handler is faulthandler's C one (installed once): it writes the stacks of every thread,
# then chains to the previous action, libc's _exit, so the process ends with status
# SIGXCPU (24) even while a C loop holds the GIL.  Where ctypes cannot install _exit the
# chain goes to SIG_DFL: killed by SIGXCPU.  The hard limit is never touched (lowering it
# is irreversible without privileges).
_hard_lock = threading.Lock()
_hard_deadlines: dict[int, tuple[float, float]] = {}  # id(limits) -> (CPU deadline, limit)
_hard_armed: float | None = None
_hard_state: Any = None   # a writable buffer shared with a supervisor (see share_hard_deadline)
HARD_STATE = struct.Struct("<dd")  # (CPU-time deadline or 0, the time limit it doubles)
HARD_EXIT = int(getattr(signal, "SIGXCPU", 24))  # the exit status of a hard-deadline death
_CPU_RES = getattr(resource, "RLIMIT_CPU", None) if resource is not None else None
_cpu_saved: tuple[int, int] | None = None  # RLIMIT_CPU before arming
_hard_file = 2  # where faulthandler writes the stacks before the process ends
_installed: int | None = None  # the fd the SIGXCPU handler writes to (a fork inherits it)


def cpu_time() -> float:
    """CPU seconds used by this process (all threads): what RLIMIT_CPU counts."""
    return time.process_time()


def share_hard_deadline(buffer: Any, output: int | None = None) -> None:
    """Publish the armed hard deadline into ``buffer`` (a shared ``mmap`` of at least
    ``HARD_STATE.size`` bytes, or None to stop): a supervising parent reads it after
    the process died to tell a hard-deadline exit from any other.  ``output``: a file
    descriptor for the stack dump instead of stderr (the supervisor's log file)."""
    global _hard_state, _hard_file
    _hard_state = buffer
    _hard_file = 2 if output is None else output
    with _hard_lock:
        if _installed is not None:
            _install()          # the stacks go to the new file
        _publish()


def _publish() -> None:
    if _hard_state is not None:
        deadline, limit = min(_hard_deadlines.values()) if _hard_deadlines else (0.0, 0.0)
        HARD_STATE.pack_into(_hard_state, 0, deadline, limit)


def _exit_action() -> None:
    """Make libc's ``_exit`` (async-signal-safe) the action faulthandler chains to:
    ``_exit(SIGXCPU)``, no core dump.  Best effort: SIG_DFL (terminate + core) else."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
        libc.signal(HARD_EXIT, ctypes.cast(libc._exit, ctypes.c_void_p).value)
    except (OSError, AttributeError, TypeError):
        pass


def _install() -> bool:
    """Install the SIGXCPU handler (once per process; again for a new output file)."""
    global _installed
    if _installed == _hard_file:
        return True
    try:
        if _installed is None:
            _exit_action()
        faulthandler.register(HARD_EXIT, file=_hard_file, all_threads=True, chain=True)
    except (OSError, ValueError, RuntimeError, AttributeError):  # no fd, no SIGXCPU
        return False
    _installed = _hard_file
    return True


def _arm(deadline: float | None) -> None:
    """Set the soft RLIMIT_CPU to ``deadline`` (CPU seconds, rounded up) or restore it."""
    global _cpu_saved
    try:
        if deadline is None:
            if _cpu_saved is not None:
                resource.setrlimit(_CPU_RES, _cpu_saved)
                _cpu_saved = None
            return
        if _installed != _hard_file and not _install():
            return
        saved = _cpu_saved or resource.getrlimit(_CPU_RES)
        soft = int(deadline) + 1   # whole seconds, rounded up
        for bound in saved:   # an outer limit stays in force
            if bound < soft and bound != _INF:
                soft = bound
        resource.setrlimit(_CPU_RES, (soft, saved[1]))
        _cpu_saved = saved
    except (OSError, ValueError):
        pass


def _set_hard(key: int, deadline: float | None, limit: float = 0.0) -> None:
    """Arm (``deadline``: CPU seconds, see :func:`cpu_time`) or drop the hard deadline
    of limits ``key``; the soonest of all armed ones is in force."""
    global _hard_armed
    if _CPU_RES is None:
        return
    with _hard_lock:
        deadlines = _hard_deadlines
        if deadline is None:
            if deadlines.pop(key, None) is None:
                return
        else:
            deadlines[key] = (deadline, limit)
        soonest = min(deadlines.values())[0] if deadlines else None
        if soonest != _hard_armed:
            if _hard_state is not None:
                _publish()
            _arm(soonest)
            _hard_armed = soonest
