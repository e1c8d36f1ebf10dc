"""The digital ether: decaying pheromones that personas leave on outcomes (stigmergy).

``root['digital_ether']`` is an OOBTree keyed by ``kind|topic|persona`` whose values
are plain tuples ``(kind, topic, persona, intensity, time, deposits)``: what happened
(:data:`KINDS`), the words it concerns (a selector's words, stop words dropped), the
persona it concerns, the intensity at ``time`` (epoch seconds) and how many deposits
built it. Intensity decays exponentially with the ``ether_half_life`` setting
(seconds); a trail weaker than :data:`FLOOR` evaporates (is removed), and the ether
keeps at most :data:`MAX_TRAILS` trails (the weakest go first).

Deposits come from outcomes: a verified success (``success``), a failed generation
(``failure``), a review that found a flaw (``flaw``), a contract that broke
(``broken``). The router adds :func:`pull` to its noisy scores (a success attracts
the persona that succeeded to the same words, the other kinds repel the persona they
concern); the heartbeat reads the failure-side trails to choose its work.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

ROOT_KEY = "digital_ether"
#: kind -> sign of its pull on the persona it concerns
KINDS: dict[str, float] = {"success": 1.0, "failure": -1.0, "flaw": -1.0, "broken": -1.0}
FLOOR = 0.05          # a trail weaker than this evaporates
MAX_TRAILS = 512      # the ether's bound
PULL_WEIGHT = 1.0     # the largest pull a persona can get (scores are a softmax, sum 1)
MAX_INTENSITY = 20.0  # repeated deposits saturate
_SEP = "|"
_STOP = frozenset({"a", "an", "the", "to", "of", "in", "on", "at", "as", "by", "for", "with",
                   "and", "or", "is", "it", "be", "do", "self", "value", "put", "from", "into"})


@dataclass(frozen=True)
class Pheromone:
    """A trail as it is now (intensity decayed to ``now``)."""

    kind: str
    topic: str
    persona: str
    intensity: float
    time: float
    deposits: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "topic": self.topic, "persona": self.persona,
                "intensity": round(self.intensity, 4), "time": self.time,
                "deposits": self.deposits}


def topic_words(text: str) -> tuple[str, ...]:
    """The words a pheromone concerns: ``text``'s words (selectors split at ':', '_' and
    camelCase), stop words and one-letter words dropped, sorted, unique, at most 6."""
    from batos.mind.router import words
    found = sorted({w for w in words(text) if len(w) > 1 and w not in _STOP})
    return tuple(found[:6])


def half_life(image: Any) -> float:
    from batos.settings import setting
    value = float(setting("ether_half_life", options=getattr(image, "options", None)))
    return value if value > 0 else 3600.0


def decayed(intensity: float, since: float, now: float, half: float) -> float:
    """``intensity`` deposited at ``since``, as it is at ``now`` (half-life ``half``)."""
    age = max(now - since, 0.0)
    return intensity * math.pow(0.5, age / half)


def ether_tree(image: Any, create: bool = True) -> Any:
    """``root['digital_ether']`` (made when missing, writable images only)."""
    tree = image.root.get(ROOT_KEY)
    if tree is None and create and not getattr(image, "read_only", False):
        from BTrees.OOBTree import OOBTree
        tree = image.root[ROOT_KEY] = OOBTree()
    return tree


def deposit(image: Any, kind: str, topic: str | Sequence[str], persona: str = "",
            amount: float = 1.0, *, now: float | None = None) -> Pheromone | None:
    """Add ``amount`` to the trail (``kind``, ``topic``, ``persona``) in the current
    transaction (the old intensity decayed to ``now`` first). None on a read-only image
    or when ``topic`` has no words."""
    if kind not in KINDS:
        raise ValueError(f"unknown pheromone kind {kind!r} (kinds: {', '.join(KINDS)})")
    words = tuple(topic) if not isinstance(topic, str) else topic_words(topic)
    tree = ether_tree(image)
    if tree is None or not words:
        return None
    now = time.time() if now is None else float(now)
    text, persona = " ".join(words), str(persona or "").upper()
    key = _SEP.join((kind, text, persona))
    old = tree.get(key)
    level = decayed(old[3], old[4], now, half_life(image)) if old else 0.0
    level = min(level + float(amount), MAX_INTENSITY)
    count = (old[5] if old else 0) + 1
    tree[key] = (kind, text, persona, level, now, count)
    if len(tree) > MAX_TRAILS:
        evaporate(image, now=now)
    return Pheromone(kind, text, persona, level, now, count)


def trails(image: Any, *, now: float | None = None, kind: str | None = None,
           limit: int | None = None) -> list[Pheromone]:
    """The trails above the floor, strongest first (read-only: nothing is removed)."""
    tree = ether_tree(image, create=False)
    if not tree:
        return []
    now = time.time() if now is None else float(now)
    half = half_life(image)
    out = []
    for value in tree.values():
        k, topic, persona, level, at, count = value
        if kind is not None and k != kind:
            continue
        level = decayed(level, at, now, half)
        if level >= FLOOR:
            out.append(Pheromone(k, topic, persona, level, at, count))
    out.sort(key=lambda p: (-p.intensity, p.kind, p.topic, p.persona))
    return out[:limit] if limit is not None else out


def evaporate(image: Any, *, now: float | None = None) -> int:
    """Remove the trails below the floor, then the weakest beyond :data:`MAX_TRAILS`;
    answers how many went."""
    tree = ether_tree(image, create=False)
    if not tree or getattr(image, "read_only", False):
        return 0
    now = time.time() if now is None else float(now)
    half = half_life(image)
    levels = {key: decayed(v[3], v[4], now, half) for key, v in tree.items()}
    gone = [key for key, level in levels.items() if level < FLOOR]
    kept = sorted((k for k in levels if levels[k] >= FLOOR), key=lambda k: levels[k])
    gone += kept[:max(len(kept) - MAX_TRAILS, 0)]
    for key in gone:
        del tree[key]
    return len(gone)


def overlap(words: Iterable[str], topic: str) -> float:
    """The share of ``topic``'s words that ``words`` holds (0..1)."""
    have = set(words)
    want = topic.split()
    return sum(1 for w in want if w in have) / len(want) if want else 0.0


