"""Defense in depth (batos.guardian.confine): the process that runs statements cannot
start programs (seccomp) nor read files outside batos's own (Landlock).

Confinement is irreversible, so everything that applies it runs in a subprocess; the
pytest process itself is never confined.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from batos.guardian import confine as C

ABI, WHY = C.landlock_abi()
needs_landlock = pytest.mark.skipif(not ABI, reason=f"no Landlock here: {WHY}")
needs_seccomp = pytest.mark.skipif(sys.platform != "linux" or C._arch() is None,
                                   reason="seccomp filter is built for Linux x86_64/aarch64")
ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "BATOS_"))}
    env.update({"HOME": str(tmp_path / "home"), "BATOS_LLM": "off", "BATOS_STREAM": "0",
                "PYTHONPATH": str(ROOT), **extra})
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def _run_confined(tmp_path: Path, body: str, *, backend: str = "", **env: str) -> dict:
    """Open tmp/img/x.fs, confine, run ``body`` (which fills ``out``); answer ``out``."""
    script = textwrap.dedent("""
        import json, os, sys, subprocess, errno
        import batos
        from batos.guardian import confine as C
        out = {}
        im = batos.open_image(sys.argv[1])
        res = C.confine(im, seccomp_backend=sys.argv[2] or None)
        out["summary"] = res.summary()
        out["seccomp"] = res.seccomp
        out["landlock"] = res.landlock_abi
        out["ms"] = res.elapsed_ms
    """) + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    (tmp_path / "img").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "img" / "x.fs"), backend],
                          capture_output=True, text=True, env=_env(tmp_path, **env),
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


EXEC_BODY = """
marker = os.path.join(os.path.dirname(sys.argv[1]), "..", "marker")
out["system"] = os.system("touch " + marker)
out["marker"] = os.path.exists(marker)
try:
    subprocess.run(["true"])
    out["subprocess"] = "ran"
except OSError as exc:
    out["subprocess"] = [type(exc).__name__, exc.errno]
try:
    os.execv("/bin/true", ["true"])
except OSError as exc:
    out["execv"] = exc.errno
"""


@needs_seccomp
@pytest.mark.parametrize("backend", ["libseccomp", "bpf"])
def test_no_new_programs(tmp_path: Path, backend: str) -> None:
    if backend == "libseccomp":
        pytest.importorskip("pyseccomp")
    out = _run_confined(tmp_path, EXEC_BODY, backend=backend)
    assert out["seccomp"] == backend
    assert out["system"] != 0 and out["marker"] is False   # the shell never started
    assert out["subprocess"] == ["PermissionError", 1]      # EPERM, not a kill
    assert out["execv"] == 1


@needs_landlock
def test_files_outside_the_allowed_set_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "dotssh" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("PRIVATE KEY")
    (tmp_path / "home" / ".bashrc").parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "home" / ".bashrc").write_text("alias ls=ls")
    body = f"""
def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return exc.errno
out["secret"] = attempt(lambda: open({str(secret)!r}).read())
out["bashrc"] = attempt(lambda: open(os.path.expanduser("~/.bashrc")).read())
out["overwrite"] = attempt(lambda: open({str(secret)!r}, "w"))
out["passwd"] = attempt(lambda: open("/etc/passwd").read())
out["create_next_to_image"] = attempt(lambda: open(sys.argv[1] + ".evil", "w"))
out["rename_image"] = attempt(lambda: os.rename(sys.argv[1], sys.argv[1] + ".gone"))
import tempfile
with tempfile.TemporaryFile() as fh:
    fh.write(b"scratch")
out["tempdir"] = tempfile.gettempdir()
import xml.dom.minidom                       # a lazy import: the Python prefix stays readable
out["stdlib"] = xml.dom.minidom.parseString("<a/>").documentElement.tagName
out["proc_self"] = attempt(lambda: open("/proc/self/statm").read())
"""
    out = _run_confined(tmp_path, body)
    assert out["landlock"] == ABI
    assert out["secret"] == 13 and out["overwrite"] == 13 and out["bashrc"] == 13
    assert out["passwd"] == 13
    assert out["create_next_to_image"] == 13 and out["rename_image"] == 13
    assert secret.read_text() == "PRIVATE KEY"
    assert out["tempdir"] == str(tmp_path / "home" / ".cache" / "batos" / "tmp")
    assert out["stdlib"] == "a" and out["proc_self"] == "ok"


def test_image_commits_and_reopens_after_confinement(tmp_path: Path) -> None:
    body = """
