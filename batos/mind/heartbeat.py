"""The autotelic heartbeat: measure the CEM, record it, improve on stagnation.

A **beat** (:func:`beat`) measures the Composite Entropy Metric (:mod:`batos.mind.cem`),
lets weak pheromones evaporate, and records the beat in ``root['heartbeat']['beats']``
(the last :data:`MAX_BEATS`, each a JSON text keyed by its number) in one transaction
noted ``heartbeat: beat N, CEM …``.
When the CEM has stagnated -- below :data:`THRESHOLD`, or within :data:`FLAT_EPS` for
the last :data:`WINDOW_BEATS` beats -- and no ``improveCognition`` ran in that window,
it sends ``improveCognition`` (:mod:`batos.mind.improve`): exactly once per window.

The :class:`Heartbeat` runner beats every ``every`` seconds, opening the image for each
beat and closing it after, so it never holds the image between beats: while another
process holds it for writing, it waits (or uses ``zeo://`` when given one). It keeps
to a CPU budget (CPU minutes per hour, its own CPU and its children's, measured with
``time.process_time`` and ``resource``), and SIGTERM / Ctrl-C stop it between beats.
Clock, sleep and CPU meter are injectable, so tests run on a simulated clock.
"""
from __future__ import annotations

import json
import resource
import signal
import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

from batos.errors import BatosError, ImageLockedError
from batos.mind import cem
from batos.mind.improve import improve_cognition, state

MAX_BEATS = 500
THRESHOLD = 0.2      # a CEM below this is stagnant
WINDOW_BEATS = 3     # the stagnation window: "flat for N beats"
FLAT_EPS = 0.01


