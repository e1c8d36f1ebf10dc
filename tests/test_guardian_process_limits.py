"""Process-level limits: the memory cap that fails the allocation itself, sticky
breaches, finalizers inside the statement, and the hard deadline (with the REPL's
supervisor restarting on the same image).

Each bomb runs in a subprocess (``python -m batos.cli.main``) with ``BATOS_LLM=off``,
a 100 MB statement budget and, as a safety net should the cap ever fail, a 3 GB
``RLIMIT_DATA`` set by the test: the bombs that must fail ask for 1 GB, which the
net alone would allow, so only batos's own cap can stop them.
"""
from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batos.errors import LimitExceeded
from batos.guardian import limits as limits_mod
from batos.guardian import process as process_mod
from batos.guardian.limits import limits, paused

CLI = [sys.executable, "-m", "batos.cli.main"]
NET = 3 * 2**30
GB = 1_000_000_000
TEN_TRILLION = 10_000_000_000_000


def _net() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (NET, NET))


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, BATOS_LLM="off", BATOS_MEMORY_MB="100",
               XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"),
               PYTHONWARNINGS="ignore")
    env.pop("BATOS_REPL_CONFIG", None)
    env.pop("BATOS_TIMEOUT", None)
    env.update(extra)
    return env


def _run(args: list[str], tmp: Path, stdin: str = "", timeout: float = 60,
         **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, input=stdin, capture_output=True, text=True,
                          env=_env(tmp, **extra), timeout=timeout, preexec_fn=_net,
                          cwd=tmp)


def _repl(image: Path, lines: list[str], tmp: Path, **kw: object) -> tuple[int, list[str], str]:
    done = _run(["repl", str(image)], tmp, stdin="\n".join(lines) + "\n", **kw)  # type: ignore[arg-type]
    return done.returncode, done.stdout.splitlines(), done.stderr


def _define(selector: str, source: str) -> str:
    return f"genesis define: #{selector} as: '{source}'"


def _slots_marked(image: Path, tmp: Path, names: list[str]) -> list[str]:
    probe = " , ".join(f"((genesis hasSlot: #{n}) ifTrue: ['{n} '] ifFalse: [''])"
                       for n in names)
    done = _run(["eval", "-i", str(image), "--no-save", probe], tmp)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().strip("'").split()


# -- the memory cap, in a REPL pipe session ---------------------------------------------------
BOMBS = {  # name: (definition or None, the statement), each asking for about 1 GB at run time
    "ba": ("def ba_(self, n):\n    return len(bytearray(n))", f"genesis ba: {GB}"),
    "rep": ('def rep_(self, n):\n    return len("a" * n)', f"genesis rep: {GB}"),
    "lr": ("def lr_(self, n):\n    return len(list(range(n)))", f"genesis lr: {GB // 8}"),
    "fmt": ('def fmt_(self, n):\n    return len(f"{1:>{n}}")', f"genesis fmt: {GB}"),
    "grow": ('def grow_(self, n):\n    chunks = []\n    try:\n        while len(chunks) >= 0:\n'
             '            chunks.append("x" * n + str(len(chunks)))\n'
             '    except Exception:\n        return len(chunks)', "genesis grow: 1000"),
    "strnew": (None, f"(String new: {GB}) size"),
    "asarray": (None, f"(1 to: {GB}) asArray size"),
    "printing": (None, "String new: 60000000"),   # 60 MB fits; its printString does not
}


def test_memory_bombs_fail_cleanly_and_the_session_goes_on(tmp_path: Path) -> None:
    image = tmp_path / "mem.fs"
    lines = ["genesis define: #ok: as: 'def ok_(self, n):\n    return len(bytearray(n))'",
             "genesis ok: 50000000"]                       # 50 MB: within the budget
    for name, (definition, statement) in BOMBS.items():
        if definition is not None:
            lines.append(_define(name + ":", definition))
        lines.append(f"genesis setSlot: #mark_{name} value: 1. {statement}")
    lines.append("3 + 4")
    t0 = time.monotonic()
    code, out, err = _repl(image, lines, tmp_path)
    assert time.monotonic() - t0 < 45
    assert code == 1, err
    assert out[0].startswith("a Method") and out[1] == "50000000", out
    errors = [line for line in out if line.startswith("ERROR")]
    assert len(errors) == len(BOMBS), out
    for line in errors:
        assert "exceeded the 100 MB memory limit" in line, line
    assert out[-1] == "7"                                  # the process survived
    assert _slots_marked(image, tmp_path, [f"mark_{n}" for n in BOMBS]) == []


def test_a_statement_within_the_budget_is_untouched(tmp_path: Path) -> None:
    image = tmp_path / "ok.fs"
    code, out, err = _repl(image, ["(String new: 30000000) size",
                                   "genesis setSlot: #kept value: 3. 1", "genesis kept"],
                           tmp_path)
    assert (code, out) == (0, ["30000000", "1", "3"]), err


