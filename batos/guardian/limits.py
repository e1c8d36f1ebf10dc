"""Runtime limits for one top-level send: wall clock, recursion, memory growth.

In the main thread a periodic ``ITIMER_REAL`` tick (SIGALRM) checks the deadline
and the memory growth; in other threads a watchdog thread does the same and
raises into the worker with ``PyThreadState_SetAsyncExc``.  Memory growth is
measured as the process's anonymous resident memory (``/proc/self/statm``:
resident minus file-backed pages, so a memory-mapped model does not count) by
default — ``tracemalloc`` (``memory_probe="tracemalloc"``) is exact for Python
allocations but slows allocation-heavy code 3-15x.  Wrap work that is not the
method's doing (loading a model, generating) in :func:`paused`.
Inside the block the limit is raised as ``_Breach`` (a BaseException, so a
method's ``except Exception`` cannot swallow it; it is re-raised every tick
anyway) and leaves the block as :class:`LimitExceeded`.

Not stoppable: a single long C-level operation (huge ``pow``, a catastrophic
regex, ``sum(range(10**12))``) runs to completion before the next tick, and one
huge allocation happens before it can be measured (the static audit catches the
visible cases); with the rss probe, memory that other threads allocate meanwhile counts too.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import tracemalloc
from types import TracebackType
from typing import Any, Iterator

from batos.errors import LimitExceeded

DEFAULT_TIMEOUT = 5.0
DEFAULT_RECURSION = 4000
DEFAULT_MEMORY_MB = 512
TICK = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_local = threading.local()


_STATM: tuple[int, int] | None = None  # (pid, fd of /proc/self/statm), read with pread


def rss_anon() -> int:
    """Anonymous resident memory of this process in bytes (peak RSS off Linux)."""
    global _STATM
    try:
        pid = os.getpid()
        if _STATM is None or _STATM[0] != pid:  # (re)open after a fork: /proc/self is bound
            _STATM = (pid, os.open("/proc/self/statm", os.O_RDONLY))
        fields = os.pread(_STATM[1], 256, 0).split()
        return (int(fields[1]) - int(fields[2])) * _PAGE
    except (OSError, IndexError, ValueError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def paused(*, time_limit: bool = True, memory: bool = True) -> Iterator[None]:
    """Suspend the innermost active limits of this thread for work that is not the
    method's doing (model loads, generation): the time spent inside extends the
    deadline and the memory grown inside is not counted.  A no-op outside limits."""
    active = getattr(_local, "stack", None)
    if not active:
        yield
        return
    lim = active[-1]
    t0 = time.monotonic()
    before = lim._probe() if memory and lim._trace_mem else 0
    lim._paused += 1
    try:
        yield
    finally:
        if time_limit:
            lim._deadline += time.monotonic() - t0
        if memory and lim._trace_mem:
            lim._mem_base += max(lim._probe() - before, 0)
        lim._paused -= 1


def exempt() -> contextlib.AbstractContextManager[None]:
    """Memory grown inside does not count (the time still does)."""
    return paused(time_limit=False)


class _Breach(BaseException):
    """Raised inside the guarded block; converted to LimitExceeded on exit."""

    message = "a runtime limit was exceeded"

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or (self.message,)))


class MemoryLimitExceeded(LimitExceeded):
    """The statement's traced memory grew past its cap."""


class TimeLimitExceeded(LimitExceeded):
    """The statement ran past its wall-clock limit."""


class RecursionLimitExceeded(LimitExceeded):
    """The statement recursed deeper than its cap."""


def _depth() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


