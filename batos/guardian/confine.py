"""Defense in depth: once the image is open, the process drops what a statement never needs.

Two kernel layers under the in-process guardian (static rules, sandboxed namespace,
capability facades), so that a leak in those still cannot start a program or read the
user's files:

* **no new programs** -- a seccomp filter answers ``execve``/``execveat`` with EPERM
  (``os.system`` gets exit status 127, ``subprocess`` raises PermissionError; nothing
  is killed). Built with libseccomp through ``pyseccomp`` (which also checks the audit
  architecture and refuses x32 and foreign-ABI calls), else by a hand-built BPF program
  for x86_64/aarch64. ``PR_SET_NO_NEW_PRIVS`` first; applied to every thread (TSYNC).
* **files** -- Landlock (where the kernel has it): read/write only the image's files
  and blobs, batos's cache (models, KV files, a private temp dir), the REPL state dir
  and history; read-only the config dir, the model files, the Python installation and
  a few system files (shared libraries, time zones, certificates, ``/proc/self``,
  ``/dev/null``, ``/dev/urandom``). No execute right anywhere (a second wall against
  exec). Abstract unix sockets and signals are scoped to the process (ABI >= 6).

Only the CLI applies it (``batos eval|send|run|inspect|repl|heartbeat``), after opening the image
and before the first statement; ``BATOS_CONFINE=off`` (or ``image.options["confine"] =
False``) disables it, ``BATOS_CONFINE=debug`` prints one status line on stderr. The
model loads lazily after it: its file and the Python prefix stay readable.

Things a confined process gives up: spawning anything (``$EDITOR`` goes through
:class:`EditorHelper`, forked before the filter), writing outside the allowed set, new
files next to the image (so the FileStorage index is rewritten in place at close
instead of through a temp file and a rename in the image's directory).
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import struct
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from batos.guardian.forked import EditorHelper  # noqa: F401  (confine_cli; re-exported)

__all__ = ["Confinement", "confine", "confine_cli", "enabled", "probe", "landlock_abi",
           "EditorHelper", "ENV", "adapt_storage"]

ENV = "BATOS_CONFINE"
_OFF = ("off", "0", "no", "false")

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000

# machine -> (AUDIT_ARCH_*, execve, execveat, seccomp syscall, x32 bit to refuse)
_ARCHES: dict[str, tuple[int, int, int, int, int]] = {
    "x86_64": (0xC000003E, 59, 322, 317, 0x40000000),
    "amd64": (0xC000003E, 59, 322, 317, 0x40000000),
    "aarch64": (0xC00000B7, 221, 281, 277, 0),
    "arm64": (0xC00000B7, 221, 281, 277, 0),
}

# Landlock (the same numbers on every architecture: the generic syscall table)
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_LL_CREATE_RULESET_VERSION = 1
_LL_RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

RO = READ_FILE | READ_DIR
RW_FILE = READ_FILE | WRITE_FILE | TRUNCATE
RW_DIR = (RO | WRITE_FILE | TRUNCATE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG
          | REFER)

_SYSTEM_RO = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib",
              "/usr/share/zoneinfo", "/usr/share/ca-certificates", "/etc/ssl/certs",
              "/etc/ld.so.cache", "/etc/localtime", "/etc/hosts", "/etc/resolv.conf",
              "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf", "/proc/self",
              "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu",
              "/dev/urandom", "/dev/random", "/dev/zero")
_SYSTEM_RW = ("/dev/null", "/dev/tty")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong)

_APPLIED: "Confinement | None" = None


@dataclass
class Confinement:
    """What :func:`confine` applied, and what it could not."""

    seccomp: str = ""             # "libseccomp" | "bpf" | "" (not applied)
    landlock_abi: int = 0         # the ABI used; 0 when Landlock was not applied
    rules: list[tuple[str, int]] = field(default_factory=list)   # (path, access) added
    notes: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    tempdir: str = ""

    @property
    def active(self) -> bool:
        return bool(self.seccomp or self.landlock_abi)

    def summary(self) -> str:
        """One line: which layers are on, and why one is not."""
        parts = [f"exec blocked (seccomp, {self.seccomp})" if self.seccomp else "exec allowed",
                 f"files limited (Landlock ABI {self.landlock_abi}, {len(self.rules)} rules)"
                 if self.landlock_abi else "files not limited"]
        text = "confine: " + "; ".join(parts) + f" in {self.elapsed_ms:.1f} ms"
        return text + "".join(f"; {n}" for n in self.notes)


def enabled(image: Any = None) -> bool:
    """False with ``BATOS_CONFINE=off`` or ``image.options["confine"]`` false."""
    if os.environ.get(ENV, "on").strip().lower() in _OFF:
        return False
    options = getattr(image, "options", None) or {}
    return bool(options.get("confine", True))


# -- seccomp ------------------------------------------------------------------------------
def _arch() -> tuple[int, int, int, int, int] | None:
    return _ARCHES.get(platform.machine().lower())


def _no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")


def _import_pyseccomp() -> Any:
    """pyseccomp, imported without spawning ``ldconfig -p`` twice (its import looks up
    libc and libseccomp with ctypes.util.find_library: ~5-15 ms): the usual sonames are
    tried first, then the real lookup."""
    if "pyseccomp" in sys.modules:
        return sys.modules["pyseccomp"]
    import ctypes.util
    real = ctypes.util.find_library
    known = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}
    ctypes.util.find_library = lambda name: known.get(name) or real(name)  # type: ignore
    try:
        import pyseccomp
        return pyseccomp
    except OSError:
        sys.modules.pop("pyseccomp", None)
    finally:
        ctypes.util.find_library = real
    import pyseccomp                          # other sonames (musl, ...): the slow lookup
    return pyseccomp


def _libseccomp_filter() -> Any:
    """The filter, built (not loaded) with libseccomp; before Landlock (the lookup of the
    library may run ``ldconfig``)."""
    sc = _import_pyseccomp()  # a ctypes binding of libseccomp.so.2
    deny = sc.ERRNO(errno.EPERM)
    filt = sc.SyscallFilter(sc.ALLOW)
    filt.set_attr(sc.Attr.ACT_BADARCH, deny)   # a foreign ABI (int 0x80, x32) fails too
    filt.set_attr(sc.Attr.CTL_TSYNC, 1)        # every thread, not only this one
    for name in ("execve", "execveat"):
        filt.add_rule(deny, name)
    return filt


def bpf_program(arch: tuple[int, int, int, int, int]) -> bytes:
    """The classic-BPF filter: EPERM for execve/execveat (and any foreign ABI), else allow."""
    audit_arch, execve, execveat, _, x32 = arch
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    prog: list[tuple[int, int, int, int]] = [(ld, 0, 0, 4)]            # A = arch
    body: list[tuple[int, int, int, int]] = [(ld, 0, 0, 0)]            # A = nr
    if x32:
        body.append((jge, 0, 0, x32))                                   # patched below
    body += [(jeq, 0, 0, execve), (jeq, 0, 0, execveat), (ret, 0, 0, SECCOMP_RET_ALLOW),
             (ret, 0, 0, deny)]
    deny_at = len(body) - 1
    prog.append((jeq, 0, len(body) - 1, audit_arch))                   # foreign -> deny
    for i, (code, _jt, _jf, k) in enumerate(body):
        if code in (jeq, jge):
            body[i] = (code, deny_at - i - 1, 0, k)
    prog += body
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp_bpf() -> None:
    arch = _arch()
    if arch is None:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
    code = bpf_program(arch)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p))
    rc = _libc.syscall(arch[3], SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                       ctypes.byref(prog))
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp(SET_MODE_FILTER): {os.strerror(err)}")


def _prepare_seccomp(backend: str | None, notes: list[str]) -> Any:
    """The libseccomp filter, or None for the hand-built BPF program (with a note why)."""
    if backend == "bpf":
        return None
    try:
        return _libseccomp_filter()
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        if backend == "libseccomp":
            raise
        notes.append(f"libseccomp unavailable ({exc}); hand-built BPF filter")
        return None


def _apply_seccomp(filt: Any, notes: list[str]) -> str:
    """Install the exec filter; the backend used, or "" with a note."""
    try:
        if filt is not None:
            filt.load()
            return "libseccomp"
        _seccomp_bpf()
        return "bpf"
    except (OSError, RuntimeError, ValueError) as exc:
        notes.append(f"exec not blocked: seccomp failed ({exc})")
        return ""


# -- Landlock -------------------------------------------------------------------------------
class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> tuple[int, str]:
    """(ABI version, "") where the kernel has Landlock, else (0, the reason)."""
    if sys.platform != "linux":
        return 0, f"Landlock is Linux-only (this is {sys.platform})"
    abi = _libc.syscall(_LL_CREATE, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_LL_CREATE_RULESET_VERSION))
    if abi >= 1:
        return int(abi), ""
    err = ctypes.get_errno()
    why = {errno.ENOSYS: "the kernel has no Landlock (CONFIG_SECURITY_LANDLOCK)",
           errno.EOPNOTSUPP: "Landlock is disabled at boot (add landlock to lsm=)"}
    return 0, why.get(err, f"landlock_create_ruleset: {os.strerror(err)}")


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1                       # ABI 1: EXECUTE ... MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _apply_landlock(rules: list[tuple[str, int]], notes: list[str]) -> tuple[int, list]:
    abi, why = landlock_abi()
    if not abi:
        notes.append(f"files not limited: {why}")
        return 0, []
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = 24 if abi >= 6 else 8                 # handled_access_net is not handled
    ruleset = _libc.syscall(_LL_CREATE, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        err = ctypes.get_errno()
        notes.append(f"files not limited: landlock_create_ruleset: {os.strerror(err)}")
        return 0, []
    added: list[tuple[str, int]] = []
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue                         # a path that is not there needs no rule
            try:
                if not os.path.isdir(path):
                    access &= _FILE_RIGHTS
                access &= handled
                if not access:
                    continue
                rule = _PathBeneath(access, fd)
                if _libc.syscall(_LL_ADD_RULE, ctypes.c_int(ruleset),
                                 ctypes.c_int(_LL_RULE_PATH_BENEATH), ctypes.byref(rule),
                                 ctypes.c_uint32(0)) != 0:
                    err = ctypes.get_errno()
                    notes.append(f"no rule for {path}: {os.strerror(err)}")
                    continue
                added.append((path, access))
            finally:
                os.close(fd)
        _no_new_privs()
        if _libc.syscall(_LL_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            notes.append(f"files not limited: landlock_restrict_self: {os.strerror(err)}")
            return 0, []
    finally:
        os.close(ruleset)
    return abi, added


# -- what batos needs ----------------------------------------------------------------------
def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value and os.path.isabs(value) else Path.home() / default


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/batos`` (models, KV files, the confined temp dir)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "batos"


def _model_files() -> list[str]:
    """Model files outside the cache: ``$BATOS_MODEL`` and those in models.json."""
    found = [os.environ.get("BATOS_MODEL", "")]
    try:
        with open(_xdg("XDG_CONFIG_HOME", ".config") / "batos" / "models.json") as fh:
            data = json.load(fh)
        found += [str(p) for p in (data.get("models") or {}).values()]
    except (OSError, ValueError, AttributeError):
        pass
    return [str(Path(p).expanduser()) for p in found if p]


def _python_dirs() -> list[str]:
    """The interpreter's prefixes, its import path and the batos package; never home,
    its ancestors or the working directory (``python -m`` puts it on sys.path)."""
    home = Path.home().resolve()
    cwd = Path.cwd().resolve()
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  *sys.path, str(Path(__file__).resolve().parents[1])]
    out: list[str] = []
    for entry in candidates:
        if not entry:
            continue
        p = Path(entry).resolve()
        if p in (home, cwd) or p in home.parents or p in cwd.parents or not p.exists():
            continue
        if str(p) not in out:
            out.append(str(p))
    return out


def _image_files(image: Any) -> tuple[list[tuple[str, int]], Any]:
    """Rules for the image's own files, and its FileStorage (or None)."""
    path = Path(getattr(image, "path", "") or "")
    if not str(path):
        return [], None
    path = path.resolve()
    read_only = bool(getattr(image, "read_only", False))
    file_rights = READ_FILE if read_only else RW_FILE
    rules = [(str(path) + suffix, file_rights) for suffix in ("", ".index", ".lock", ".tmp")]
    rules.append((str(path) + ".blobs", RO if read_only else RW_DIR))
    storage = getattr(image, "storage", None)
    from ZODB.FileStorage import FileStorage
    return rules, storage if isinstance(storage, FileStorage) else None


