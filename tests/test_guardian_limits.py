"""Runtime limits: wall clock, recursion, memory; everything restored on exit."""
from __future__ import annotations

import signal
import sys
import threading
import time
import tracemalloc

import pytest

from batos.errors import LimitExceeded
from batos.guardian import compile_method
from batos.guardian.limits import DEFAULT_TIMEOUT, exempt, limits, paused, rss_anon

SPIN = compile_method("def spin(self):\n    n = 0\n    while n >= 0:\n        n += 1\n")
SWALLOW = compile_method(
    "def spin(self):\n    n = 0\n    while n >= 0:\n        try:\n"
    "            while n >= 0:\n                n += 1\n"
    "        except Exception:\n            n += 1\n")
RECURSE = compile_method("def down(self, n):\n    return self.down(n + 1)\n")
GROW = compile_method("def grow(self):\n    chunks = []\n    while True:\n"
                      "        chunks.append('x' * 1000000 + str(len(chunks)))\n"
                      "        if len(chunks) > 100000:\n            return chunks\n")


class Receiver:
    def down(self, n: int) -> int:
        return RECURSE(self, n)


def test_default_timeout() -> None:
    assert DEFAULT_TIMEOUT == 5.0


def test_wall_clock_limit_stops_a_loop_with_a_clear_message() -> None:
    t0 = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"statement exceeded the 0\.3 s time limit"):
        with limits(timeout=0.3):
            SPIN(None)
    assert time.monotonic() - t0 < 2.0


def test_except_exception_cannot_swallow_the_limit() -> None:
    with pytest.raises(LimitExceeded, match="time limit"):
        with limits(timeout=0.2):
            SWALLOW(None)


def test_recursion_cap() -> None:
    with pytest.raises(LimitExceeded, match="recursion limit of 200 frames"):
        with limits(timeout=None, recursion=200, memory_mb=None):
            Receiver().down(0)


def test_memory_cap() -> None:
    with pytest.raises(LimitExceeded, match="50 MB memory limit"):
        with limits(timeout=10, memory_mb=50):
            GROW(None)


def test_everything_is_restored() -> None:
    handler = signal.getsignal(signal.SIGALRM)
    rec = sys.getrecursionlimit()
    assert not tracemalloc.is_tracing()
    with pytest.raises(LimitExceeded):
        with limits(timeout=0.1, recursion=300, memory_mb=100, memory_probe="tracemalloc"):
            SPIN(None)
    with limits(timeout=1.0):
        pass
    assert signal.getsignal(signal.SIGALRM) is handler
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert sys.getrecursionlimit() == rec
    assert not tracemalloc.is_tracing()


def test_memory_cap_with_tracemalloc_probe() -> None:
    with pytest.raises(LimitExceeded, match="30 MB memory limit"):
        with limits(timeout=10, memory_mb=30, memory_probe="tracemalloc"):
            GROW(None)
    assert not tracemalloc.is_tracing()


def test_tracemalloc_left_running_if_it_was_running() -> None:
    tracemalloc.start()
    try:
        with limits(timeout=1, memory_mb=10, memory_probe="tracemalloc"):
            pass
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_exempt_blocks_do_not_count() -> None:
    with limits(timeout=10, memory_mb=40):
        with exempt():
            ballast = bytearray(80 * 2**20)  # e.g. a model's buffers
            ballast[::4096] = b"x" * len(ballast[::4096])
        time.sleep(0.15)
        assert len(ballast) == 80 * 2**20
    exempt().__enter__  # usable (a no-op) outside any limits
    with exempt():
        pass


def test_paused_time_does_not_count() -> None:
    with limits(timeout=0.3):
        with paused():
            time.sleep(0.5)  # e.g. the model generating a method
        time.sleep(0.1)
    with pytest.raises(LimitExceeded):
        with limits(timeout=0.3):
            with paused():
                time.sleep(0.2)
            SPIN(None)
    with paused():  # a no-op outside limits
        pass


def test_package_exposes_the_limits_module() -> None:
    import batos.guardian as g
    from batos.guardian import limits as mod
    assert mod.limits is limits and mod.DEFAULT_TIMEOUT == g.DEFAULT_TIMEOUT == 5.0
    assert mod.paused is paused


def test_rss_probe_reads_memory() -> None:
    assert rss_anon() > 1 << 20


def test_values_and_other_errors_pass_through() -> None:
    with limits(timeout=1.0) as lim:
        value = sum(range(1000))
    assert value == 499500 and lim.timeout == 1.0
    with pytest.raises(KeyError):
        with limits(timeout=1.0):
            raise KeyError("k")


def test_limits_can_be_disabled() -> None:
    with limits(timeout=None, recursion=None, memory_mb=None):
        time.sleep(0.01)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outer_timer_survives_a_nested_block() -> None:
    with pytest.raises(LimitExceeded, match="0.4 s"):
        with limits(timeout=0.4):
            with limits(timeout=5):
                time.sleep(0.01)
            SPIN(None)


def test_worker_thread_uses_a_watchdog() -> None:
    result: dict[str, object] = {}

    def work() -> None:
        try:
            with limits(timeout=0.3):
                SPIN(None)
        except LimitExceeded as exc:
            result["error"] = str(exc)
        with limits(timeout=0.5):
            result["after"] = sum(range(10))
        time.sleep(0.6)  # a cancelled watchdog must not fire later
        result["done"] = True

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    assert result == {"error": "statement exceeded the 0.3 s time limit", "after": 45,
                      "done": True}


def test_invalid_timeout() -> None:
    with pytest.raises(ValueError):
        limits(timeout=0)