class limits:  # noqa: N801 - used as a function-like context manager
    """Context manager: ``with limits(timeout=5.0, recursion=1000, memory_mb=512):``.

    Any limit may be None to disable it.  Restores the signal handler, the
    interval timer, the recursion limit and tracemalloc's state on exit.
    """

    def __init__(self, timeout: float | None = DEFAULT_TIMEOUT,
                 recursion: int | None = DEFAULT_RECURSION,
                 memory_mb: int | None = DEFAULT_MEMORY_MB,
                 memory_probe: str = "rss") -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None)")
        if memory_probe not in ("rss", "tracemalloc"):
            raise ValueError("memory_probe must be 'rss' or 'tracemalloc'")
        self.memory_probe = memory_probe
        self.timeout = timeout
        self.recursion = recursion
        self.memory_mb = memory_mb
        self._breach: type[_Breach] | None = None
        self._active = False
        self._paused = 0

    # -- the check, run from the tick or the watchdog -----------------------------------
    def _exceeded(self) -> type[_Breach] | None:
        if self._breach is not None:
            return self._breach
        if self._paused:
            return None
        if self.timeout is not None and time.monotonic() > self._deadline:
            msg = f"statement exceeded the {self.timeout:g} s time limit"
            self._breach = type("_TimeBreach", (_Breach,), {"message": msg, "kind": "time"})
        elif self._trace_mem:
            current = self._probe() - self._mem_base
            if current > self.memory_mb * 2**20:  # type: ignore[operator]
                msg = (f"statement exceeded the {self.memory_mb} MB memory limit "
                       f"(grew by {current / 2**20:.0f} MB)")
                self._breach = type("_MemBreach", (_Breach,), {"message": msg,
                                                                "kind": "memory"})
        return self._breach

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._active:
            breach = self._exceeded()
            if breach is not None:
                raise breach()

    def _watch(self) -> None:
        while not self._stop.wait(TICK):
            with self._lock:
                if not self._active:
                    return
                breach = self._exceeded()
                if breach is not None:
                    self._fired = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self._tid), ctypes.py_object(breach))

    # -- entering and leaving -------------------------------------------------------------
    def __enter__(self) -> "limits":
        self._deadline = time.monotonic() + (self.timeout or 0)
        self._old_recursion = sys.getrecursionlimit()
        if self.recursion is not None:
            self._rec_limit = _depth() + self.recursion
            sys.setrecursionlimit(max(self._rec_limit, 50))
        self._started_trace = False
        self._trace_mem = self.memory_mb is not None
        if self._trace_mem:
            if self.memory_probe == "tracemalloc":
                if not tracemalloc.is_tracing():
                    tracemalloc.start()
                    self._started_trace = True
                self._probe = lambda: tracemalloc.get_traced_memory()[0]
            else:
                self._probe = rss_anon
            self._mem_base = self._probe()
        if not hasattr(_local, "stack"):
            _local.stack = []
        _local.stack.append(self)
        self._main = threading.current_thread() is threading.main_thread()
        self._watcher: threading.Thread | None = None
        self._fired = False
        needs_tick = self.timeout is not None or self._trace_mem
        if needs_tick and self._main and hasattr(signal, "setitimer"):
            self._old_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            # restart interrupted system calls: C code running meanwhile (llama.cpp)
            # must not see EINTR; the handler still runs between bytecodes
            signal.siginterrupt(signal.SIGALRM, False)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, TICK, TICK)
            self._t0 = time.monotonic()
        elif needs_tick:
            self._tid = threading.get_ident()
            self._stop = threading.Event()
            self._lock = threading.Lock()
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name="batos-limits")
        self._active = True
        if self._watcher is not None:
            self._watcher.start()
        return self

    def _restore(self) -> None:
        if self._watcher is not None:
            with self._lock:
                self._active = False
                if self._fired:  # cancel an exception not yet delivered
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self._tid), None)
            self._stop.set()
            self._watcher.join()
        elif hasattr(self, "_old_handler"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old_handler)
            delay, interval = self._old_timer
            if delay:  # resume an outer timer, minus the time spent here
                spent = time.monotonic() - self._t0
                signal.setitimer(signal.ITIMER_REAL, max(delay - spent, 0.001), interval)
            del self._old_handler
        sys.setrecursionlimit(self._old_recursion)
        if _local.stack and _local.stack[-1] is self:
            _local.stack.pop()
        if self._started_trace:
            tracemalloc.stop()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        self._active = False
        try:
            self._restore()
        finally:
            pass
        if exc_type is None:
            return False
        if isinstance(exc, _Breach):
            kind = getattr(exc, "kind", "time")
            cls = MemoryLimitExceeded if kind == "memory" else TimeLimitExceeded
            raise cls(str(exc), limit=kind) from None
        if isinstance(exc, RecursionError) and self.recursion is not None:
            raise RecursionLimitExceeded(
                f"statement exceeded the recursion limit of {self.recursion} frames",
                limit="recursion") from None
        if isinstance(exc, MemoryError):
            raise MemoryLimitExceeded("statement ran out of memory", limit="memory") from None
        return False