def test_eval_bomb_exits_1_and_changes_nothing(tmp_path: Path) -> None:
    image = tmp_path / "eval.fs"
    assert _run(["eval", "--create", "-i", str(image), "nil"], tmp_path).returncode == 0
    done = _run(["eval", "-i", str(image), f"genesis setSlot: #mark value: 1. String new: {GB}"],
                tmp_path)
    assert done.returncode == 1
    assert "exceeded the 100 MB memory limit" in done.stderr
    assert _slots_marked(image, tmp_path, ["mark"]) == []


# -- the hard deadline ---------------------------------------------------------------------
C_LOOPS = {
    "csum": ("def csum_(self, n):\n    return sum(range(n))", f"genesis csum: {TEN_TRILLION}"),
    "alias": ("def alias_(self, k):\n    f = any\n    return f(iter(int, k))", "genesis alias: 1"),
}


@pytest.mark.parametrize("name", sorted(C_LOOPS))
def test_hard_deadline_in_pipe_mode(tmp_path: Path, name: str) -> None:
    definition, statement = C_LOOPS[name]
    image = tmp_path / "hard.fs"
    (tmp_path / "repl.toml").write_text("timeout = 0.5\n")
    lines = [_define(name + ":", definition), f"genesis setSlot: #mark value: 1. {statement}",
             "3 + 4"]
    t0 = time.monotonic()
    code, out, err = _repl(image, lines, tmp_path,
                           BATOS_REPL_CONFIG=str(tmp_path / "repl.toml"))
    elapsed = time.monotonic() - t0
    assert elapsed < 20
    assert code == 1
    if out[0].startswith("ERROR: guardian rejected"):   # stopped statically: fine too
        return
    assert out[0].startswith("a Method"), out
    assert out[1].startswith("ERROR: a statement was still running in C code at its hard "
                             "deadline (1 s, 2x the 0.5 s time limit)"), out
    assert "nothing was committed" in out[1]
    assert len(out) == 2                                  # pipe mode stops there
    assert _slots_marked(image, tmp_path, ["mark"]) == []
    log = (tmp_path / "state" / "batos" / "hard-deadline.log").read_text()
    assert "most recent call first" in log and f"<method {name}:>" in log   # the stacks
    assert "--- hard deadline: batos pid" in log                           # and why


def test_hard_deadline_in_eval(tmp_path: Path) -> None:
    image = tmp_path / "hard.fs"
    definition, statement = C_LOOPS["csum"]
    made = _run(["eval", "--create", "-i", str(image), _define("csum:", definition)], tmp_path)
    assert made.returncode == 0, made.stderr
    t0 = time.monotonic()
    done = _run(["eval", "-i", str(image), f"genesis setSlot: #mark value: 1. {statement}"],
                tmp_path, BATOS_TIMEOUT="0.5")
    assert time.monotonic() - t0 < 20
    assert done.returncode == 1
    assert "<method csum:>" in done.stderr                    # the stacks, then one clear line
    assert done.stderr.splitlines()[-1] == (
        "error: a statement was still running in C code at its hard deadline (1 s, 2x the "
        "0.5 s time limit); the process was ended and nothing was committed"), done.stderr
    assert _slots_marked(image, tmp_path, ["mark"]) == []


def test_hard_deadline_in_eval_json(tmp_path: Path) -> None:
    image = tmp_path / "hard.fs"
    definition, statement = C_LOOPS["alias"]
    made = _run(["eval", "--create", "-i", str(image), _define("alias:", definition)], tmp_path)
    assert made.returncode == 0, made.stderr
    done = _run(["eval", "--json", "-i", str(image), statement], tmp_path, BATOS_TIMEOUT="0.5")
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["ok"] is False and error["error"] == "HardDeadline"
    assert "hard deadline (1 s, 2x the 0.5 s time limit)" in error["message"]


