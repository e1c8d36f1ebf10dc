"""Helpers forked before confinement: they keep the powers the confined parent gives up,
so each accepts one narrow kind of request over a socket pair (:class:`ForkedHelper`):
the REPL's editor on a file in batos's temp dir (:class:`EditorHelper`), the
heartbeat's forge runs for known personas (:mod:`batos.cli.forge_launcher`)."""
from __future__ import annotations

import ctypes
import os
import shlex
import socket

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong)


# -- helpers forked before the filter ---------------------------------------------------------
def _detach(sock: socket.socket) -> None:  # pragma: no cover - the child
    """The child's start: killed with its parent, and holding no descriptor but its end
    of the socket pair (not the image's files nor its lock)."""
    _libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


class ForkedHelper:
    """A child forked before confinement that answers one-line requests on a socket pair
    with one line (:meth:`ask`), runs ``_serve`` and exits at EOF (:meth:`close`). It
    keeps the powers the parent then gives up, so ``_serve`` must accept only narrow
    requests (an editor on a temp file, a known persona's forge run)."""

    def _fork(self) -> None:
        parent, child = socket.socketpair()
        pid = os.fork()
        if pid == 0:                             # pragma: no cover - runs in the child
            parent.close()
            code = 0
            try:
                _detach(child)
                self._serve(child)
            except BaseException:  # noqa: BLE001 - the child never returns into the caller
                code = 1
            os._exit(code)
        child.close()
        self.pid, self._sock = pid, parent

    def _serve(self, sock: socket.socket) -> None:  # pragma: no cover - the child
        raise NotImplementedError

    def ask(self, request: bytes) -> bytes | None:
        """Send one request line; its one-line answer, or None when the helper is gone."""
        try:
            self._sock.sendall(request + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = self._sock.recv(256)
                if not chunk:
                    return None
                answer += chunk
            return answer.strip()
        except OSError:
            return None

    def close(self) -> None:
        """EOF to the helper; wait for it to exit."""
        try:
            self._sock.close()
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass


# -- $EDITOR through a helper forked before the filter ---------------------------------------
class EditorHelper(ForkedHelper):
    """A process forked before confinement that runs ``$VISUAL``/``$EDITOR`` on files in
    the confined temp dir (prompt_toolkit's Ctrl-X Ctrl-E), and nothing else."""

    def __init__(self, allowed_dir: str) -> None:
        self.allowed_dir = os.path.realpath(allowed_dir)
        self._fork()

    def _serve(self, sock: socket.socket) -> None:  # pragma: no cover - child side
        import signal
        import subprocess
        signal.signal(signal.SIGINT, lambda *_: None)   # Ctrl-C is for the editor
        reader = sock.makefile("rb")
        for line in reader:
            name = os.fsdecode(line.rstrip(b"\n"))
            real = os.path.realpath(name)
            ok = (os.path.dirname(real) == self.allowed_dir and os.path.isfile(real)
                  and not os.path.islink(name))
            rc = 1
            if ok:
                for editor in (os.environ.get("VISUAL"), os.environ.get("EDITOR"),
                               "/usr/bin/editor", "/usr/bin/nano", "/usr/bin/vi"):
                    if not editor:
                        continue
                    try:
                        rc = subprocess.call(shlex.split(editor) + [real])
                        break
                    except OSError:
                        continue
            sock.sendall(b"%d\n" % rc)

    def edit(self, filename: str) -> bool:
        """Run the editor on ``filename``; True on exit status 0."""
        return self.ask(os.fsencode(filename)) == b"0"


__all__ = ["ForkedHelper", "EditorHelper"]
