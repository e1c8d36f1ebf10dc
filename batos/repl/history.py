"""Input history: a file in ``$XDG_STATE_HOME/batos/history``, or memory when it can't be.

Writes take an exclusive ``flock`` so two REPLs sharing the file never interleave
entries. When the file cannot be created or written, or another process holds
its lock for longer than a moment, the entry is kept in memory only (this
session still recalls it) and the reason is remembered in ``problem``.
"""
from __future__ import annotations

import fcntl
import time
from pathlib import Path
from typing import Iterable

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from batos.repl.config import state_dir

__all__ = ["ReplHistory", "make_history", "default_history_path"]

LOCK_WAIT = 0.2  # seconds to wait for another REPL's lock before keeping an entry in memory


def default_history_path() -> Path:
    return state_dir() / "history"


class ReplHistory(FileHistory):
    """A FileHistory that degrades to memory instead of raising."""

    def __init__(self, filename: str | Path) -> None:
        super().__init__(str(filename))
        self.path = Path(filename)
        self.in_memory = False
        self.problem: str | None = None

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(super().load_history_strings())
        except (OSError, UnicodeDecodeError) as exc:
            self._degrade(f"cannot read {self.path}: {exc}")
            return []

    def store_string(self, string: str) -> None:
        if self.in_memory:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                if not _lock(f.fileno()):
                    self.problem = f"{self.path} is locked by another process; entry kept in memory"
                    return
                try:
                    lines = [f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')}\n"]
                    lines += [f"+{line}\n" for line in string.split("\n")]
                    f.write("".join(lines).encode("utf-8"))
                finally:
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        except OSError as exc:
            self._degrade(f"cannot write {self.path}: {exc.strerror or exc}")

    def _degrade(self, reason: str) -> None:
        self.in_memory = True
        self.problem = f"{reason}; history kept in memory for this session"


def _lock(fd: int) -> bool:
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def make_history(path: str | Path | None = None) -> tuple[History, str]:
    """The history for a session and a line describing it (for ``--verbose``).

    Falls back to :class:`InMemoryHistory` when the file's directory can't be
    created or the file can't be opened for appending.
    """
    target = Path(path).expanduser() if path else default_history_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab"):
            pass
    except OSError as exc:
        return InMemoryHistory(), (f"history: {target} is not writable "
                                   f"({exc.strerror or exc}); kept in memory")
    return ReplHistory(target), f"history: {target}"