def _save_index_in_place(storage: Any) -> None:
    """FileStorage's index save without a temp file and a rename next to the image
    (no right to create or rename files there): rewrite ``.fs.index`` in place. A
    crash halfway leaves an index ZODB rejects and rebuilds on the next open."""
    if storage._is_read_only:
        return
    storage._index.save(storage._pos, storage.__name__ + ".index")
    storage._saved += 1


def plan(image: Any, *, rw: Iterable[str] = (), ro: Iterable[str] = ()) -> list[tuple[str, int]]:
    """The (path, access) rules :func:`confine` adds for ``image``."""
    rules, _ = _image_files(image)
    cache = cache_root()
    rules.append((str(cache), RW_DIR))
    kv = os.environ.get("BATOS_KV_DIR")
    if kv:
        rules.append((kv, RW_DIR))
    rules.append((str(_xdg("XDG_STATE_HOME", ".local/state") / "batos"), RW_DIR))
    rules.append((str(_xdg("XDG_CONFIG_HOME", ".config") / "batos"), RO))
    rules += [(p, READ_FILE) for p in _model_files()]
    rules += [(p, RO) for p in _python_dirs()]
    rules += [(p, RO) for p in _SYSTEM_RO]
    rules += [(p, RW_FILE) for p in _SYSTEM_RW]
    rules += [(str(p), RW_FILE | RW_DIR) for p in rw if p]
    rules += [(str(p), RO) for p in ro if p]
    return rules


