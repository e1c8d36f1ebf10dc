"""Runtime limits for one top-level send: wall clock, recursion, memory, a hard deadline.

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
anyway) and leaves the block as :class:`LimitExceeded`.  A breach is sticky: once
a limit fired, the block fails on exit even if code caught the breach.

Two process-level guards cover what the tick cannot stop:

* **The memory cap.**  The outermost block sets a soft ``RLIMIT_DATA`` (private
  writable memory; ``RLIMIT_AS`` where the kernel predates 4.7) to the current
  usage plus the memory budget, so one huge allocation (``bytearray(n)``,
  ``'a' * n``) fails *itself* with MemoryError instead of exhausting the machine.
  A read-only memory-mapped model is not data, and the cap is relative to what is
  already mapped anyway.  :func:`paused` lifts it (generation allocates), and it is
  restored on exit.
* **The hard deadline.**  Work stuck in one C call (``sum(range(10**13))``) never
  reaches a bytecode boundary, so no Python handler or thread runs.  The kernel
  ends it: while the block runs, the soft ``RLIMIT_CPU`` is this process's CPU time
  plus ``HARD_FACTOR`` × the time limit (rounded up to a whole second; two
  ``setrlimit`` calls per statement, no thread).  Past it, SIGXCPU runs
  ``faulthandler``'s C handler (no GIL needed), which dumps the stacks and chains
  to ``_exit(SIGXCPU)``: nothing was committed.  A supervisor (``batos repl``;
  ``batos eval``/``send``/``run``/``inspect``) learns of it through
  :func:`share_hard_deadline` and the exit status, says so, and (the REPL) restarts.
  It is CPU time, of every thread: every C-level runaway we know burns CPU
  (``sum(range(10**13))``, ``any(iter(int, 1))``, a huge ``pow``, a regex), while a
  statement blocked *without* using CPU is bounded by the ordinary time limit only.
  :func:`paused` lifts it (a multi-threaded model burns CPU faster than wall time)
  and re-arms it after, not counting the CPU spent inside.
"""
from __future__ import annotations

import _signal  # signal.signal's C core: no enum conversion (~3 us a call)
import contextlib
import ctypes
import gc
import os
import signal
import sys
import threading
import time
import tracemalloc
from types import TracebackType
from typing import Any, Iterator, Mapping

from batos.errors import LimitExceeded
from batos.guardian.process import (HARD_EXIT, HARD_STATE, _MemoryCap,  # noqa: F401 (re-exported)
                                    _proc, _set_hard, cap_owner, cpu_time, peak_reset,
                                    preopen, resident, share_hard_deadline, vm_usage)

DEFAULT_TIMEOUT = 5.0
DEFAULT_RECURSION = 4000
DEFAULT_MEMORY_MB = 512
HARD_FACTOR = 2.0  # the hard deadline, as a multiple of the time limit
TICK = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_local = threading.local()


