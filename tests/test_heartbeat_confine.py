"""The heartbeat runs confined; its forked forge launcher alone may start a program, and
only ``batos forge train`` for a known persona."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import batos
from batos.cli.forge_launcher import ForgeLauncher, valid
from batos.guardian import confine
from batos.mind import improve

PERSONAS = ["BRICK", "ROBIN", "BABS", "ALFRED"]
needs_seccomp = pytest.mark.skipif(confine.probe()["seccomp"] == "unavailable",
                                   reason="no seccomp on this kernel")


def _marker_argv(folder: Path):
    def argv(persona: str) -> list[str]:
        return [sys.executable, "-c",
                "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
                str(folder / f"ran-{persona}"), persona]
    return argv


def _wait_for(path: Path, seconds: float = 30.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if path.exists() and path.stat().st_size:
            return True
        time.sleep(0.05)
    return False


def test_persona_names_are_validated():
    assert valid("BRICK", PERSONAS) == ""
    assert "not a persona name" in valid("BRICK; rm -rf ~", PERSONAS)
    assert "not a persona name" in valid("--image=/etc/passwd", PERSONAS)
    assert "unknown persona" in valid("MALLORY", PERSONAS)


def test_the_launcher_starts_known_personas_only(tmp_path):
    launcher = ForgeLauncher(PERSONAS, _marker_argv(tmp_path), tmp_path / "forge.log")
    try:
        assert launcher.request("BRICK; rm -rf ~").startswith("refused not a persona name")
        assert launcher.request("MALLORY").startswith("refused unknown persona")
        assert launcher.request("BRICK\nROBIN").startswith("refused")
        assert launcher.request("ROBIN").startswith("started ")
        assert _wait_for(tmp_path / "ran-ROBIN")
        assert sorted(p.name for p in tmp_path.glob("ran-*")) == ["ran-ROBIN"]
    finally:
        launcher.close()
    with pytest.raises(ProcessLookupError):   # it exited at EOF and was collected
        os.kill(launcher.pid, 0)


@needs_seccomp
def test_a_confined_caller_cannot_exec_but_its_launcher_can(tmp_path):
    """In a forked child: launcher first, then confine; exec fails in the child and the
    launcher still starts its command."""
    report = tmp_path / "report"
    pid = os.fork()
    if pid == 0:                                               # pragma: no cover - child
        code = 1
        try:
            launcher = ForgeLauncher(PERSONAS, _marker_argv(tmp_path), tmp_path / "forge.log")
            confine.confine(None, rw=[str(tmp_path)])
            try:
                subprocess.run(["true"], check=False)
                own = "exec allowed"
            except PermissionError:
                own = "exec refused"
            answer = launcher.request("BABS")
            report.write_text(f"{own}\n{answer}\n")
            launcher.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    own, answer = report.read_text().splitlines()
    assert own == "exec refused" and answer.startswith("started ")
    assert _wait_for(tmp_path / "ran-BABS")


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def _start(path: Path, tmp_path: Path, every: str = "3600", **env: str) -> subprocess.Popen:
    full = {**os.environ, "BATOS_LLM": "off", "PYTHONPATH": os.getcwd(),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_STATE_HOME": str(tmp_path / "st"),
            **env}
    return subprocess.Popen([sys.executable, "-m", "batos.cli.main", "heartbeat", str(path),
                             "--every", every], stderr=subprocess.PIPE, text=True, env=full)


def _until(proc: subprocess.Popen, text: str) -> list[str]:
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError("".join(lines))


@needs_seccomp
def test_the_cli_heartbeat_is_confined_and_its_launcher_runs_the_forge(tmp_path):
    from batos.forge import missing_modules
    path = tmp_path / "hb.fs"
    with batos.open_image(path) as im:       # a forge run asked for by an earlier beat
        im.execute(lambda: improve.state(im).__setitem__("forge_pending", "BRICK"), note="x")
    proc = _start(path, tmp_path)
    try:
        lines = _until(proc, "beat 1")
        status = _status(proc.pid)
        assert status["Seccomp"].strip() == "2" and status["NoNewPrivs"].strip() == "1"
        kids = _children(proc.pid)
        if missing_modules():                # no forge extra: no launcher, no forge run
            assert kids == []
            return
        lines += _until(proc, "forge run for BRICK")
        assert "started a forge run for BRICK" in lines[-1], lines
        assert [_status(k)["Seccomp"].strip() for k in kids] == ["0"]   # the launcher
        log = tmp_path / "cache" / "batos" / "heartbeat-forge.log"
        assert _wait_for(log)                # a real `batos forge train BRICK` ran: it
        text = log.read_text()               # refuses this empty image (no model here)
        assert text.startswith("error: ") and ("no base model to train on" in text
                                               or "BRICK has no golden examples" in text), text
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, rest
    assert "stopped by SIGTERM" in rest
    with batos.open_image(path, read_only=True) as im:
        assert improve.state(im)["forge_pending"] == ""   # the beat's write went through


@needs_seccomp
def test_the_confined_heartbeat_survives_another_process_rewriting_the_index(tmp_path):
    """Found by a real run: the forge incarnated an adapter (another process, which
    saves IMAGE.index by a rename) and the next beat could not open the new index."""
    path = tmp_path / "hb.fs"
    batos.open_image(path).close()
    proc = _start(path, tmp_path, every="0.2")
    try:
        _until(proc, "beat 2")
        before = (path.parent / (path.name + ".index")).stat().st_ino
        with batos.open_image(path) as im:   # waits for a gap between beats
            im.execute(lambda: im.globals.__setitem__("visitor", 1), note="another process")
        assert (path.parent / (path.name + ".index")).stat().st_ino != before
        lines = _until(proc, "beat 8")
        assert not any("error" in line.lower() for line in lines), lines
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, rest


def test_confine_off_leaves_the_heartbeat_unconfined(tmp_path):
    path = tmp_path / "hb.fs"
    batos.open_image(path).close()
    proc = _start(path, tmp_path, BATOS_CONFINE="off")
    try:
        _until(proc, "beat 1")
        assert _status(proc.pid)["Seccomp"].strip() == "0"
        assert _children(proc.pid) == []     # no launcher: it may exec itself
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.stderr.read()
        assert proc.wait(timeout=60) == 0
