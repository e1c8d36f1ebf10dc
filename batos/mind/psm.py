"""The Prototypal State Machine: cognitive cycles that run by delegation (issue 7.5).

The six states IDLE, DECOMPOSING, DELEGATING, SYNTHESIZING, COMPLETE and FAILED
are prototypes in the image (global ``psm_states``). A cycle context is a
prototype whose ``synthesis_state*`` parent slot points at its current state:
sending it ``_process_synthesis_`` is answered by the state (the message is
delegated through that slot), and a transition just repoints the slot. The
state's method calls the Python handler registered for that state, which
returns the next state's name (a state without a handler moves along
IDLE → DECOMPOSING → DELEGATING → SYNTHESIZING → COMPLETE).

FAILED dooms the transaction and re-raises the failure with a ``followup``
attribute; :meth:`batos.image.image.Image.execute` aborts, then calls it, and it
records the trace in a separate transaction, so the user can see what happened
while the image stays as it was.

    cycle = new_cycle(image, "dnu", "write #total", persona="BRICK")
    cycle.run({"DECOMPOSING": decompose, "DELEGATING": delegate, ...})
"""
from __future__ import annotations

import contextvars
import time
from typing import Any, Callable, Mapping

from batos.errors import BatosError
from batos.image.method import primitive
from batos.image.proto import Proto
from batos.mind.trace import Trace, plain, store_trace

