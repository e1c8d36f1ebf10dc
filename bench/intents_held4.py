"""A fourth held-out intent set for bench/bench_dnu.py: ``HELD_OUT_4`` (single-object) and
``MULTI_HELD_OUT_3`` (multi-object, over three worlds of its own).

Written 2026-12-03 by someone who saw no model output and no prompts. Held out: never tune
prompts, briefs or the cycle on it; run it only to measure.

The shapes are bench/intents.py's: a single-object intent is ``(selector, arguments,
starting slots, check(result, receiver))``; a multi-object intent is ``(selector, build,
arguments, check)``, ``build(genesis)`` making the receiver and ``arguments(receiver)``
answering the arguments.
"""
from __future__ import annotations

from typing import Any, Callable

from intents import (_as_dict, _holder, _is_or_named, _lists, _named, _names,  # noqa: F401
                     _num, Check)


def _seq(result: Any) -> list | None:
    """``result`` as a list when it is a sequence (list, tuple …), else None."""
    if isinstance(result, (str, bytes)) or hasattr(result, "keys"):
        return None
    try:
        return list(result)
    except TypeError:
        return None


def _fields(result: Any, attr: str) -> list | None:
    """The ``attr`` of each object in ``result`` (or the item itself when it is a value)."""
    seq = _seq(result)
    return None if seq is None else _names(seq, attr)


def _text(result: Any, *accepted: str) -> bool:
    return isinstance(result, str) and result.replace(" ", "") in accepted


# --- single-object, held out ------------------------------------------------------------------

HELD_OUT_4: list[tuple[str, tuple, dict, Check]] = [
    # arithmetic
    ("lcmOf:and:", (4, 6), {}, lambda r, o: _num(r, 12)),
    ("averageOf:and:", (3, 8), {}, lambda r, o: _num(r, 5.5)),
    ("poundsToKilograms:", (10,), {}, lambda r, o: _num(r, 4.5359, 0.04)),
    ("percentChangeFrom:to:", (50, 75), {},
     lambda r, o: _num(r, 50) or _text(r, "50%", "50.0%", "+50%", "+50.0%")),
    # collections over a slot
    ("sumOfSquares", (), {"numbers": [1, 2, 3]}, lambda r, o: _num(r, 14)),
    ("sumOfNegatives", (), {"numbers": [3, -2, 5, -4]}, lambda r, o: _num(r, -6)),
    ("indexOfLargest", (), {"items": [4, 9, 2]},
     lambda r, o: _num(r, 2) or _num(r, 1)),  # 1-based (Smalltalk) or 0-based
    ("squaredItems", (), {"items": [1, 2, 3]}, lambda r, o: _seq(r) == [1, 4, 9]),
    ("flattenedItems", (), {"items": [[1, 2], [3], [4, 5]]},
     lambda r, o: _seq(r) == [1, 2, 3, 4, 5]),
    # strings
    ("swapCase:", ("Hello World",), {}, lambda r, o: r == "hELLO wORLD"),
    ("repeat:times:", ("ab", 3), {}, lambda r, o: r == "ababab"),
    ("countWords:", ("the cat sat on the mat",), {}, lambda r, o: _num(r, 6)),
    ("letterCounts:", ("banana",), {}, lambda r, o: _as_dict(r) == {"b": 1, "a": 3, "n": 2}),
    # dictionaries held in slots
    ("mostExpensive", (), {"prices": {"tea": 3, "cake": 7, "bun": 2}},
     lambda r, o: r == "cake" or _seq(r) == ["cake", 7]),
    ("namesSortedByAge", (), {"ages": {"ann": 30, "bo": 25, "cy": 41}},
     lambda r, o: _seq(r) == ["bo", "ann", "cy"]),
    ("highestScore", (), {"scores": {"ann": 12, "bo": 19, "cy": 7}}, lambda r, o: _num(r, 19)),
    # pure functions of the arguments
    ("primesUpTo:", (20,), {}, lambda r, o: _seq(r) == [2, 3, 5, 7, 11, 13, 17, 19]),
    ("reverseDigits:", (1234,), {}, lambda r, o: _num(r, 4321) or r == "4321"),
    # predicates
    ("isVowel:", ("u",), {}, lambda r, o: r is True),
    ("includesAll:", (("a", "c"),), {"items": ["a", "b", "c"]}, lambda r, o: r is True),
    ("isPowerOfTwo:", (48,), {}, lambda r, o: r is False),
    ("isOverLimit", (), {"spent": 80, "limit": 100}, lambda r, o: r is False),
    # formatting
    ("formatMoney:", (1234.5,), {},
     lambda r, o: r in ("$1,234.50", "$1234.50", "1,234.50", "1234.50")),
    ("commaSeparated", (), {"items": ["red", "green", "blue"]},
     lambda r, o: r in ("red, green, blue", "red,green,blue")),
    ("secondsToClock:", (3725,), {}, lambda r, o: r in ("1:02:05", "01:02:05")),
    # changes of state
    ("doubleAll", (), {"items": [1, 2, 3]},
     lambda r, o: _seq(o.items) == [2, 4, 6] or (r is not o and _seq(r) == [2, 4, 6])),
    ("capitalizeNames", (), {"names": ["ann", "bob"]},
     lambda r, o: _seq(o.names) == ["Ann", "Bob"]
     or (r is not o and _seq(r) == ["Ann", "Bob"])),
    ("levelUp", (), {"level": 3, "xp": 250}, lambda r, o: o.level == 4),
    ("addPoints:to:", (5, "bo"), {"scores": {"ann": 12, "bo": 9}},
     lambda r, o: _as_dict(o.scores) == {"ann": 12, "bo": 14}),
    ("dequeue", (), {"queue": [1, 2, 3]}, lambda r, o: r == 1 and _seq(o.queue) == [2, 3]),
]