def pull(image: Any, text: str, personas: Iterable[str] = (), *,
         now: float | None = None) -> dict[str, float]:
    """What the ether adds to each persona's routing score for ``text``: the signed sum
    of the trails on its words (intensity × word overlap; a success attracts, the
    other kinds repel the persona they concern), squashed to ±:data:`PULL_WEIGHT`."""
    words = topic_words(text)
    sums: dict[str, float] = {str(p).upper(): 0.0 for p in personas}
    if not words:
        return sums
    for p in trails(image, now=now):
        if not p.persona:
            continue
        share = overlap(words, p.topic)
        if share:
            sums[p.persona] = sums.get(p.persona, 0.0) + KINDS[p.kind] * p.intensity * share
    return {name: round(PULL_WEIGHT * math.tanh(s), 6) for name, s in sums.items()}


def weak_areas(image: Any, *, now: float | None = None, limit: int = 5) -> list[tuple[str, float]]:
    """Topics the failure-side trails point at, strongest first: (topic, intensity summed
    over personas and kinds failure/flaw/broken)."""
    sums: dict[str, float] = {}
    for p in trails(image, now=now):
        if KINDS[p.kind] < 0:
            sums[p.topic] = sums.get(p.topic, 0.0) + p.intensity
    return sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def strength(image: Any, kind: str, topic: str, *, now: float | None = None) -> float:
    """The summed intensity of ``kind`` trails on ``topic``'s words (any persona)."""
    words = topic_words(topic)
    return sum(p.intensity * overlap(words, p.topic) for p in trails(image, now=now, kind=kind))


# --- deposits on outcomes (called by batos.mind.genlog.append) ---------------------------------

def deposit_outcomes(image: Any, records: Sequence[Any]) -> int:
    """Deposit for the outcomes among generation-log ``records``: an installed generated
    method is a verified success of its persona; a failure record is a failed generation
    (its persona: the last attempt's in the same batch). Human edits deposit nothing.
    Answers how many deposits were made."""
    if getattr(image, "read_only", True) or getattr(image, "root", None) is None:
        return 0
    made = 0
    last_persona: dict[str, str] = {}
    for rec in records:
        selector = str(getattr(rec, "selector", "") or "")
        verdict = getattr(rec, "verdict", None)
        persona = str(getattr(rec, "persona", "") or "")
        if verdict is not None:  # a GenerationRecord
            if persona and persona != "human":
                last_persona[selector] = persona
            if verdict == "installed" and persona and persona != "human":
                made += deposit(image, "success", selector, persona) is not None
        elif hasattr(rec, "attempts"):  # a FailureRecord
            made += deposit(image, "failure", selector, last_persona.get(selector, "")) is not None
    return made


def summary(image: Any, *, now: float | None = None) -> Mapping[str, Any]:
    """Counts per kind and the total, for the status view."""
    found = trails(image, now=now)
    kinds = {k: sum(1 for p in found if p.kind == k) for k in KINDS}
    return {"trails": len(found), "kinds": kinds,
            "intensity": round(sum(p.intensity for p in found), 4)}


def route_in(image: Any, text: str, cues: Mapping[str, Sequence[str]], **kw: Any) -> Any:
    """The router's :func:`~batos.mind.router.route` with the pull of ``image``'s ether
    on ``text``'s words."""
    from batos.mind.router import route
    return route(text, cues, pull=pull(image, text, cues), **kw)


__all__ = ["KINDS", "FLOOR", "MAX_TRAILS", "Pheromone", "deposit", "trails", "evaporate",
           "pull", "route_in", "weak_areas", "strength", "topic_words", "decayed", "deposit_outcomes",
           "ether_tree", "summary"]