box = im.globals["genesis"].clone()
im.globals["box"] = box
box.set_slot("count", 41)
im.commit("confined commit")
out["value"] = im.evaluate("box count + 1")
blob_dir = sys.argv[1] + ".blobs"
out["index_before"] = os.stat(sys.argv[1] + ".index").st_mtime_ns
im.close()
out["index_after"] = os.stat(sys.argv[1] + ".index").st_mtime_ns
"""
    out = _run_confined(tmp_path, body)
    assert out["value"] == 42
    assert out["index_after"] >= out["index_before"]
    image = tmp_path / "img" / "x.fs"
    assert sorted(p.name for p in image.parent.iterdir()) == [
        "x.fs", "x.fs.blobs", "x.fs.index", "x.fs.lock", "x.fs.tmp"]
    import batos
    with batos.open_image(image) as im:
        assert im.storage._used_index == 1          # the index written in place is sound
        assert im.globals["box"].count == 41
        assert im.history(1)[0]["note"] == "confined commit"


def _batos(tmp_path: Path, *args: str, stdin: str | None = None, **env: str):
    return subprocess.run([sys.executable, "-m", "batos.cli.main", *args], input=stdin,
                          capture_output=True, text=True, env=_env(tmp_path, **env),
                          cwd=str(tmp_path), timeout=120)


@needs_seccomp
def test_batos_eval_end_to_end_confined(tmp_path: Path) -> None:
    img = str(tmp_path / "e.fs")
    r = _batos(tmp_path, "eval", "-i", img, "--create", "Smalltalk at: #Answer put: 6 * 7",
               BATOS_CONFINE="debug")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "42\n"
    assert "confine: exec blocked (seccomp" in r.stderr
    if ABI:
        assert f"files limited (Landlock ABI {ABI}" in r.stderr
    r = _batos(tmp_path, "send", "-i", img, "Answer", "+", "1", BATOS_CONFINE="debug")
    assert (r.returncode, r.stdout) == (0, "43\n"), r.stderr
    r = _batos(tmp_path, "eval", "-i", img, "Answer", BATOS_CONFINE="off")
    assert (r.returncode, r.stdout, r.stderr) == (0, "42\n", "")
    r = _batos(tmp_path, "eval", "-i", img, "Answer")      # default: on, and silent
    assert (r.returncode, r.stdout, r.stderr) == (0, "42\n", "")


@needs_seccomp
def test_run_and_repl_pipe_are_confined(tmp_path: Path) -> None:
    img = str(tmp_path / "r.fs")
    r = _batos(tmp_path, "repl", "--verbose", img, stdin="Smalltalk at: #Tally put: 3\n")
    assert r.returncode == 0 and r.stdout.strip() == "3", r.stderr
    assert "confine: exec blocked" in r.stderr
    script = tmp_path / "s.bst"
    script.write_text("Smalltalk at: #Tally put: Tally + 1.\n")
    r = _batos(tmp_path, "run", "-i", img, str(script), BATOS_CONFINE="debug")
    assert r.returncode == 0 and "confine: exec blocked" in r.stderr, r.stderr
    r = _batos(tmp_path, "eval", "-i", img, "Tally")
    assert (r.returncode, r.stdout) == (0, "4\n"), r.stderr


def test_in_process_callers_are_never_confined(tmp_path: Path) -> None:
    """CliRunner and the Python API run without the console-script entry: no confinement."""
    from batos.cli import common
    import batos
    assert common._CONFINE_ARMED is False
    with batos.open_image(tmp_path / "p.fs") as im:
        assert common.confine_statements(im) is None
    assert C.applied() is None
    assert subprocess.run(["true"]).returncode == 0     # this process still spawns


@needs_seccomp
def test_editor_runs_through_the_helper(tmp_path: Path) -> None:
    editor = tmp_path / "ed.sh"
    editor.write_text('#!/bin/sh\nprintf "6 * 7\\n" > "$1"\n')
    editor.chmod(0o755)
    script = textwrap.dedent("""
        import json, os, sys, tempfile
        import batos
        from batos.guardian import confine as C
        im = batos.open_image(sys.argv[1])
        helper = C.EditorHelper(str(C.cache_root() / "tmp"))
        C.confine(im)
        fd, name = tempfile.mkstemp(suffix=".bst")
        os.close(fd)
        out = {"edited": helper.edit(name), "text": open(name).read(),
               "outside": helper.edit("/etc/passwd"), "system": os.system("true")}
        helper.close()
        print(json.dumps(out))
    """)
    (tmp_path / "img").mkdir()
    (tmp_path / "home" / ".cache" / "batos" / "tmp").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "img" / "x.fs")],
                          capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                          env=_env(tmp_path, EDITOR=str(editor), VISUAL=""))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"edited": True, "text": "6 * 7\n", "outside": False, "system": 32512}


def _emulate(prog: bytes, arch: int, nr: int) -> int:
    """Run a classic-BPF seccomp program on (arch, nr): the action it answers."""
    ins = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    data = {0: nr & 0xFFFFFFFF, 4: arch}
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = ins[pc]
        if code == 0x20:
            acc = data[k]
        elif code == 0x15:
            pc += jt if acc == k else jf
        elif code == 0x35:
            pc += jt if acc >= k else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
        pc += 1


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_bpf_program_denies_exec_and_foreign_abis(machine: str) -> None:
    arch = C._ARCHES[machine]
    prog = C.bpf_program(arch)
    allow, eperm = C.SECCOMP_RET_ALLOW, C.SECCOMP_RET_ERRNO | 1
    audit, execve, execveat = arch[0], arch[1], arch[2]
    assert _emulate(prog, audit, execve) == eperm
    assert _emulate(prog, audit, execveat) == eperm
    for nr in (0, 1, 2, 57, 56, 435, 220):      # read/write/open, fork/clone, clone3
        if nr not in (execve, execveat):
            assert _emulate(prog, audit, nr) == allow
    assert _emulate(prog, 0x40000003, 11) == eperm          # i386 execve via int 0x80
    if machine == "x86_64":
        assert _emulate(prog, audit, 0x40000000 | 520) == eperm  # x32 execve
        assert _emulate(prog, audit, 0x40000000 | 1) == eperm


def test_probe_and_plan_name_what_is_allowed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "BATOS_MODEL"):
        monkeypatch.delenv(var, raising=False)

    class Img:
        path = tmp_path / "w.fs"
        read_only = False
        options: dict = {}
        storage = None
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))       # as `python -m` does with the cwd
    rules = dict(C.plan(Img()))
    assert rules[str(tmp_path / "w.fs")] == C.RW_FILE
    assert rules[str(tmp_path / "w.fs.blobs")] == C.RW_DIR
    assert rules[str(tmp_path / ".cache" / "batos")] == C.RW_DIR
    assert rules[str(tmp_path / ".config" / "batos")] == C.RO
    assert str(tmp_path) not in rules and "/" not in rules and "/etc" not in rules
    assert not any(access & C.EXECUTE for access in rules.values())
    assert rules[sys.base_prefix if os.path.realpath(sys.base_prefix) == sys.base_prefix
                 else os.path.realpath(sys.base_prefix)] == C.RO
    monkeypatch.setenv(C.ENV, "off")
    assert C.enabled() is False and C.describe().startswith("off")
    monkeypatch.setenv(C.ENV, "on")
    assert C.enabled(Img()) is True
    Img.options = {"confine": False}
    assert C.enabled(Img()) is False
    info = C.probe()
    assert info["landlock_abi"] == ABI


@needs_landlock
def test_model_loads_and_generates_after_confinement(tmp_path: Path, tiny_model: Path) -> None:
    """The model is loaded lazily, after confinement: its file ($BATOS_MODEL, outside the
    allowed dirs), llama.cpp's libraries and the KV cache dir stay reachable."""
    body = """
from batos.llm.backend import get_backend
backend = get_backend(fresh=True)
done = backend.generate("hello world", max_tokens=4, prefix="hello")
out["tokens"] = done.completion_tokens
out["system"] = os.system("true")
"""
    out = _run_confined(tmp_path, body, BATOS_MODEL=str(tiny_model), BATOS_LLM="on")
    assert out["landlock"] == ABI and out["system"] != 0
    assert out["tokens"] >= 1