# --- multi-object worlds ----------------------------------------------------------------------

def observatory(g: Any) -> Any:
    return _holder(g, "telescopes", {"name": "", "aperture": 0, "site": "",
                                     "operational": True}, [
        {"name": "Hale", "aperture": 508, "site": "Palomar", "operational": True},
        {"name": "Hooker", "aperture": 254, "site": "Mount Wilson", "operational": False},
        {"name": "Keck", "aperture": 1000, "site": "Mauna Kea", "operational": True},
        {"name": "Subaru", "aperture": 820, "site": "Mauna Kea", "operational": True}])


def airline(g: Any) -> Any:
    return _holder(g, "flights", {"code": "", "destination": "", "passengers": 0,
                                  "delayed": False}, [
        {"code": "BA12", "destination": "Paris", "passengers": 160, "delayed": False},
        {"code": "LH40", "destination": "Rome", "passengers": 120, "delayed": True},
        {"code": "AF7", "destination": "Oslo", "passengers": 70, "delayed": True}])


def band(g: Any) -> Any:
    return _holder(g, "musicians", {"name": "", "instrument": "", "gigs": 0, "onTour": True}, [
        {"name": "Joni", "instrument": "guitar", "gigs": 14, "onTour": True},
        {"name": "Miles", "instrument": "trumpet", "gigs": 30, "onTour": False},
        {"name": "Ella", "instrument": "vocals", "gigs": 22, "onTour": True}])


# --- multi-object, held out -------------------------------------------------------------------

MULTI_HELD_OUT_3: list[tuple[str, Callable, Callable, Check]] = [
    ("totalAperture", observatory, lambda o: (), lambda r, o: _num(r, 2582)),
    ("telescopesAt:", observatory, lambda o: ("Mauna Kea",),
     lambda r, o: _fields(r, "name") == ["Keck", "Subaru"]),
    ("largestTelescopeName", observatory, lambda o: (), lambda r, o: r == "Keck"),
    ("shutDown:", observatory, lambda o: ("Hale",),
     lambda r, o: [t.operational for t in o.telescopes] == [False, False, True, True]),
    ("totalPassengers", airline, lambda o: (), lambda r, o: _num(r, 350)),
    ("delayedCodes", airline, lambda o: (), lambda r, o: _seq(r) == ["LH40", "AF7"]),
    ("cancelFlight:", airline, lambda o: ("AF7",),
     lambda r, o: [f.code for f in o.flights] == ["BA12", "LH40"]),
    ("rebook:from:to:", airline, lambda o: (20, "BA12", "AF7"),
     lambda r, o: [f.passengers for f in o.flights] == [140, 120, 90]),
    ("namesByMostGigs", band, lambda o: (),
     lambda r, o: _fields(r, "name") == ["Miles", "Ella", "Joni"]),
    ("instrumentOf:", band, lambda o: ("Ella",), lambda r, o: r == "vocals"),
    ("recordGigFor:", band, lambda o: ("Joni",),
     lambda r, o: [m.gigs for m in o.musicians] == [15, 30, 22]),
    ("musicianWithFewestGigs", band, lambda o: (),
     lambda r, o: _is_or_named(r, o.musicians, "name", "Joni")),
]
