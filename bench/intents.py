"""Intent sets for bench/bench_dnu.py that were written before any tuning of the verified
cycle (2026-12-02), and the multi-object sets.

``HELD_OUT_2`` and ``MULTI_HELD_OUT`` are held out: they are never used while tuning
prompts, briefs or the cycle; run them only to measure. ``MULTI_TUNED`` may be tuned on.

A single-object intent is ``(selector, arguments, starting slots, check(result, receiver))``,
as in bench_dnu.INTENTS. A multi-object intent is ``(selector, build, arguments,
check)``: ``build(genesis)`` makes the receiver (prototypes holding other prototypes,
cloned from a family prototype the way a user would), ``arguments(receiver)`` answers
the arguments (so they may be objects the receiver holds).
"""
from __future__ import annotations

from typing import Any, Callable

Check = Callable[[Any, Any], bool]

# --- single-object, held out ------------------------------------------------------------------

HELD_OUT_2: list[tuple[str, tuple, dict, Check]] = [
    ("occurrencesOf:", ("a",), {"words": ["a", "b", "a", "c"]}, lambda r, o: r == 2),
    ("between:and:", (3, 7), {"value": 5}, lambda r, o: r is True),
    ("palindrome:", ("Racecar",), {}, lambda r, o: r is True),
    ("runningTotal", (), {"items": [1, 2, 3]}, lambda r, o: list(r) == [1, 3, 6]),
    ("median", (), {"numbers": [3, 1, 2]}, lambda r, o: r == 2),
    ("rangeOfItems", (), {"items": [4, 9, 1]}, lambda r, o: r == 8),
    ("secondLargest", (), {"items": [5, 9, 7]}, lambda r, o: r == 7),
    ("wordLengths:", ("a bb ccc",), {}, lambda r, o: list(r) == [1, 2, 3]),
    ("removeVowels:", ("banana",), {}, lambda r, o: r == "bnn"),
    ("digitSum:", (1234,), {}, lambda r, o: r == 10),
    ("isPerfectSquare:", (49,), {}, lambda r, o: r is True),
    ("minutesToSeconds:", (3,), {}, lambda r, o: r == 180),
    ("inchesToCm:", (2,), {}, lambda r, o: isinstance(r, (int, float)) and abs(r - 5.08) < 0.01),
    ("absoluteDifferenceOf:and:", (3, 10), {}, lambda r, o: r == 7),
    ("halve", (), {"count": 10}, lambda r, o: o.count == 5),
    ("addAll:", ((3, 4),), {"items": [1]}, lambda r, o: list(o.items) == [1, 3, 4]),
    ("swapFirstAndLast", (), {"items": [1, 2, 3]},
     lambda r, o: list(o.items) == [3, 2, 1] or (r is not o and list(r) == [3, 2, 1])),
    ("longestWord:", ("the quick brown fox",), {}, lambda r, o: r == "quick"),
    ("isSorted", (), {"items": [1, 2, 2, 5]}, lambda r, o: r is True),
    ("withdraw:", (30,), {"balance": 100}, lambda r, o: o.balance == 70),
    ("zeroCount", (), {"items": [0, 1, 0]}, lambda r, o: r == 2),
    ("stutter:", ("ab",), {}, lambda r, o: r == "aabb"),
    ("isAnagramOf:and:", ("listen", "silent"), {}, lambda r, o: r is True),
    ("countAbove:", (5,), {"numbers": [3, 6, 9, 5]}, lambda r, o: r == 2),
]


# --- multi-object worlds ----------------------------------------------------------------------

def family(genesis: Any, **slots: Any) -> Any:
    """A prototype made from genesis with ``slots``."""
    proto = genesis.clone()
    for key, value in slots.items():
        proto.set_slot(key, value)
    return proto


def members(proto: Any, rows: list[dict]) -> list[Any]:
    """Clones of ``proto`` with each row's slots."""
    out = []
    for row in rows:
        obj = proto.clone()
        for key, value in row.items():
            obj.set_slot(key, value)
        out.append(obj)
    return out


def _holder(genesis: Any, slot: str, proto_slots: dict, rows: list[dict], **extra: Any) -> Any:
    proto = family(genesis, **proto_slots)
    return family(genesis, **{slot: members(proto, rows)}, **extra)


def store(g: Any) -> Any:
    return _holder(g, "items", {"name": "", "price": 0, "qty": 0}, [
        {"name": "pen", "price": 2, "qty": 10}, {"name": "book", "price": 12, "qty": 3},
        {"name": "cup", "price": 5, "qty": 0}])


def bank(g: Any) -> Any:
    return _holder(g, "accounts", {"owner": "", "balance": 0}, [
        {"owner": "alice", "balance": 100}, {"owner": "bob", "balance": 50}])


def library(g: Any) -> Any:
    return _holder(g, "books", {"title": "", "author": "", "year": 0, "available": True}, [
        {"title": "Dune", "author": "Herbert", "year": 1965, "available": True},
        {"title": "Emma", "author": "Austen", "year": 1815, "available": False},
        {"title": "Children of Dune", "author": "Herbert", "year": 1976, "available": True}])