def rss_anon() -> int:
    """Anonymous resident memory of this process in bytes (peak RSS off Linux)."""
    try:
        fields = os.pread(_proc("statm"), 256, 0).split()  # reopened after a fork
        return (int(fields[1]) - int(fields[2])) * _PAGE
    except (OSError, IndexError, ValueError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def configured_timeout(options: Mapping[str, Any] | None = None) -> float | None:
    """The statement time limit: the ``timeout`` setting (a flag, ``options['timeout']``,
    ``$BATOS_TIMEOUT``; seconds, 0 = none; :mod:`batos.settings`), else 5 s."""
    from batos.settings import setting
    return setting("timeout", options=options, default=DEFAULT_TIMEOUT)


def configured_memory_mb(options: Mapping[str, Any] | None = None) -> int | None:
    """The statement memory budget: the ``memory_mb`` setting (a flag,
    ``options['memory_mb']``, ``$BATOS_MEMORY_MB``; 0 = none), else 512."""
    from batos.settings import setting
    return setting("memory_mb", options=options, default=DEFAULT_MEMORY_MB)


@contextlib.contextmanager
def paused(*, time_limit: bool = True, memory: bool = True) -> Iterator[None]:
    """Suspend the innermost active limits of this thread for work that is not the
    method's doing (model loads, generation): the time spent inside extends the
    deadline (the hard one is off meanwhile and re-armed after, not counting the
    CPU time spent inside) and the memory grown inside is not counted (the memory
    cap is lifted meanwhile).  A no-op outside limits."""
    active = getattr(_local, "stack", None)
    if not active:
        yield
        return
    lim = active[-1]
    t0 = time.monotonic()
    before = lim._probe() if memory and lim._trace_mem else 0
    lim._paused += 1
    owner = cap_owner() if memory else None
    cap = owner if owner is not None and owner.active else None
    left = cap.lift() if cap is not None else 0
    hard = time_limit and lim._hard_at is not None
    if hard:
        _set_hard(id(lim), None)
        c0 = cpu_time()
    try:
        yield
    finally:
        if time_limit:
            spent = time.monotonic() - t0
            lim._deadline += spent
            if hard and lim._hard_at is not None:
                lim._hard_at += cpu_time() - c0
        if memory and lim._trace_mem:
            lim._mem_base += max(lim._probe() - before, 0)
        if cap is not None:
            cap.apply(left)
        if hard and lim._active:
            lim._cpu_mark = (cpu_time(), time.thread_time())
            _set_hard(id(lim), lim._hard_at, lim.timeout or lim.hard_deadline or 0.0)
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


class _CommitGate:
    """A data manager sorted after every connection: its ``commit`` runs once all
    objects were pickled and stored, before any vote; from there on no limit may
    interrupt the two-phase commit."""

    def __init__(self, guard: "limits") -> None:
        self.guard = guard

    def sortKey(self) -> str:  # noqa: N802 (transaction API)
        return "\uffffbatos-limits-commit-gate"

    def commit(self, txn: Any) -> None:
        self.guard._stop_ticking()

    def tpc_begin(self, txn: Any) -> None:
        pass

    def tpc_vote(self, txn: Any) -> None:
        pass

    def tpc_finish(self, txn: Any) -> None:
        pass

    def tpc_abort(self, txn: Any) -> None:
        pass

    def abort(self, txn: Any) -> None:
        pass


def _caused_by_memory_error(exc: BaseException) -> bool:
    """``exc`` is a MemoryError or wraps one (a BST error keeps it as ``cause``)."""
    for _ in range(8):
        if exc is None or isinstance(exc, MemoryError):
            return exc is not None
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__  # type: ignore
    return False


class _Committing:
    """``with guard.committing(txn):`` (see :meth:`limits.committing`); a plain class,
    cheaper per statement than a generator-based context manager."""

    __slots__ = ("guard", "txn")

    def __init__(self, guard: "limits", txn: Any) -> None:
        self.guard, self.txn = guard, txn

    def __enter__(self) -> None:
        self.guard._begin_commit(self.txn)

    def __exit__(self, *exc: object) -> bool:
        return False


def _depth() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        f, n = f.f_back, n + 1
    return n


class limits:  # noqa: N801 - used as a function-like context manager
    """Context manager: ``with limits(timeout=5.0, recursion=1000, memory_mb=512):``.

    Any limit may be None to disable it.  ``hard_deadline`` (CPU seconds; default
    ``HARD_FACTOR`` x ``timeout``) ends the process when work is stuck in C;
    ``memory_cap`` sets the soft rlimit; ``collect`` runs ``gc.collect()`` inside the
    limits on a clean exit (the block's garbage is finalized under them).  Restores
    the signal handler, the interval timer, the recursion limit, the rlimits and
    tracemalloc's state on exit.
    """

    def __init__(self, timeout: float | None = DEFAULT_TIMEOUT,
                 recursion: int | None = DEFAULT_RECURSION,
                 memory_mb: int | None = DEFAULT_MEMORY_MB,
                 memory_probe: str = "rss", *, hard_deadline: float | None | object = ...,
                 memory_cap: bool = True, collect: bool = False) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None)")
        if memory_probe not in ("rss", "tracemalloc"):
            raise ValueError("memory_probe must be 'rss' or 'tracemalloc'")
        if hard_deadline is ...:
            hard_deadline = timeout * HARD_FACTOR if timeout is not None else None
        self.memory_probe = memory_probe
        self.timeout = timeout
        self.recursion = recursion
        self.memory_mb = memory_mb
        self.hard_deadline: float | None = hard_deadline  # type: ignore[assignment]
        self.memory_cap = memory_cap
        self.collect = collect
        self._breach: type[_Breach] | None = None
        self._active = False
        self._paused = 0
        self._hard_at: float | None = None
        self._cpu_mark: tuple[float, float] | None = None  # (process, thread) CPU seconds
        self._cap: _MemoryCap | None = None
        self._committing = False

    # -- the check, run from the tick or the watchdog -----------------------------------
    def _memory_breach(self, detail: str) -> type[_Breach]:
        msg = f"statement exceeded the {self.memory_mb} MB memory limit ({detail})"
        return type("_MemBreach", (_Breach,), {"message": msg, "kind": "memory"})

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
                self._breach = self._memory_breach(f"grew by {current / 2**20:.0f} MB")
            elif self._cap is not None and self._cap.pressed():
                self._breach = self._memory_breach("an allocation failed")
        return self._breach

    def _credit_other_threads(self) -> None:
        """RLIMIT_CPU counts every thread; the statement answers only for the CPU its own
        thread used (a KV-state writer or model threads may run beside it), so each tick
        moves the hard deadline by what other threads used since the last one.  When the
        thread is stuck in C no tick runs, and the last deadline stands."""
        mark = self._cpu_mark
        if mark is None or self._hard_at is None or self._paused:
            return
        process, thread = cpu_time(), time.thread_time()
        other = (process - mark[0]) - (thread - mark[1])
        self._cpu_mark = (process, thread)
        if other > 0:
            self._hard_at += other
            _set_hard(id(self), self._hard_at, self.timeout or self.hard_deadline or 0.0)

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._active:
            self._credit_other_threads()
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
        statm = None
        if self._trace_mem:
            if self.memory_probe == "tracemalloc":
                if not tracemalloc.is_tracing():
                    tracemalloc.start()
                    self._started_trace = True
                self._probe = lambda: tracemalloc.get_traced_memory()[0]
                self._mem_base = self._probe()
            else:
                self._probe = rss_anon
                try:  # one read for the base and the memory cap
                    statm = os.pread(_proc("statm"), 256, 0).split()
                    self._mem_base = (int(statm[1]) - int(statm[2])) * _PAGE
                except (OSError, IndexError, ValueError):
                    statm, self._mem_base = None, rss_anon()
        if not hasattr(_local, "stack"):
            _local.stack = []
        _local.stack.append(self)
        self._main = threading.current_thread() is threading.main_thread()
        self._watcher: threading.Thread | None = None
        self._fired = False
        needs_tick = self.timeout is not None or self._trace_mem
        if needs_tick and self._main and hasattr(signal, "setitimer"):
            self._old_handler = _signal.signal(signal.SIGALRM, self._on_alarm)
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
        self._gc_stats = gc.get_stats() if self.collect else None  # collections so far
        if self.hard_deadline is not None:  # a soft RLIMIT_CPU (process.py)
            self._cpu_mark = (cpu_time(), time.thread_time())
            self._hard_at = self._cpu_mark[0] + self.hard_deadline
            _set_hard(id(self), self._hard_at, self.timeout or self.hard_deadline)
        self._active = True
        if self._watcher is not None:
            self._watcher.start()
        if self.memory_mb is not None and self.memory_cap:  # last: nothing above allocates
            cap = _MemoryCap(self.memory_mb * 2**20)
            self._cap = cap if cap.apply(statm=statm) else None
        return self

    def settle(self) -> None:
        """End of the block's own work: collect its garbage (``collect``; finalizers
        run here, under the limits) and raise the breach if any limit fired, even
        one the block caught and swallowed."""
        if self.collect:  # the youngest generation that holds every object of the block:
            # a pass promotes the survivors of the generations it collected one up
            before, now = self._gc_stats, gc.get_stats()
            gc.collect(2 if now[1] != before[1] or now[2] != before[2] else  # type: ignore[index]
                       0 if now[0] == before[0] else 1)  # type: ignore[index]
        breach = self._breach
        if breach is None and self._cap is not None and self._cap.pressed():
            breach = self._breach = self._memory_breach("an allocation failed")
        if breach is not None:
            raise breach()

    def committing(self, txn: Any = None) -> _Committing:
        """Wrap the commit that ends the block (settled first).  The commit gets a
        fresh memory budget over what the block holds, watched by the tick, not the
        rlimit: zodbpickle's C pickler crashes (SIGSEGV, measured) when an allocation
        fails.  The tick and the hard deadline stay on while the objects are pickled
        and stop once they are (``txn``: the transaction, which a last-sorted data
        manager joins to say when), so a commit is never cut halfway through writing."""
        return _Committing(self, txn)

    def _begin_commit(self, txn: Any) -> None:
        self.settle()
        self._committing = True
        statm = None
        if self._cap is not None:
            statm = self._cap.statm   # settle() just read it
            self._cap.lift(check=False)
            self._cap = None
        if self._trace_mem:
            try:
                self._mem_base = ((int(statm[1]) - int(statm[2])) * _PAGE  # type: ignore[index]
                                  if statm and self._probe is rss_anon else self._probe())
            except (IndexError, ValueError):
                self._mem_base = self._probe()
        if txn is None:
            self._stop_ticking()
        else:
            txn.join(_CommitGate(self))

    def _stop_ticking(self) -> None:
        self._paused += 1
        if self._hard_at is not None:
            _set_hard(id(self), None)
            self._hard_at = None

    def _restore(self) -> None:
        if self._cap is not None:
            self._cap.lift(check=False)  # __exit__ checked it
        if self._hard_at is not None:
            _set_hard(id(self), None)
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
            _signal.signal(signal.SIGALRM, self._old_handler)
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
        settled = exc_type is None and not self._committing
        if settled:
            try:
                self.settle()
            except _Breach as breach:
                exc_type, exc = type(breach), breach
        self._active = False  # no tick raises from here on
        cap = self._cap  # settle() just checked it: nothing ran since
        pressed = cap is not None and (cap.hit if settled else cap.pressed())
        self._restore()
        if self._committing and exc_type is None:
            return False
        if not isinstance(exc, _Breach) and not self._committing:
            if self._breach is not None:   # fired, then caught by the block: still fails
                exc = self._breach()
            elif pressed and exc is not None and not _caused_by_memory_error(exc):
                exc = self._memory_breach("an allocation failed")()
        if exc is None:
            return False
        if isinstance(exc, _Breach):
            kind = getattr(exc, "kind", "time")
            cls = MemoryLimitExceeded if kind == "memory" else TimeLimitExceeded
            raise cls(str(exc), limit=kind) from None
        if isinstance(exc, RecursionError) and self.recursion is not None:
            raise RecursionLimitExceeded(
                f"statement exceeded the recursion limit of {self.recursion} frames",
                limit="recursion") from None
        if _caused_by_memory_error(exc):
            what = (f"statement exceeded the {self.memory_mb} MB memory limit (an allocation "
                    "failed)" if self.memory_mb is not None else "statement ran out of memory")
            raise MemoryLimitExceeded(what, limit="memory") from None
        return False