def beats(image: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The recorded beats, oldest first (the newest ``limit``)."""
    st = state(image, create=False)
    if st is None or not len(st["beats"]):
        return []
    tree = st["beats"]
    keys = list(tree.keys())
    return [json.loads(tree[k]) for k in (keys[-limit:] if limit else keys)]


def stagnant(history: list[dict[str, Any]], cem_now: float) -> str:
    """Why the CEM has stagnated ('' when it has not), given the earlier beats."""
    if cem_now < THRESHOLD:
        return f"CEM {cem_now:.3f} below {THRESHOLD}"
    recent = [b["cem"] for b in history[-(WINDOW_BEATS - 1):]] + [cem_now]
    if len(recent) >= WINDOW_BEATS and max(recent) - min(recent) < FLAT_EPS:
        return f"CEM flat ({cem_now:.3f}) for {WINDOW_BEATS} beats"
    return ""


def due(history: list[dict[str, Any]]) -> bool:
    """Whether no improveCognition ran in the current stagnation window."""
    return not any(b.get("improved") for b in history[-(WINDOW_BEATS - 1):])


def beat(image: Any, *, now: float | None = None, improve: bool = True, seed: int | None = None,
         allow_forge: bool = True, generate: bool = True) -> dict[str, Any]:
    """One beat (see the module doc); answers its record."""
    from batos.mind import ether
    now = time.time() if now is None else float(now)
    history = beats(image)
    m = cem.measure(image)
    previous = history[-1] if history else None
    why_stagnant = stagnant(history, m.cem)
    record: dict[str, Any] = {
        "n": (previous["n"] + 1) if previous else 1, "time": now, "cem": round(m.cem, 4),
        "parts": {k: round(v, 4) for k, v in m.parts.items()}, "why": dict(m.why),
        "moved": {k: round(m.parts[k] - previous["parts"].get(k, 0.0), 4) if previous else 0.0
                  for k in cem.PARTS},
        "stagnant": why_stagnant, "improved": False, "work": "", "error": ""}
    if why_stagnant and improve and due(history):
        record["improved"] = True
        try:
            done = improve_cognition(image, now=now, seed=seed, allow_forge=allow_forge,
                                     generate=generate)
            record["work"] = f"{done.get('work')}: {done.get('what')}"[:300]
            record["trace"] = done.get("trace")
        except BatosError as exc:
            record["work"], record["error"] = "failed", str(exc)[:300]
            last = _last_cycle(image)
            if last is not None and len(last.steps) > 1:
                info = last.steps[1]["info"]
                record["work"] = f"failed: {info.get('work')}: {info.get('what')}"[:300]

    def save() -> dict[str, Any]:
        st = state(image)
        ether.evaporate(image, now=now)
        kept = st["beats"]
        kept[record["n"]] = json.dumps(record, sort_keys=True)
        for old in list(kept.keys()[:max(len(kept) - MAX_BEATS, 0)]):
            del kept[old]
        return record
    note = (f"heartbeat: beat {record['n']}, CEM {record['cem']:.3f} ("
            + ", ".join(f"{k} {v:.2f}" for k, v in record["parts"].items()) + ")"
            + (f"; stagnant: {why_stagnant}" if why_stagnant else ""))
    return image.execute(save, note=note)


def _last_cycle(image: Any) -> Any:
    from batos.mind.trace import list_traces
    return next((t for t in list_traces(image, 10) if t.kind == "improveCognition"), None)


# --- the runner -------------------------------------------------------------------------------

class Budget:
    """CPU seconds spent per rolling hour, against ``minutes`` CPU minutes per hour."""

    def __init__(self, minutes: float, clock: Callable[[], float]) -> None:
        self.limit = max(float(minutes), 0.0) * 60.0
        self.clock = clock
        self.spent: deque[tuple[float, float]] = deque()

    def add(self, seconds: float) -> None:
        self.spent.append((self.clock(), max(float(seconds), 0.0)))

    def used(self) -> float:
        now = self.clock()
        while self.spent and self.spent[0][0] <= now - 3600.0:
            self.spent.popleft()
        return sum(s for _, s in self.spent)

    def wait(self) -> float:
        """Seconds to wait before the hour's spending is under the limit again."""
        used = self.used()
        if used < self.limit:
            return 0.0
        now, over = self.clock(), used - self.limit
        for at, seconds in self.spent:  # the oldest leave the hour first
            over -= seconds
            if over < 0:
                return max(at + 3600.0 - now, 0.0)
        return 3600.0


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (a forge run, say)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


class Heartbeat:
    """Beats every ``every`` seconds until stopped (``once``: one beat)."""

    def __init__(self, open_image: Callable[[], Any], *, every: float = 60.0,
                 budget: float = 10.0, once: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 cpu: Callable[[], float] = cpu_seconds,
                 sleep: Callable[[float], Any] | None = None,
                 say: Callable[[str], Any] = lambda text: None,
                 spawn_forge: Callable[[str], Any] | None = None,
                 max_beats: int | None = None) -> None:
        self.open_image = open_image
        self.every = max(float(every), 0.0)
        self.once = once
        self.clock, self.cpu, self.say = clock, cpu, say
        self.budget = Budget(budget, clock)
        self.stop_event = threading.Event()
        self.sleep = sleep or (lambda s: self.stop_event.wait(s))
        self.spawn_forge = spawn_forge
        self.max_beats = max_beats
        self.records: list[dict[str, Any]] = []
        self.stopped_by = ""

    def stop(self, why: str = "stop") -> None:
        self.stopped_by = self.stopped_by or why
        self.stop_event.set()

    def _signalled(self, signum: int, frame: Any) -> None:
        self.stop(signal.Signals(signum).name)

    def run(self) -> list[dict[str, Any]]:
        """Beat until :meth:`stop`, a signal (SIGTERM, SIGINT) or ``once``; answers the
        beats' records. A beat in progress always finishes (its transactions whole)."""
        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                installed.append((sig, signal.signal(sig, self._signalled)))
        try:
            for _ in self._beats():
                if self.once or (self.max_beats is not None
                                 and len(self.records) >= self.max_beats):
                    break
        finally:
            for sig, old in installed:
                signal.signal(sig, old)
        return self.records

    def _beats(self) -> Iterator[dict[str, Any]]:
        while not self.stop_event.is_set():
            wait = self.budget.wait()
            if wait > 0:
                self.say(f"heartbeat: CPU budget spent ({self.budget.used():.1f} s of "
                         f"{self.budget.limit:.0f} s this hour); resting {wait:.0f} s")
                self.sleep(wait)
                continue
            started, cpu0 = self.clock(), self.cpu()
            record = self.one_beat()
            spent = self.cpu() - cpu0
            self.budget.add(spent)
            if record is not None:
                record["cpu"] = round(spent, 3)
                self.records.append(record)
                yield record
            if self.stop_event.is_set() or (self.once and record is not None):
                return
            # the beat's own CPU, spread at the budget's rate, or the period: the longer
            rate = self.budget.limit / 3600.0
            pause = max(self.every - (self.clock() - started),
                        spent / rate - (self.clock() - started) if rate > 0 else self.every)
            if pause > 0:
                self.sleep(pause)

    def one_beat(self) -> dict[str, Any] | None:
        """Open the image, beat, close it; None while another process holds it."""
        try:
            image = self.open_image()
        except ImageLockedError as exc:
            self.say(f"heartbeat: waiting, the image is held by another process ({exc})")
            return None
        pending = ""
        try:
            record = beat(image, allow_forge=self.spawn_forge is not None)
            st = state(image, create=False)
            pending = str(st.get("forge_pending", "")) if st is not None else ""
            if pending:
                image.execute(lambda: st.__setitem__("forge_pending", ""),
                              note=f"heartbeat: forge run started for {pending}")
        finally:
            image.close()
        self.say(f"heartbeat: beat {record['n']}: CEM {record['cem']:.3f}"
                 + (f" (stagnant: {record['stagnant']})" if record["stagnant"] else "")
                 + (f"; improveCognition: {record['work']}" if record["improved"] else ""))
        if pending and self.spawn_forge is not None:  # after close: the forge opens the image
            self.spawn_forge(pending)
        return record


__all__ = ["beat", "beats", "stagnant", "due", "Heartbeat", "Budget", "cpu_seconds",
           "MAX_BEATS", "THRESHOLD", "WINDOW_BEATS"]
