"""``batos repl`` as a small supervisor: the seeds' watchdog ("Ship of Theseus").

The REPL runs in a forked child; this process only waits.  When a statement is
stuck in C past its hard deadline (2x the time limit, in CPU time), the kernel's
soft ``RLIMIT_CPU`` sends SIGXCPU and the guardian's handler
(``batos.guardian.process``: faulthandler's, in C) dumps the stacks and ends the
child with ``_exit(SIGXCPU)`` before anything was committed.  The supervisor sees
that status while the deadline the child published in shared memory was armed,
says what happened, and starts a fresh child on the same image; the prompt history is a file, so it is kept (workspace variables
are not).  Restarting needs no ``execve``: the supervisor forks from its own clean
state (it never opens the image, loads the model or runs a statement), so a child
confined by ``batos.guardian.confine`` is simply replaced.

In pipe mode the supervisor prints ``ERROR: <what happened>`` on stdout and exits
1: the statements after the one that hung are not run (the child had read ahead
of it in stdin).  The one-shot commands (``eval``, ``send``, ``run``, ``inspect``)
run under :func:`watched`: the same fork and wait, ``error: <what happened>`` on
stderr (or JSON) and exit 1.

Signals: Ctrl-C and Ctrl-Z from the terminal reach the whole process group, so
the child gets them itself; a SIGINT/SIGTERM/SIGHUP sent to the supervisor alone
(``kill PID``) is passed on to the child.  ``BATOS_SUPERVISE=0`` runs the REPL in
this process.
"""
from __future__ import annotations

import mmap
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable, TextIO

__all__ = ["supervised", "watched", "can_supervise", "MAX_RESTARTS", "HARD_DEADLINE_EXIT"]

MAX_RESTARTS = 20
HARD_DEADLINE_EXIT = int(getattr(signal, "SIGXCPU", 24))  # _exit(SIGXCPU), or killed by it
_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD}
_SI_USER = 0                    # si_code of a kill(2); the terminal's signals are SI_KERNEL
_in_child = False


def can_supervise(stdin: TextIO | None = None) -> bool:
    """Whether ``batos repl`` may fork a supervised child here: the real stdin and
    stdout (not a test's in-memory streams), no threads yet, not already a child."""
    if _in_child or not hasattr(os, "fork") or not hasattr(signal, "sigtimedwait"):
        return False
    if os.environ.get("BATOS_SUPERVISE", "1").strip().lower() in ("0", "off", "no", "false"):
        return False
    stdin = stdin or sys.stdin
    try:
        if stdin is not sys.stdin or stdin.fileno() != 0 or sys.stdout.fileno() != 1:
            return False
    except (AttributeError, OSError, ValueError):
        return False
    return threading.active_count() == 1


def _log_path() -> Path:
    from batos.repl.config import state_dir
    return state_dir() / "hard-deadline.log"


def _open_log() -> int | None:
    try:
        path = _log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return None


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _child(run: Callable[[], int], state: mmap.mmap, log: int | None, parent: int) -> None:
    """In the fork: run the REPL; a normal end skips interpreter finalization, so no
    finalizer of a statement's objects runs outside the statement's limits."""
    global _in_child
    _in_child = True
    _die_with_parent(parent)
    from batos.guardian import limits
    limits.preopen()   # /proc/self of this process, opened before any confinement
    if log is not None:
        os.write(log, f"\n--- batos repl pid {os.getpid()} {time.ctime()}\n".encode())
    limits.share_hard_deadline(state, log)
    code = run()       # an exception goes on up the CLI's own error handling
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code if isinstance(code, int) else 1)


