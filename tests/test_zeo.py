"""A shared image over ZEO, with real `batos serve` and client processes (no mocks)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("ZEO")

ENV = {**os.environ, "BATOS_CONFINE": "off", "BATOS_ZEO_WAIT": "3", "PYTHONUNBUFFERED": "1"}
BATOS = [sys.executable, "-m", "batos.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stdout.read()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("server did not listen")


def start_server(path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([*BATOS, "serve", str(path), "--port", str(port)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_port(port, proc)
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def cli(*args: Any, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*BATOS, *map(str, args)], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    import batos
    path = tmp_path / "shared.fs"
    with batos.open_image(path) as im:
        im.execute(lambda: im.evaluate(
            "Image at: #counter put: genesis clone. counter setSlot: #count value: 0. "
            "counter >> increment [ count := count + 1. ^count ]"), note="setup")
    return path


@pytest.fixture
def server(image: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    proc = start_server(image, port)
    try:
        yield f"zeo://127.0.0.1:{port}", proc
    finally:
        stop(proc)


WORKER = textwrap.dedent("""
    import sys, batos, batos.lang
    import time
    addr, m, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    im = batos.open_image(addr)
    for _ in range(m):
        v = im.execute(lambda: im.evaluate("counter increment"), note="inc")
        print(v, flush=True)
        time.sleep(pause)
    im.close()
""")


def workers(addr: str, n: int, m: int, pause: float = 0.0) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", WORKER, addr, str(m), str(pause)], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]


def test_serve_says_where_and_refuses_a_second_server(server: Any, image: Path) -> None:
    addr, proc = server
    second = cli("serve", image, "--port", free_port(), timeout=30)
    assert second.returncode == 3
    assert "already held" in second.stderr and "Traceback" not in second.stderr
    out = stop(proc)
    assert f"batos serve: {addr} image {image}" in out
    assert "stopped (SIGTERM)" in out and proc.returncode == 0


def test_n_clients_times_m_increments_lose_nothing(server: Any) -> None:
    addr, _ = server
    n, m = 3, 20
    procs = workers(addr, n, m)
    values: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        values += [int(v) for v in out.split()]
    # every statement committed exactly once, each saw a distinct count
    assert sorted(values) == list(range(1, n * m + 1))
    r = cli("eval", "-i", addr, "counter count")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(n * m)


def test_a_method_defined_in_one_client_answers_in_another(server: Any) -> None:
    addr, _ = server
    import batos
    import batos.lang  # noqa: F401
    with batos.open_image(addr) as im:   # a long-lived client: caches warm
        assert im.execute(lambda: im.evaluate("counter increment"), note="a") == 1
        assert im.execute(lambda: im.evaluate("counter increment"), note="b") == 2
        r = cli("eval", "-i", addr, "counter >> increment [ ^ 1000 + count ]. "
                  "counter >> answer [ ^ 42 ]. counter count")
        assert r.returncode == 0, r.stderr
        # the very next statement here sees both (no restart, no stale binding)
        assert im.execute(lambda: im.evaluate("counter increment"), note="c") == 1002
        assert im.execute(lambda: im.evaluate("counter answer"), note="d") == 42


def test_kill_9_of_the_server_loses_no_committed_increment(image: Path) -> None:
    port = free_port()
    addr = f"zeo://127.0.0.1:{port}"
    proc = start_server(image, port)
    procs: list[subprocess.Popen] = []
    try:
        procs = workers(addr, 2, 100_000, pause=0.01)
        time.sleep(4)  # let them commit a while
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        committed: list[int] = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 1, err
            assert "lost the connection to the batos server" in err
            assert "Traceback" not in err.split("lost the connection")[0].splitlines()[-1]
            committed += [int(v) for v in out.split()]
        assert committed, "no increment committed before the kill"
        proc = start_server(image, port)  # same file: the dead server's lock is gone
        r = cli("eval", "-i", addr, "counter count")
        assert r.returncode == 0, r.stderr
        final = int(r.stdout)
        # every reported commit is there; at most one in-doubt commit per client beyond
        assert max(committed) <= final <= len(committed) + len(procs)
        assert len(set(committed)) == len(committed)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        stop(proc)
    v = cli("image", "verify", "-i", image, "--json")
    assert v.returncode == 0, v.stdout + v.stderr


def test_a_closed_port_is_exit_3_with_a_message(tmp_path: Path) -> None:
    r = cli("eval", "-i", f"zeo://127.0.0.1:{free_port()}", "3 + 4")
    assert r.returncode == 3
    assert "no batos server answers at zeo://127.0.0.1:" in r.stderr
    assert "Traceback" not in r.stderr
    env = {**ENV, "BATOS_IMAGE": f"zeo://127.0.0.1:{free_port()}"}
    r = subprocess.run([*BATOS, "image", "info"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 3 and "no batos server answers" in r.stderr


def test_pack_runs_on_the_server_and_verify_says_why_not(server: Any, image: Path) -> None:
    addr, _ = server
    p = cli("image", "pack", "-i", addr, "--json")
    assert p.returncode == 0, p.stderr
    assert "the server at " + addr in p.stdout
    v = cli("image", "verify", "-i", addr)
    assert v.returncode == 3 and "on the server's machine" in v.stderr
    # the file itself verifies read-only while it is served
    v = cli("image", "verify", "-i", image, "--read-only")
    assert v.returncode == 0, v.stderr
    r = cli("eval", "-i", addr, "counter count")   # still served after the pack
    assert r.returncode == 0 and r.stdout.strip() == "0"


def test_a_read_only_server_refuses_writers_clearly(image: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([*BATOS, "serve", str(image), "--port", str(port), "--read-only"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, proc)
        addr = f"zeo://127.0.0.1:{port}"
        w = cli("eval", "-i", addr, "counter increment")
        assert w.returncode == 3 and "serves read-only" in w.stderr
        r = cli("eval", "-i", addr, "--read-only", "counter count + 1")
        assert r.returncode == 0 and r.stdout.strip() == "1"
    finally:
        stop(proc)


HALF = textwrap.dedent("""
    import sys, time, batos, batos.lang
    im = batos.open_image(sys.argv[1])
    def action():
        im.evaluate("counter setSlot: #count value: 777. Image at: #half put: 1")
        print("inside", flush=True)
        time.sleep(60)
    im.execute(action, note="never committed")
