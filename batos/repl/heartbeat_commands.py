"""``:heartbeat on|off|status``: the heartbeat's beats while the REPL is idle.

The beats run in a background thread on a connection of their own to the REPL's
database (:meth:`Image.sibling`: its own transactions, so a beat never touches the
connection a statement uses), and only when no statement has run for
:data:`IDLE_AFTER` seconds. A statement never waits for a beat: nothing is shared
but the database, whose commits ZODB orders (a conflicting commit is retried by
:meth:`Image.execute`). A beat that sees a statement start skips its
``improveCognition``, and idle beats never use the model (generation is left to
``batos heartbeat``), so they never hold the model while a miss wants it.
The REPL's own time limits stay with the statement: a beat's work runs in its
thread without the process-wide memory cap.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

IDLE_AFTER = 30.0   # seconds without a statement before a beat may start
POLL = 1.0          # seconds between looks at the clock


class IdleHeartbeat:
    """Beats while the session is idle; :meth:`attach` wraps the session's ``handle``."""

    def __init__(self, session: Any, *, idle_after: float = IDLE_AFTER, every: float = 60.0,
                 budget: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 beat: Callable[["IdleHeartbeat"], Any] | None = None) -> None:
        from batos.mind.heartbeat import Budget
        self.session = session
        self.idle_after, self.every = float(idle_after), float(every)
        self.clock = clock
        self.budget = Budget(budget, clock)
        self.beat_fn = beat or _beat_on_sibling
        self.last_activity = clock()
        self.next_beat = 0.0
        self.busy = 0
        self.beating = False
        self.records: list[Any] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._original: Callable[[str], bool] | None = None

    # -- the session's side (never blocks) -------------------------------------------------
    def attach(self) -> "IdleHeartbeat":
        """Wrap ``session.handle`` so statements mark the session busy (nothing waits)."""
        original = self.session.handle
        self._original = original

        def handle(text: str) -> bool:
            self.busy += 1
            self.last_activity = self.clock()
            try:
                return original(text)
            finally:
                self.busy -= 1
                self.last_activity = self.clock()
        self.session.handle = handle
        return self

    def detach(self) -> None:
        if self._original is not None:
            self.session.handle = self._original
            self._original = None

    # -- the beat's side -----------------------------------------------------------------------
    def should_beat(self) -> bool:
        now = self.clock()
        return (not self.busy and not self.beating and now - self.last_activity >= self.idle_after
                and now >= self.next_beat and self.budget.wait() <= 0)

    def poll(self) -> bool:
        """Run a beat now if the session is idle and one is due (True when one ran)."""
        if not self.should_beat():
            return False
        self.beating = True
        started = self.clock()
        cpu0 = time.thread_time()
        try:
            self.records.append(self.beat_fn(self))
        except Exception as exc:  # noqa: BLE001 - a beat's failure must not end the REPL
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.budget.add(time.thread_time() - cpu0)
            self.beating = False
            self.next_beat = started + self.every
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="batos-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(POLL)

    def stop(self, wait: bool = True) -> None:
        """Stop beating (a beat in progress finishes first when ``wait``)."""
        self._stop.set()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        self.detach()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _beat_on_sibling(idle: IdleHeartbeat) -> dict[str, Any]:
    from batos.mind.heartbeat import beat
    sibling = idle.session.image.sibling()
    try:
        return beat(sibling, improve=not idle.busy, allow_forge=False, generate=False)
    finally:
        sibling.close()


# --- the command -----------------------------------------------------------------------------

_KEY = "_batos_idle_heartbeat"


def repl_heartbeat(session: Any, arg: str = "") -> bool | None:
    """``:heartbeat on|off|status``."""
    word = (arg or "").strip().lower() or "status"
    idle: IdleHeartbeat | None = getattr(session, _KEY, None)
    if word == "on":
        if session.image.read_only:
            session.print("the heartbeat needs an image open for writing")
            return False
        if idle is None or not idle.running:
            from batos.settings import setting
            minutes = float(setting("heartbeat_budget", options=session.image.options))
            idle = IdleHeartbeat(session, budget=minutes).attach()
            setattr(session, _KEY, idle)
            idle.start()
        session.print(f"heartbeat on: a beat after {idle.idle_after:g} s idle, every "
                      f"{idle.every:g} s at most, {idle.budget.limit / 60:g} CPU min/hour; "
                      "your statements never wait for it (`batos mind status` shows the beats)")
        return None
    if word == "off":
        if idle is not None:
            idle.stop(wait=False)
            setattr(session, _KEY, None)
        session.print("heartbeat off")
        return None
    if word == "status":
        if idle is None or not idle.running:
            session.print("heartbeat off (`:heartbeat on` beats while the REPL is idle)")
            return None
        last = idle.records[-1] if idle.records else None
        text = f"heartbeat on: {len(idle.records)} beat(s) this session"
        if last:
            text += f"; last CEM {last['cem']:.3f}" + (f" (stagnant: {last['stagnant']})"
                                                       if last.get("stagnant") else "")
        if idle.errors:
            text += f"; last error: {idle.errors[-1]}"
        session.print(text)
        return None
    session.print("usage: :heartbeat on|off|status")
    return False


def register_repl_commands() -> bool:
    from batos.repl.commands import register_command
    register_command("heartbeat", repl_heartbeat,
                     "beat (measure the CEM, improve on stagnation) while the REPL is idle",
                     ":heartbeat on|off|status")
    return True


register_repl_commands()