def team(g: Any) -> Any:
    return _holder(g, "players", {"name": "", "score": 0}, [
        {"name": "ann", "score": 31}, {"name": "ben", "score": 12}, {"name": "cy", "score": 20}])


def _named(items: Any, attr: str, value: Any) -> Any:
    return next(x for x in items if getattr(x, attr) == value)


def _is_or_named(result: Any, items: Any, attr: str, value: Any) -> bool:
    return result is _named(items, attr, value) or result == value


def _names(result: Any, attr: str) -> list:
    return [getattr(x, attr, x) for x in result]


MULTI_TUNED: list[tuple[str, Callable, Callable, Check]] = [
    ("stockValue", store, lambda o: (), lambda r, o: r == 56),
    ("totalQuantity", store, lambda o: (), lambda r, o: r == 13),
    ("cheapestItem", store, lambda o: (), lambda r, o: _is_or_named(r, o.items, "name", "pen")),
    ("itemNamed:", store, lambda o: ("book",), lambda r, o: r is _named(o.items, "name", "book")),
    ("outOfStockNames", store, lambda o: (), lambda r, o: list(r) == ["cup"]),
    ("restock:by:", store, lambda o: ("cup", 4),
     lambda r, o: _named(o.items, "name", "cup").qty == 4),
    ("totalBalance", bank, lambda o: (), lambda r, o: r == 150),
    ("richestOwner", bank, lambda o: (), lambda r, o: r == "alice"),
    ("transfer:from:to:", bank, lambda o: (30, "alice", "bob"),
     lambda r, o: [a.balance for a in o.accounts] == [70, 80]),
    ("accountOf:", bank, lambda o: ("bob",), lambda r, o: r is o.accounts[1]),
    ("closeAccountOf:", bank, lambda o: ("bob",),
     lambda r, o: [a.owner for a in o.accounts] == ["alice"]),
    ("availableTitles", library, lambda o: (),
     lambda r, o: list(r) == ["Dune", "Children of Dune"]),
    ("booksBy:", library, lambda o: ("Herbert",),
     lambda r, o: _names(r, "title") == ["Dune", "Children of Dune"]),
    ("oldestTitle", library, lambda o: (), lambda r, o: r == "Emma"),
    ("topScorer", team, lambda o: (), lambda r, o: _is_or_named(r, o.players, "name", "ann")),
    ("averageScore", team, lambda o: (), lambda r, o: r == 21),
]


# --- multi-object, held out -------------------------------------------------------------------

def school(g: Any) -> Any:
    return _holder(g, "students", {"name": "", "grade": 0}, [
        {"name": "zoe", "grade": 91}, {"name": "max", "grade": 64}, {"name": "ida", "grade": 78}])


def playlist(g: Any) -> Any:
    return _holder(g, "songs", {"title": "", "seconds": 0}, [
        {"title": "a", "seconds": 200}, {"title": "b", "seconds": 340},
        {"title": "c", "seconds": 60}])


def garage(g: Any) -> Any:
    return _holder(g, "cars", {"make": "", "mileage": 0, "needsService": False}, [
        {"make": "volvo", "mileage": 12000, "needsService": True},
        {"make": "fiat", "mileage": 3000, "needsService": False}])


def zoo(g: Any) -> Any:
    return _holder(g, "animals", {"name": "", "species": "", "age": 0}, [
        {"name": "tom", "species": "cat", "age": 4}, {"name": "rex", "species": "dog", "age": 2},
        {"name": "kit", "species": "cat", "age": 1}])


def order(g: Any) -> Any:
    return _holder(g, "lines", {"product": "", "qty": 0, "unitPrice": 0}, [
        {"product": "tea", "qty": 2, "unitPrice": 3}, {"product": "jam", "qty": 1, "unitPrice": 4}])


MULTI_HELD_OUT: list[tuple[str, Callable, Callable, Check]] = [
    ("bestStudentName", school, lambda o: (), lambda r, o: r == "zoe"),
    ("gradeOf:", school, lambda o: ("max",), lambda r, o: r == 64),
    ("studentsAbove:", school, lambda o: (70,),
     lambda r, o: sorted(_names(r, "name")) == ["ida", "zoe"]),
    ("totalMinutes", playlist, lambda o: (), lambda r, o: r == 10),
    ("longestTitle", playlist, lambda o: (), lambda r, o: r == "b"),
    ("removeSongTitled:", playlist, lambda o: ("b",),
     lambda r, o: [s.title for s in o.songs] == ["a", "c"]),
    ("totalMileage", garage, lambda o: (), lambda r, o: r == 15000),
    ("serviceAll", garage, lambda o: (), lambda r, o: not any(c.needsService for c in o.cars)),
    ("carsNeedingService", garage, lambda o: (),
     lambda r, o: _names(r, "make") == ["volvo"]),
    ("countOfSpecies:", zoo, lambda o: ("cat",), lambda r, o: r == 2),
    ("youngestName", zoo, lambda o: (), lambda r, o: r == "kit"),
    ("orderTotal", order, lambda o: (), lambda r, o: r == 10),
    ("depositAll:", bank, lambda o: (5,), lambda r, o: [a.balance for a in o.accounts] == [105, 55]),
    ("ownersSorted", bank, lambda o: (), lambda r, o: list(r) == ["alice", "bob"]),
]