def confine(image: Any = None, *, rw: Iterable[str] = (), ro: Iterable[str] = (),
            seccomp_backend: str | None = None, landlock: bool = True) -> Confinement:
    """Drop exec and most file access for the rest of this process (irreversible).

    ``rw``/``ro`` add paths (files or directories); ``seccomp_backend`` forces
    ``"libseccomp"`` or ``"bpf"``. Calling it again answers the first result.
    """
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    start = time.perf_counter()
    result = Confinement()
    cache = cache_root()
    tmp = cache / "tmp"
    try:
        tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        tempfile.tempdir = str(tmp)              # tempfile works inside the private dir
        os.environ["TMPDIR"] = str(tmp)
        result.tempdir = str(tmp)
    except OSError as exc:
        result.notes.append(f"no temp dir {tmp}: {exc.strerror}")
    for later in (os.environ.get("BATOS_KV_DIR"), cache / "kv"):   # created now or never
        if later:
            try:
                Path(later).mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
    threads = _thread_count()
    rules = plan(image, rw=rw, ro=ro)
    filt = _prepare_seccomp(seccomp_backend, result.notes)
    if landlock:
        _, storage = _image_files(image)
        result.landlock_abi, result.rules = _apply_landlock(rules, result.notes)
        if result.landlock_abi and storage is not None:
            storage._save_index = types.MethodType(_save_index_in_place, storage)
        if result.landlock_abi and threads > 1:
            result.notes.append(f"{threads - 1} thread(s) started before keep their file access")
    result.seccomp = _apply_seccomp(filt, result.notes)
    result.elapsed_ms = (time.perf_counter() - start) * 1000
    _APPLIED = result
    return result


