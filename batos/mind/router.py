"""The CP-MoE router: which persona thinks about a message (issue 7.2).

A CPU gate, no model call: each persona's intent score is how strongly the
message's words hit its routing cues (a cue matches a word that starts with
it, so ``optimi`` matches ``optimise`` and ``optimization``), plus a prior per
task kind (code generation leans to BRICK). Scores are normalised with a
softmax; small Gaussian noise is added before the top-k choice ("noisy top-k
gating", the codex's *intentional function bleed*), drawn from
``random.Random(seed)`` so a seed makes the choice reproducible. The digital ether
(:mod:`batos.mind.ether`) adds its pull to each persona's score before the noise
(:func:`route` ``pull=``; :func:`route_in` reads it from an image).
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

NOISE_STD = 0.05
TEMPERATURE = 0.5  # softmax temperature over raw cue hits
_WORD = re.compile(r"[a-z][a-z0-9_']*")

#: extra raw score per task kind (before the softmax)
PRIORS: dict[str, dict[str, float]] = {
    "code": {"BRICK": 1.5, "ALFRED": 0.5},
    "ask": {"BRICK": 0.25, "ROBIN": 0.25},
}


@dataclass(frozen=True)
class Route:
    """A routing decision: the chosen personas (best first) and why."""

    chosen: tuple[str, ...]
    scores: dict[str, float]          # softmax of cue hits + prior, sums to 1
    noisy: dict[str, float] = field(default_factory=dict)  # scores + noise
    hits: dict[str, list[str]] = field(default_factory=dict)  # cues each persona matched
    seed: int | None = None
    pull: dict[str, float] = field(default_factory=dict)  # the ether's pull per persona

    @property
    def top(self) -> str:
        return self.chosen[0]


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (selectors split at ':' and '_' and camelCase)."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text))
    return _WORD.findall(text.replace("_", " ").replace(":", " ").lower())


def cue_hits(text: str | Sequence[str], cues: Sequence[str]) -> list[str]:
    """The cues of ``cues`` that ``text`` (or its :func:`words`) hits: a cue matches the
    words starting with it; a multi-word cue matches the phrase."""
    ws = words(text) if isinstance(text, str) else list(text)
    prefixes = {w[:i] for w in ws for i in range(1, len(w) + 1)}
    found: list[str] = []
    for cue in cues:
        c = str(cue).lower().strip()
        if " " in c:
            if f" {c}" in " " + " ".join(ws) + " ":
                found.append(c)
        elif c and c in prefixes:
            found.append(c)
    return found


def intent_scores(text: str, cues: Mapping[str, Sequence[str]], *,
                  kind: str | None = None) -> tuple[dict[str, float], dict[str, list[str]]]:
    """(softmax scores per persona, cues hit per persona) for ``text``."""
    if not cues:
        return {}, {}
    ws = words(text)
    hits = {name: cue_hits(ws, cs) for name, cs in cues.items()}
    prior = PRIORS.get(kind or "", {})
    raw = {name: len(h) + prior.get(name, 0.0) for name, h in hits.items()}
    top = max(raw.values())
    exp = {n: math.exp((r - top) / TEMPERATURE) for n, r in raw.items()}
    total = sum(exp.values())
    return {n: round(e / total, 6) for n, e in exp.items()}, hits


def route(text: str, cues: Mapping[str, Sequence[str]], *, k: int = 1,
          seed: int | None = None, kind: str | None = None,
          noise: float = NOISE_STD, pull: Mapping[str, float] | None = None) -> Route:
    """Noisy top-k routing of ``text`` over personas' ``cues``; deterministic under ``seed``.
    ``pull`` (persona -> the ether's pull) is added to the scores before the noise."""
    scores, hits = intent_scores(text, cues, kind=kind)
    rng = random.Random(seed) if seed is not None else random.Random()
    extra = {n: float((pull or {}).get(n, 0.0)) for n in scores}
    noisy = {n: round(s + extra[n] + rng.gauss(0.0, noise), 6) for n, s in scores.items()}
    rank = {n: i for i, n in enumerate(cues)}
    order = sorted(noisy, key=lambda n: (-noisy[n], rank[n]))
    return Route(tuple(order[:max(1, k)]), scores, noisy, hits, seed,
                 {n: v for n, v in extra.items() if v})


__all__ = ["Route", "route", "intent_scores", "cue_hits", "words", "NOISE_STD", "PRIORS"]