def _wait(pid: int) -> int:
    """Wait for the child, passing on signals sent to this process alone; its wait status."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            info = signal.sigtimedwait(_SIGNALS, 0.5)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if info.si_signo == signal.SIGINT and info.si_code != _SI_USER:
                continue   # the terminal's Ctrl-C: the child got it too
            try:
                os.kill(pid, info.si_signo)
            except ProcessLookupError:
                pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _reason(code: int, state: mmap.mmap) -> str | None:
    """What ended the child, when it was a statement that never finished; else None."""
    from batos.guardian.limits import HARD_FACTOR, HARD_STATE
    deadline, limit = HARD_STATE.unpack_from(state)
    if not deadline:
        return None
    if code in (HARD_DEADLINE_EXIT, -HARD_DEADLINE_EXIT):  # SIGXCPU while armed
        hard = f"{limit * HARD_FACTOR:g} s, {HARD_FACTOR:g}x the {limit:g} s time limit"
        return (f"a statement was still running in C code at its hard deadline ({hard}); "
                "the process was ended and nothing was committed")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
        return f"the REPL process was killed ({name}) while a statement ran; nothing was committed"
    return None


def _note(log: int | None, pid: int, reason: str) -> None:
    """Say in the log, under the stacks the child wrote, why they were written."""
    if log is not None:
        try:
            os.write(log, f"--- hard deadline: batos pid {pid} ended: {reason}\n".encode())
        except OSError:
            pass


def _exit_code(run: Callable[[], object], *, forked: bool = False) -> int:
    """``run()``'s exit code, a SystemExit included (what ``sys.exit`` would make of
    it); ``forked``: any other exception is printed and gives 1, so that the child
    never returns into the parent's code."""
    try:
        code = run()
    except SystemExit as exc:
        code = exc.code
    except BaseException:
        if not forked:
            raise
        import traceback
        traceback.print_exc()
        return 1
    if code is None or isinstance(code, int):
        return code or 0
    sys.stderr.write(f"{code}\n")
    return 1


def watched(run: Callable[[], object], *, as_json: bool = False) -> int:
    """Run a one-shot command (``run``: the CLI) in a forked child when
    :func:`can_supervise`, else here; the exit code.  A statement ended at its hard
    deadline gives ``error: <what happened>`` on stderr (``as_json``: a JSON error on
    stdout) and exit 1, after the stacks the child wrote on stderr."""
    if not can_supervise():
        return _exit_code(run)
    state = mmap.mmap(-1, 16)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
        if pid == 0:
            _child(lambda: _exit_code(run, forked=True), state, None, parent)
        code = os.waitstatus_to_exitcode(_wait(pid))
    except KeyboardInterrupt:
        return 130
    reason = _reason(code, state)
    if reason is None:
        return code if code >= 0 else 128 - code
    if as_json:
        import json
        sys.stdout.write(json.dumps({"ok": False, "error": "HardDeadline",
                                     "message": reason}, indent=2) + "\n")
    else:
        sys.stderr.write(f"error: {reason}\n")
    return 1


def supervised(run: Callable[[], int], *, interactive: bool,
               stdin: TextIO | None = None) -> int:
    """Run ``run`` (the REPL) under a supervisor when :func:`can_supervise`, else here;
    the exit code."""
    if not can_supervise(stdin):
        return run()
    state = mmap.mmap(-1, 16)
    log = _open_log()
    parent = os.getpid()
    restarts = 0
    try:
        while True:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(run, state, log, parent)
            status = _wait(pid)
            code = os.waitstatus_to_exitcode(status)
            reason = _reason(code, state)
            if reason is None:
                return code if code >= 0 else 128 - code
            state[:] = bytes(len(state))
            _note(log, pid, reason)
            if not interactive:
                sys.stdout.write(f"ERROR: {reason}\n")
                sys.stdout.flush()
                return 1
            restarts += 1
            where = f" (stacks in {_log_path()})" if log is not None else ""
            if restarts > MAX_RESTARTS:
                sys.stderr.write(f"batos: {reason}{where}; {MAX_RESTARTS} restarts, giving up\n")
                return 1
            sys.stderr.write(f"batos: {reason}{where}.\nbatos: restarting the REPL on the same "
                             "image (history kept; workspace variables are gone).\n")
    except KeyboardInterrupt:
        return 130
    finally:
        if log is not None:
            os.close(log)