def adapt_storage(image: Any) -> None:
    """Give an image opened after :func:`confine` (the heartbeat opens one per beat) the
    in-place FileStorage index save that Landlock needs; nothing when not confined."""
    if _APPLIED is None or not _APPLIED.landlock_abi:
        return
    _, storage = _image_files(image)
    if storage is not None:
        storage._save_index = types.MethodType(_save_index_in_place, storage)


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def applied() -> "Confinement | None":
    """The confinement of this process, or None."""
    return _APPLIED


def probe() -> dict[str, Any]:
    """What :func:`confine` would get here (for ``batos image info``), changing nothing."""
    abi, why = landlock_abi()
    seccomp = "unavailable"
    try:
        _import_pyseccomp()
        seccomp = "libseccomp"
    except (ImportError, OSError, RuntimeError):
        if _arch() is not None:
            seccomp = "bpf"
    return {"enabled": enabled(), "seccomp": seccomp, "landlock_abi": abi,
            "landlock": f"ABI {abi}" if abi else why}


def describe() -> str:
    """One line for ``batos image info``."""
    p = probe()
    if not p["enabled"]:
        return f"off ({ENV}=off)"
    exec_part = (f"exec blocked by seccomp ({p['seccomp']})" if p["seccomp"] != "unavailable"
                 else "exec not blocked (no seccomp)")
    files = (f"files limited by Landlock {p['landlock']}" if p["landlock_abi"]
             else f"files not limited ({p['landlock']})")
    return f"{exec_part}; {files}"


# -- the CLI's entry -----------------------------------------------------------------------
def confine_cli(image: Any, *, rw: Iterable[str] = (), prompt: Any = None,
                say: Optional[Any] = None) -> "Confinement | None":
    """Confine the process that runs statements, unless disabled; never fails the command.

    ``prompt`` (a prompt_toolkit PromptSession) gets its editor routed through an
    :class:`EditorHelper`. The status line goes to ``say`` (a callable) or, with
    ``BATOS_CONFINE=debug``, to stderr.
    """
    if not enabled(image):
        return None
    debug = os.environ.get(ENV, "").strip().lower() == "debug"
    helper = None
    if prompt is not None:
        try:
            helper = EditorHelper(str(cache_root() / "tmp"))
        except OSError:
            helper = None
    try:
        result = confine(image, rw=rw)
    except Exception as exc:  # noqa: BLE001 - confinement is an extra wall, not a gate
        result = Confinement(notes=[f"not confined: {type(exc).__name__}: {exc}"])
    if helper is not None:
        buffer = getattr(prompt, "default_buffer", None)
        if buffer is not None:
            buffer._open_file_in_editor = helper.edit
        import atexit
        atexit.register(helper.close)
    line = result.summary() if result.active or result.notes else ""
    if line and (say is not None or debug):
        (say or (lambda text: sys.stderr.write(text + "\n")))(line)
    return result