@pytest.mark.skipif(shutil.which("batos") is None, reason="batos is not installed")
def test_interactive_repl_restarts_after_the_hard_deadline(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "repl.toml").write_text("timeout = 0.5\n")
    env = _env(tmp_path, TERM="dumb", PROMPT_TOOLKIT_NO_CPR="1", NO_COLOR="1",
               BATOS_REPL_CONFIG=str(tmp_path / "repl.toml"))
    image = tmp_path / "live.fs"
    child = pexpect.spawn("batos", ["repl", str(image)], env=env, encoding="utf-8",
                          dimensions=(30, 200), timeout=20)
    try:
        child.expect_exact("batos> ")
        child.send("genesis define: #csum: as: 'def csum_(self, n): return sum(range(n))'\r")
        child.expect_exact("a Method")
        child.expect_exact("batos> ")
        child.send(f"genesis setSlot: #mark value: 1. genesis csum: {TEN_TRILLION}\r")
        child.expect_exact("hard deadline")
        child.expect_exact("restarting the REPL on the same image")
        child.expect_exact("batos> ")                   # a fresh child on the same image
        child.send("(genesis hasSlot: #mark) printString , ' ' , (3 + 4) printString\r")
        child.expect_exact("'false 7'")
        child.expect_exact("batos> ")
        child.send(":quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "state" / "batos" / "history").read_text()
    assert f"genesis csum: {TEN_TRILLION}" in history     # the history survived the restart


# -- in process: the limits themselves -----------------------------------------------------
def test_the_cap_fails_one_allocation_and_is_restored() -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with pytest.raises(LimitExceeded, match="50 MB memory limit"):
        with limits(timeout=5, memory_mb=50):
            bytearray(200 * 2**20)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert len(bytearray(200 * 2**20)) == 200 * 2**20      # lifted again


def test_paused_lifts_the_cap() -> None:
    with pytest.raises(LimitExceeded, match="memory limit"):
        with limits(timeout=5, memory_mb=30):
            with paused():                                  # generation allocates freely
                assert len(bytearray(100 * 2**20)) == 100 * 2**20
            bytearray(100 * 2**20)


class _Swallow:
    def __enter__(self) -> "_Swallow":
        return self

    def __exit__(self, *exc: object) -> bool:
        return True


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_swallowed_time_breach_still_fails_the_block() -> None:
    with pytest.raises(LimitExceeded, match="0.2 s time limit"):
        with limits(timeout=0.2, memory_mb=None):
            with _Swallow():
                _spin(5)                                    # the breach lands here ...
            # ... and is swallowed: the block ends normally, yet fails


def test_a_swallowed_memory_breach_still_fails_the_block() -> None:
    def grow() -> int:
        chunks: list[str] = []
        try:
            while True:
                chunks.append("x" * 1000 + str(len(chunks)))
        except BaseException:                               # swallows MemoryError and breaches
            return len(chunks)

    with pytest.raises(LimitExceeded, match="40 MB memory limit"):
        with limits(timeout=10, memory_mb=40):
            with _Swallow():
                grow()


def test_finalizers_of_the_blocks_garbage_run_inside_it() -> None:
    seen: list[bool] = []

    def gen():  # type: ignore[no-untyped-def]
        try:
            yield 1
        finally:
            seen.append(bool(getattr(limits_mod._local, "stack", None)))

    gc.collect()
    with limits(timeout=5, collect=True):
        g = gen()
        next(g)
        cycle: list[object] = [g]
        cycle.append(cycle)
        del g, cycle
    assert seen == [True]


def test_the_hard_deadline_is_a_soft_cpu_rlimit_armed_only_inside() -> None:
    before = resource.getrlimit(resource.RLIMIT_CPU)
    with limits(timeout=0.5, memory_mb=None):
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        assert hard == before[1]                            # the hard limit is never touched
        assert time.process_time() + 1.0 <= soft <= time.process_time() + 2.0
        with paused():                                      # generation: lifted
            assert resource.getrlimit(resource.RLIMIT_CPU) == before
        assert resource.getrlimit(resource.RLIMIT_CPU)[0] != before[0]   # re-armed
    assert process_mod._hard_armed is None
    assert resource.getrlimit(resource.RLIMIT_CPU) == before


_BURN = """
import sys, time
from batos.guardian.limits import limits, paused
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
with limits(timeout=0.3, memory_mb=None):
    with paused():
        burn(2.0)             # CPU inside paused() is not counted (hard deadline: 0.6 s)
burn(2.0)                     # nor between statements: nothing is armed
print("alive", flush=True)
with limits(timeout=0.3, memory_mb=None):
    sum(range(10 ** 13))      # stuck in C: ended by SIGXCPU
print("not reached", flush=True)
"""


def test_the_hard_deadline_counts_only_the_statements_own_cpu_time(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _BURN], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.stdout.splitlines() == ["alive"], (done.stdout, done.stderr)
    assert done.returncode == process_mod.HARD_EXIT == signal.SIGXCPU   # _exit(24), no core
    assert "most recent call first" in done.stderr and "<module>" in done.stderr


def test_cpu_of_other_threads_does_not_count_against_the_hard_deadline(tmp_path):
    """RLIMIT_CPU counts every thread: a helper thread (a KV-state writer, model threads)
    burning CPU beside a statement must not end the process."""
    script = tmp_path / "busy.py"
    script.write_text(
        "import threading, time, zlib\n"
        "from batos.guardian.limits import limits\n"
        "data = bytes(range(256)) * 40000\n"
        "stop = time.monotonic() + 1.8\n"
        "def burn():\n"
        "    while time.monotonic() < stop:\n"
        "        zlib.compress(data, 9)\n"
        "t = threading.Thread(target=burn); t.start()\n"
        "with limits(timeout=3.0, hard_deadline=0.6):\n"
        "    while time.monotonic() < stop:\n"
        "        time.sleep(0.01)\n"
        "t.join()\n"
        "print('survived')\n")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "survived" in proc.stdout
