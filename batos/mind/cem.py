"""The Composite Entropy Metric, measured from the image's own record.

``CEM = (w_cog·H_cog + w_sol·H_sol + w_struc·H_struc + w_rel·H_rel) / Σw`` with the
weights of the ``cem_weights`` setting. Every part is in 0..1 and is measured over a
window: the newest :data:`WINDOW` cognitive cycles (traces) and the newest
:data:`WINDOW` generation outcomes (an installed generated method, or a failure
record) of the generation log; the heartbeat's own ``improveCognition`` cycles are
left out.

* **H_cog, cognitive diversity**: the Shannon entropy of persona (and facet) use in
  the window's traces, divided by log K (K: the personas in the image, or the labels
  seen if more). One persona only → 0; every persona equally → 1.
* **H_sol, solution novelty**: for each method installed in the window, 1 minus its
  greatest similarity (Jaccard of code-token 3-grams) to any earlier installed
  method (the earlier ones in the log, up to :data:`PAST`); the mean.
* **H_struc, structural growth**: the share of the window's installations that
  added a method its object did not have before (not a re-generation).
* **H_rel, relevance (the guardrail)**: the mean of the rates that have data: the
  contracts that passed when the heartbeat last verified them; the window's
  generations that succeeded (installed / installed + failed); the window's misses
  that were grounded by catalog hits (only when the catalog holds documents).

An empty window answers 0 for its parts: an image where nothing happens is stagnant.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from batos.errors import BatosError

PARTS = ("cog", "sol", "struc", "rel")
NAMES = {"cog": "cognitive diversity", "sol": "solution novelty",
         "struc": "structural growth", "rel": "relevance"}
WINDOW = 50
PAST = 200           # earlier installed methods a new one is compared with
LOOKBACK = 1000      # generation-log records read
SELF_KINDS = frozenset({"improveCognition"})
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[^\sA-Za-z0-9_]")


@dataclass
class Measure:
    """One measurement: the parts, the weighted CEM, and what each part was made of."""

    parts: dict[str, float]
    weights: dict[str, float]
    cem: float
    why: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"cem": round(self.cem, 4), "parts": {k: round(v, 4) for k, v in self.parts.items()},
                "weights": dict(self.weights), "why": dict(self.why), "counts": dict(self.counts)}


# --- the parts, on plain data ---------------------------------------------------------------

def entropy(counts: Iterable[int]) -> float:
    """Shannon entropy (nats) of a distribution given by counts."""
    values = [c for c in counts if c > 0]
    total = sum(values)
    if total <= 0:
        return 0.0
    return -sum((c / total) * math.log(c / total) for c in values)


def cognitive_diversity(labels: Sequence[str], k: int) -> float:
    """Normalised entropy of ``labels`` (persona or persona/facet uses) over ``k`` choices."""
    counts = Counter(labels)
    n = max(int(k), len(counts))
    if n <= 1 or not counts:
        return 0.0
    h = entropy(counts.values()) / math.log(n)
    return 0.0 if h <= 0 else min(h, 1.0)


def shingles(code: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    """The code's token ``n``-grams (the ``def`` line left out: its name is the selector)."""
    body = code.split("\n", 1)[1] if code.lstrip().startswith("def ") and "\n" in code else code
    tokens = _TOKEN.findall(body)
    if len(tokens) < n:
        return frozenset({tuple(tokens)}) if tokens else frozenset()
    return frozenset(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def solution_novelty(window: Sequence[str], past: Sequence[str] = ()) -> float:
    """Mean over ``window`` (oldest first) of 1 − the greatest similarity to any earlier
    solution (``past``, then the window's earlier ones). No solutions → 0."""
    if not window:
        return 0.0
    seen = [shingles(c) for c in list(past)[-PAST:]]
    total = 0.0
    for code in window:
        sh = shingles(code)
        total += 1.0 - max((jaccard(sh, s) for s in seen), default=0.0)
        seen.append(sh)
    return total / len(window)


def structural_growth(window: Sequence[tuple[str, str]],
                      known: Iterable[tuple[str, str]] = ()) -> float:
    """The share of ``window``'s installations (object, selector) that were new."""
    if not window:
        return 0.0
    have = set(known)
    new = 0
    for pair in window:
        if pair not in have:
            new += 1
            have.add(pair)
    return new / len(window)


def relevance(rates: Mapping[str, tuple[int, int]]) -> float:
    """The mean of the rates ``good / total`` that have a total (0 when none has)."""
    values = [good / total for good, total in rates.values() if total > 0]
    return sum(values) / len(values) if values else 0.0


def parse_weights(text: Any) -> dict[str, float]:
    """``'0.25,0.25,0.25,0.25'`` → weights of cog, sol, struc, rel (BatosError if bad)."""
    try:
        values = [float(x) for x in str(text).replace(";", ",").split(",") if x.strip()]
    except ValueError:
        values = []
    if len(values) != 4 or any(v < 0 or math.isnan(v) for v in values) or sum(values) <= 0:
        raise BatosError(f"cem_weights must be four non-negative numbers with a positive sum "
                         f"(cognitive, solution, structural, relevance), not {text!r}")
    return dict(zip(PARTS, values))


def combine(parts: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.values())
    return sum(weights[k] * parts[k] for k in PARTS) / total


# --- reading the record ------------------------------------------------------------------

def trace_labels(trace: Any) -> list[str]:
    """The persona (or persona/facet) uses of one trace (each counted once per trace)."""
    labels: list[str] = []
    for step in getattr(trace, "steps", []) or []:
        info = step.get("info", {}) if isinstance(step, Mapping) else {}
        who = info.get("persona")
        if who:
            facet = info.get("facet") or info.get("pillar")
            label = f"{who}/{facet}" if facet else str(who)
            if label not in labels:
                labels.append(label)
    if not labels and getattr(trace, "persona", ""):
        labels.append(str(trace.persona))
    return labels


def _grounded(trace: Any) -> bool:
    return any(int((s.get("info", {}) or {}).get("notes", 0) or 0) > 0
               for s in getattr(trace, "steps", []) or [] if isinstance(s, Mapping))


def _catalog_size(image: Any) -> int:
    try:
        from batos.mind.catalog import catalog_of
        cat = catalog_of(image)
        return int(cat.check().size()) if cat is not None else 0
    except Exception:  # noqa: BLE001 - no catalog: no grounding rate
        return 0


def outcomes(image: Any) -> list[tuple[str, Any]]:
    """Generation outcomes among the newest :data:`LOOKBACK` records (:func:`genlog.outcomes`)."""
    from batos.mind import genlog
    return genlog.outcomes(image, LOOKBACK)


def measure(image: Any, *, window: int = WINDOW) -> Measure:
    """The CEM of ``image`` now (reads only)."""
    from batos.mind.personas import registry
    from batos.mind.trace import newest_traces
    from batos.settings import setting
    weights = parse_weights(setting("cem_weights", options=getattr(image, "options", None)))
    # the heartbeat's own cycles are skipped, not counted against the window: idle
    # cycles ("nothing to do") must not push the image's real work out of it
    traces = newest_traces(image, window, skip=SELF_KINDS)
    labels = [label for t in traces for label in trace_labels(t)]
    try:
        k = len(registry(image))
    except Exception:  # noqa: BLE001 - an image without personas
        k = 0
    h_cog = cognitive_diversity(labels, k)

    done = outcomes(image)
    win, earlier = done[-window:], done[:-window]
    installs = [r for v, r in win if v == "installed"]
    past = [r.code for v, r in earlier if v == "installed"]
    h_sol = solution_novelty([r.code for r in installs], past)
    known = [(r.receiver, r.selector) for v, r in earlier if v == "installed"]
    h_struc = structural_growth([(r.receiver, r.selector) for r in installs], known)

    from batos.mind.improve import contract_rates
    passed, checked = contract_rates(image)
    misses = [t for t in traces if t.kind == "doesNotUnderstand_"]
    grounded = sum(1 for t in misses if _grounded(t))
    rates = {"contracts": (passed, checked), "generations": (len(installs), len(win))}
    if _catalog_size(image):
        rates["grounded"] = (grounded, len(misses))
    h_rel = relevance(rates)

    parts = {"cog": h_cog, "sol": h_sol, "struc": h_struc, "rel": h_rel}
    use = Counter(labels)
    why = {
        "cog": (", ".join(f"{n} {c}" for n, c in use.most_common(4)) + f" in {len(traces)} cycles"
                if use else "no cycles yet"),
        "sol": f"{len(installs)} new solutions vs {len(past)} earlier",
        "struc": (f"{round(h_struc * len(installs))} new methods of {len(installs)} installed"
                  if installs else "nothing installed"),
        "rel": "; ".join(f"{name} {g}/{t}" for name, (g, t) in rates.items()),
    }
    counts = {"traces": len(traces), "outcomes": len(win), "installed": len(installs),
              "contracts_checked": checked, "contracts_passed": passed}
    return Measure(parts, weights, combine(parts, weights), why, counts)


__all__ = ["PARTS", "NAMES", "WINDOW", "Measure", "measure", "entropy", "cognitive_diversity",
           "solution_novelty", "structural_growth", "relevance", "parse_weights", "combine",
           "shingles", "jaccard", "trace_labels", "outcomes"]
