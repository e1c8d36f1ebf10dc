"""The heartbeat's forge launcher: the one process that may still start a program.

``batos heartbeat`` confines itself (:mod:`batos.guardian.confine`: seccomp answers
``execve`` with EPERM, Landlock limits files) because its beats run model-written code.
Starting ``batos forge train`` needs exec, so before confining the heartbeat forks a
:class:`ForgeLauncher`: a tiny unconfined child that closes every other descriptor
(the image's lock among them), reads persona names from a socket, one a line, and for
a name in the fixed set it was given starts the same niced, detached command. It
accepts nothing else (no paths, no arguments, no commands), answers one line per
request, and exits at EOF, i.e. when the heartbeat exits (also on the parent's death:
``PR_SET_PDEATHSIG``).
"""
from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from typing import Callable, Iterable

from batos.guardian.forked import ForkedHelper

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def forge_argv(image: str) -> Callable[[str], list[str]]:
    """The command for a persona: ``nice -n 10 python -m batos.cli.main forge train
    PERSONA --image IMAGE``."""
    def argv(persona: str) -> list[str]:
        return ["nice", "-n", "10", sys.executable, "-m", "batos.cli.main", "forge", "train",
                persona, "--image", image]
    return argv


def start(argv: list[str], log: Path) -> int:
    """Start ``argv`` detached (its own session), appending its output to ``log``;
    answers its pid."""
    import subprocess
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                close_fds=True).pid


def valid(persona: str, personas: Iterable[str]) -> str:
    """Why ``persona`` is refused ('' when it is one of ``personas``)."""
    if not NAME.fullmatch(persona):
        return f"not a persona name: {persona!r}"
    if persona not in set(personas):
        return f"unknown persona {persona!r}"
    return ""


def _reap() -> None:  # pragma: no cover - the child
    """Collect finished forge runs (no zombies while the heartbeat lives)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


class ForgeLauncher(ForkedHelper):
    """A forked, unconfined child that starts ``argv(persona)`` for known personas only."""

    def __init__(self, personas: Iterable[str], argv: Callable[[str], list[str]],
                 log: Path) -> None:
        self.personas = frozenset(str(p) for p in personas)
        self.argv, self.log = argv, Path(log)
        self._fork()

    def _serve(self, sock: socket.socket) -> None:  # pragma: no cover - the child
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is for the heartbeat
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for line in sock.makefile("rb"):
            _reap()
            name = line.rstrip(b"\n").decode("utf-8", "replace")
            why = valid(name, self.personas)
            if why:
                sock.sendall(f"refused {why}\n".encode("utf-8", "replace"))
                continue
            try:
                sock.sendall(f"started {start(self.argv(name), self.log)}\n".encode())
            except OSError as exc:
                sock.sendall(f"failed {exc.strerror or exc}\n".encode("utf-8", "replace"))

    def request(self, persona: str) -> str:
        """Ask for a forge run of ``persona``; the launcher's answer (``started PID``,
        ``refused WHY``, ``failed WHY``, or ``failed: the launcher is gone``)."""
        if "\n" in persona or "\r" in persona:
            return f"refused not a persona name: {persona!r}"
        answer = self.ask(persona.encode("utf-8", "replace"))
        if answer is None:
            return "failed: the launcher is gone"
        return answer.decode("utf-8", "replace")


__all__ = ["ForgeLauncher", "forge_argv", "valid", "start"]