STATES = ("IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "COMPLETE", "FAILED")
NEXT = {"IDLE": "DECOMPOSING", "DECOMPOSING": "DELEGATING", "DELEGATING": "SYNTHESIZING",
        "SYNTHESIZING": "COMPLETE"}
DESCRIPTIONS = {
    "IDLE": "a new cycle: the mission brief is stored",
    "DECOMPOSING": "the lead persona breaks the mission into parts and picks facets",
    "DELEGATING": "personas and their facets work on the parts",
    "SYNTHESIZING": "the parts are woven into one result and validated",
    "COMPLETE": "the result is ready; the transaction may commit",
    "FAILED": "the cycle failed: the transaction is doomed, the trace is kept",
}
MAX_STEPS = 200  # a cycle that visits more states than this is stopped as a runaway

Handler = Callable[["Cycle"], "str | None"]

_CURRENT: contextvars.ContextVar["Cycle | None"] = contextvars.ContextVar("batos_cycle",
                                                                          default=None)


class CycleFailed(BatosError):
    """A cycle ended in FAILED without an exception of its own (a handler chose FAILED)."""


def current_cycle() -> "Cycle | None":
    """The cycle running in this context (to note generations made inside it)."""
    return _CURRENT.get()


# --- awakening -----------------------------------------------------------------------------

def awaken_psm(image: Any) -> None:
    """Create the state prototypes (global ``psm_states``) and the trace store."""
    from batos.mind.trace import traces_tree
    g = image.root["globals"]
    traits = g["traits"]
    base = Proto("psm_state")
    base.set_slot("traits*", traits)
    base.set_slot("_process_synthesis_", primitive(
        "_process_synthesis_", "batos.mind.psm:process_synthesis",
        "run the current state's step of the cycle; answers the next state's name"))
    base.set_slot("description", "the behaviour every PSM state shares")
    states = Proto("psm_states")
    states.set_slot("traits*", traits)
    states.set_slot("base", base)
    for name in STATES:
        state = Proto(name)
        state.set_slot("psm_state*", base)
        state.set_slot("state_name", name)
        state.set_slot("description", DESCRIPTIONS[name])
        states.set_slot(name, state)
    g["psm_states"] = states
    traces_tree(image)


def state_proto(image: Any, name: str) -> Proto:
    """The state prototype called ``name`` (BatosError for an unknown one)."""
    states = image.root["globals"].get("psm_states")
    if states is None:
        raise BatosError("this image has no PSM states; open it for writing to awaken them")
    if name not in STATES and not states.has_slot(name):
        raise BatosError(f"unknown PSM state {name!r} (states: {', '.join(STATES)})")
    return states.get_slot(name)


# --- the state method ------------------------------------------------------------------------

def process_synthesis(self: Proto) -> str | None:
    """``_process_synthesis_`` of every state: run this state's handler for the cycle
    whose context is ``self``; answers the next state's name."""
    cycle = self.__dict__.get("_v_cycle")
    if cycle is None:
        raise BatosError("_process_synthesis_ was sent to something that is not a running "
                         "cycle context")
    state = self.lookup("state_name")
    name = state[1] if state else "?"
    if name == "FAILED":
        cycle._fail_now()
    if name == "COMPLETE":
        return None
    handler = cycle.handlers.get(name)
    if handler is None:
        return NEXT.get(name, "COMPLETE")
    return handler(cycle)


# --- cycles -----------------------------------------------------------------------------------

class Cycle:
    """One running cycle: its context prototype, per-process scratch data and its Trace."""

    def __init__(self, image: Any, proto: Proto, trace: Trace, context: dict[str, Any]) -> None:
        self.image = image
        self.proto = proto
        self.trace = trace
        self.context = context
        self.handlers: dict[str, Handler] = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self._t0 = time.perf_counter()
        self._wall0 = trace.started

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> Proto:
        """The current state prototype (the ``synthesis_state*`` slot)."""
        return self.proto.get_slot("synthesis_state*")

    @property
    def state_name(self) -> str:
        return self.state.get_slot("state_name")

    def _now(self) -> float:
        return self._wall0 + (time.perf_counter() - self._t0)

    def transition(self, name: str, **info: Any) -> None:
        """Repoint ``synthesis_state*`` at state ``name`` and record the step with ``info``."""
        self.proto.set_slot("synthesis_state*", state_proto(self.image, name))
        self.trace.add_step(name, info, at=self._now())

    def note(self, **info: Any) -> None:
        """Add ``info`` to the current step of the trace."""
        self.trace.note(**info)

    def note_completion(self, completion: Any, **info: Any) -> dict[str, Any]:
        """Record one generation (tokens, timings, model, adapters) in the current step."""
        data = completion_info(completion)
        data.update(info)
        self.trace.note(**data)
        return data

    # -- running -------------------------------------------------------------------------
    def send_process(self) -> str | None:
        """Send ``_process_synthesis_`` to the context (delegated to the current state)."""
        found = self.proto.lookup("_process_synthesis_")
        if found is None:
            raise BatosError("the cycle's state does not understand _process_synthesis_")
        method = found[1]
        fn = getattr(method, "function", None)
        return fn(self.proto) if fn is not None else method(self.proto)

    def run(self, handlers: Mapping[str, Handler] | None = None) -> Any:
        """Run until COMPLETE (returns :attr:`result`) or FAILED (raises the failure with
        a ``followup`` that records the trace in a separate transaction)."""
        self.handlers.update(handlers or {})
        token = _CURRENT.set(self)
        try:
            for _ in range(MAX_STEPS):
                current = self.state_name
                if current == "COMPLETE":
                    self.trace.finish("complete", result=self.result, at=self._now())
                    return self.result
                try:
                    nxt = self.send_process()
                    if nxt is None:
                        nxt = "COMPLETE"
                    if nxt == "FAILED" and self.error is None:
                        self.error = CycleFailed(f"{self.trace.kind} cycle failed in {current}")
                    self.transition(str(nxt))
                except BaseException as exc:  # noqa: BLE001 - every failure is recorded
                    if current == "FAILED":
                        raise
                    self.error = exc
                    self.transition("FAILED", error=f"{type(exc).__name__}: {exc}",
                                    failed_in=current)
            self.error = CycleFailed(f"{self.trace.kind} cycle ran more than {MAX_STEPS} steps")
            self.transition("FAILED", error=str(self.error))
            self._fail_now()
        finally:
            _CURRENT.reset(token)
        raise AssertionError("unreachable")  # pragma: no cover

    def fail(self, error: BaseException | str) -> str:
        """For handlers: remember ``error`` and answer "FAILED" (``return cycle.fail(e)``)."""
        self.error = error if isinstance(error, BaseException) else CycleFailed(str(error))
        self.note(error=f"{type(self.error).__name__}: {self.error}")
        return "FAILED"

    def _fail_now(self) -> None:
        """FAILED: finish the trace, doom the transaction, raise the failure with a followup."""
        exc = self.error or CycleFailed(f"{self.trace.kind} cycle failed")
        self.trace.finish("failed", error=f"{type(exc).__name__}: {exc}", at=self._now())
        data = self.trace.to_json()
        trace = self.trace
        previous = getattr(exc, "followup", None)  # an inner cycle's record comes first

        def followup(image: Any) -> str:
            if callable(previous):
                previous(image)
            kept = store_trace(image, Trace.from_json(data))
            trace.id = kept.id  # the caller's view of the trace gets the id it was kept under
            return f"trace {kept.id}: {data['kind']} failed: {data['error']}"[:200]

        try:
            self.image.tm.get().doom()
        except Exception:  # noqa: BLE001 - a transaction that is already over cannot be doomed
            pass
        try:
            exc.followup = followup  # type: ignore[attr-defined]
            if getattr(exc, "trace", None) is None:
                exc.trace = trace  # type: ignore[attr-defined]
        except AttributeError:
            wrapped = CycleFailed(str(exc))
            wrapped.followup = followup  # type: ignore[attr-defined]
            wrapped.trace = trace  # type: ignore[attr-defined]
            raise wrapped from exc
        raise exc


def completion_info(completion: Any) -> dict[str, Any]:
    """Plain trace info of a :class:`batos.llm.backend.Completion`."""
    get = lambda k, d=None: getattr(completion, k, d)  # noqa: E731
    import os
    return plain({
        "backend": get("backend", ""), "model": os.path.basename(str(get("model", ""))),
        "adapters": [[os.path.basename(str(p)), s] for p, s in get("adapters", ()) or ()],
        "prompt_tokens": get("prompt_tokens", 0),
        "prompt_tokens_cached": get("prompt_tokens_cached", 0),
        "completion_tokens": get("completion_tokens", 0),
        "seconds": round(float(get("seconds", 0.0) or 0.0), 4),
        "prompt_seconds": round(float(get("prompt_seconds", 0.0) or 0.0), 4),
        "finish": get("finish_reason", ""),
    })


def new_cycle(image: Any, kind: str, mission: str, persona: str = "", **context: Any) -> Cycle:
    """A new cycle in IDLE whose trace is stored in the image (in this transaction).

    ``context`` becomes :attr:`Cycle.context` (per-process scratch data, never stored);
    its plain items (str, numbers, bools) are also kept in the trace's info.
    """
    trace = Trace(kind, mission, persona,
                  info={k: v for k, v in context.items()
                        if isinstance(v, (str, int, float, bool))})
    store_trace(image, trace)
    proto = Proto(f"{kind} cycle")
    proto.set_slot("synthesis_state*", state_proto(image, "IDLE"))
    proto.set_slot("kind", kind)
    proto.set_slot("mission", str(mission))
    proto.set_slot("persona", persona)
    proto.set_slot("trace", trace)
    cycle = Cycle(image, proto, trace, dict(context))
    proto.__dict__["_v_cycle"] = cycle
    trace.add_step("IDLE", {"persona": persona} if persona else {}, at=trace.started)
    return cycle


__all__ = ["STATES", "Cycle", "CycleFailed", "awaken_psm", "new_cycle", "current_cycle",
           "process_synthesis", "state_proto", "completion_info"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'process_synthesis'})