""")


def test_a_client_killed_mid_statement_leaves_nothing_half_applied(server: Any) -> None:
    addr, _ = server
    p = subprocess.Popen([sys.executable, "-c", HALF, addr], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "inside"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    r = cli("eval", "-i", addr, "counter count")
    assert r.returncode == 0 and r.stdout.strip() == "0"
    r = cli("eval", "-i", addr, "Image includesKey: #half")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "false"
    assert cli("eval", "-i", addr, "counter increment").stdout.strip() == "1"  # not wedged


MISS = textwrap.dedent("""
    import sys, time, batos, batos.lang
    from batos.llm import FakeBackend
    from batos.mind.dnu import use_backend
    addr, go = sys.argv[1], float(sys.argv[2])
    im = batos.open_image(addr)
    calls = []
    def body(prompt):
        calls.append(1)
        time.sleep(0.5)  # both clients are generating at the same moment
        return "    return 6 * 7\\n```"
    while time.time() < go:
        time.sleep(0.005)
    with use_backend(FakeBackend(body)):
        v = im.execute(lambda: im.evaluate("counter answer"), note="miss")
    print(v, len(calls), flush=True)
    im.close()
""")


def test_simultaneous_misses_of_one_selector_install_one_method(server: Any) -> None:
    addr, _ = server
    go = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", MISS, addr, str(go)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        results.append(out.split())
    # both answer, and one generation was spent: the other client saw the claim, waited,
    # ran its statement again and found the method the first one installed
    assert [r[0] for r in results] == ["42", "42"]
    assert sorted(int(r[1]) for r in results) == [0, 1], results
    import batos
    import batos.lang  # noqa: F401
    with batos.open_image(addr) as im:
        counter = im.globals["counter"]
        assert counter.method("answer") is not None
        assert im.execute(lambda: im.evaluate("counter answer"), note="again") == 42


def test_a_model_server_advertised_by_serve_is_where_clients_generate(image: Path) -> None:
    from tests.test_llm_http import FakeServer
    model = FakeServer()  # llama-server's shape: /props, /lora-adapters, streaming /completion
    model.pieces = ["    return ", "6 * 7", "\n```\n"]
    port = free_port()
    addr = f"zeo://127.0.0.1:{port}"
    proc = subprocess.Popen([*BATOS, "serve", str(image), "--port", str(port),
                             "--model-server", model.url + "/"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, proc)
        # a client with no model setting of its own generates through the advertised one
        r = subprocess.run([*BATOS, "eval", "-i", addr, "counter answer"], timeout=120,
                           env={**ENV, "BATOS_LLM": "on"}, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "42"
        assert model.requests and all("answer" in q["prompt"] for q in model.requests)
        import batos
        import batos.lang  # noqa: F401
        with batos.open_image(addr) as im:
            assert im.options.get("url") == model.url
    finally:
        out = stop(proc)
        model.close()
    assert f"clients generate through the model server {model.url}" in out
    # served again without it: the advertisement is gone, clients use their own settings
    proc = start_server(image, port)
    try:
        import batos
        with batos.open_image(addr) as im:
            assert "url" not in im.options
    finally:
        stop(proc)


def test_model_server_must_be_a_url_and_not_read_only(image: Path) -> None:
    bad = cli("serve", image, "--port", free_port(), "--model-server", "llama.local:8080")
    assert bad.returncode == 2 and "http://HOST:PORT" in bad.stderr
    ro = cli("serve", image, "--port", free_port(), "--read-only", "--model-server",
             "http://127.0.0.1:1")
    assert ro.returncode == 2 and "--read-only" in ro.stderr
