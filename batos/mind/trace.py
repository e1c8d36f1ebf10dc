"""Traces: the persistent record of every cognitive cycle (issue 7.6).

A :class:`Trace` holds plain data only -- the cycle's kind, mission, persona,
its steps (one per state visited: name, time offset, info such as persona,
adapters, prompt/completion tokens, timings, verdicts), its verdict and result --
so any later batos can read it. Traces live in ``root['traces']``, an IOBTree
keyed by an increasing id and bounded to the last :data:`MAX_TRACES`.

    last_trace(image), get_trace(image, 7), list_traces(image, 20)
    trace.to_json(); console.print(trace)        # a rich tree
"""
from __future__ import annotations

import time
from collections.abc import Set
from typing import Any, Mapping

from persistent import Persistent

from batos.errors import BatosError

MAX_TRACES = 1000
MAX_TEXT = 4000  # longest string kept in a trace field


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready plain data (tuples become lists, objects their repr)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, bytes):
        return value.hex()[:MAX_TEXT]
    if depth > 8:
        return repr(value)[:200]
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, Set)):  # Set: a PersistentSet too
        return [plain(v, depth + 1) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        try:
            return plain(to_json(), depth + 1)
        except Exception:  # noqa: BLE001 - a trace must never fail to record
            pass
    return repr(value)[:200]


class Trace(Persistent):
    """One cycle's record: states visited with their info, verdict and result."""

    def __init__(self, kind: str, mission: str, persona: str = "", *,
                 info: Mapping[str, Any] | None = None, started: float | None = None) -> None:
        self.id = 0
        self.kind = str(kind)
        self.mission = plain(str(mission))
        self.persona = str(persona or "")
        self.info: dict[str, Any] = plain(dict(info or {}))
        self.steps: list[dict[str, Any]] = []
        self.started = time.time() if started is None else float(started)
        self.ended: float | None = None
        self.verdict = "running"
        self.result: str | None = None
        self.error: str | None = None

    # -- recording ----------------------------------------------------------------------
    def add_step(self, state: str, info: Mapping[str, Any] | None = None,
                 at: float | None = None) -> dict[str, Any]:
        """Append a step for ``state`` at ``at`` (epoch seconds, default now)."""
        t = (time.time() if at is None else at) - self.started
        step = {"state": str(state), "t": round(max(t, 0.0), 6), "info": plain(dict(info or {}))}
        self.steps.append(step)
        self._p_changed = True
        return step

    def note(self, **info: Any) -> None:
        """Merge ``info`` into the last step (or the trace's own info before any step)."""
        target = self.steps[-1]["info"] if self.steps else self.info
        target.update(plain(info))
        self._p_changed = True

    def finish(self, verdict: str, *, result: Any = None, error: Any = None,
               at: float | None = None) -> None:
        """Close the trace with ``verdict`` ("complete" or "failed")."""
        self.verdict = verdict
        self.ended = time.time() if at is None else float(at)
        self.result = None if result is None else plain(str(result))
        self.error = None if error is None else plain(str(error))
        self._p_changed = True

    # -- reading -------------------------------------------------------------------------
    @property
    def seconds(self) -> float | None:
        """Wall time of the cycle (None while running)."""
        return None if self.ended is None else self.ended - self.started

    @property
    def states(self) -> list[str]:
        """The states visited, in order."""
        return [s["state"] for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        """Everything in the trace as a JSON-ready dict."""
        return {"id": self.id, "kind": self.kind, "mission": self.mission,
                "persona": self.persona, "verdict": self.verdict, "started": self.started,
                "ended": self.ended, "seconds": self.seconds, "result": self.result,
                "error": self.error, "info": plain(self.info),
                "steps": [plain(s) for s in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Trace":
        """A new Trace with the contents of :meth:`to_json` output (id left to the store)."""
        t = cls(data.get("kind", ""), data.get("mission", ""), data.get("persona", ""),
                info=data.get("info"), started=data.get("started"))
        t.steps = [plain(s) for s in data.get("steps", [])]
        t.verdict = data.get("verdict", "running")
        t.ended = data.get("ended")
        t.result = data.get("result")
        t.error = data.get("error")
        return t

    def __repr__(self) -> str:
        return f"<Trace {self.id} {self.kind} {self.verdict} {'>'.join(self.states)}>"

    def __rich__(self) -> Any:
        from batos.render.trace import render_trace
        return render_trace(self)


# --- the store -----------------------------------------------------------------------------

def traces_tree(image: Any, create: bool = True) -> Any:
    """``root['traces']`` (an IOBTree), created when missing and ``create``."""
    root = image.root
    tree = root.get("traces")
    if tree is None and create and not getattr(image, "read_only", False):
        from BTrees.IOBTree import IOBTree
        tree = root["traces"] = IOBTree()
    return tree


def store_trace(image: Any, trace: Trace) -> Trace:
    """Give ``trace`` the next id and keep it; drop the oldest beyond MAX_TRACES.
    (A read-only image keeps nothing: the trace lives on in memory, with id 0.)"""
    tree = traces_tree(image)
    if tree is None or getattr(image, "read_only", False):
        return trace
    trace.id = (tree.maxKey() + 1) if len(tree) else 1
    tree[trace.id] = trace
    excess = len(tree) - MAX_TRACES
    if excess > 0:
        for key in list(tree.keys()[:excess]):
            del tree[key]
    return trace


def last_trace(image: Any) -> Trace | None:
    """The newest trace, or None."""
    tree = traces_tree(image, create=False)
    if not tree:
        return None
    return tree[tree.maxKey()]


def get_trace(image: Any, trace_id: int | str) -> Trace:
    """The trace with ``trace_id`` ("last" for the newest); BatosError if missing."""
    if str(trace_id).lower() == "last":
        found = last_trace(image)
        if found is None:
            raise BatosError("no traces yet: traces are recorded by doesNotUnderstand_ and ask:")
        return found
    try:
        key = int(trace_id)
    except (TypeError, ValueError):
        raise BatosError(f"a trace id is a number or 'last', not {trace_id!r}") from None
    tree = traces_tree(image, create=False)
    if tree is None or key not in tree:
        newest = last_trace(image)
        hint = f" (the newest is {newest.id})" if newest is not None else " (none yet)"
        raise BatosError(f"no trace {key}{hint}")
    return tree[key]


def newest_traces(image: Any, limit: int, *, skip: frozenset[str] = frozenset(),
                  scan: int = 2000) -> list[Trace]:
    """The newest ``limit`` traces whose kind is not in ``skip``, newest first, looking
    at no more than the newest ``scan`` traces."""
    tree = traces_tree(image, create=False)
    if not tree:
        return []
    keys = tree.keys()
    out: list[Trace] = []
    for i in range(len(keys) - 1, max(len(keys) - 1 - scan, -1), -1):
        trace = tree[keys[i]]
        if trace.kind not in skip:
            out.append(trace)
            if len(out) >= limit:
                break
    return out


def list_traces(image: Any, limit: int = 20) -> list[Trace]:
    """The newest ``limit`` traces, newest first (all of them for a ``limit`` below 1,
    as before)."""
    if limit < 1:
        tree = traces_tree(image, create=False)
        limit = len(tree) if tree else 0
    return newest_traces(image, limit, scan=limit)
