"""Intent sets for bench/bench_dnu.py that were written before any tuning of the verified
cycle (2026-12-02), and the multi-object sets.

``HELD_OUT_2`` and ``MULTI_HELD_OUT`` are held out: they are never used while tuning
prompts, briefs or the cycle; run them only to measure. ``MULTI_TUNED`` may be tuned on.
``HELD_OUT_3`` and ``MULTI_HELD_OUT_2`` (written 2026-12-03, before any model output on
them was seen) are held out the same way. ``TUNED_4`` and ``MULTI_TUNED_3`` (round 4) are
tuning sets: tuning may look at them.

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


# --- held out, third set ----------------------------------------------------------------------
# Written 2026-12-03 by someone who had not seen any model output on them. Held out: never
# tune prompts, briefs or the cycle on HELD_OUT_3 or MULTI_HELD_OUT_2; run them only to measure.

def _num(result: Any, expected: float, tol: float = 1e-6) -> bool:
    return (isinstance(result, (int, float)) and not isinstance(result, bool)
            and abs(result - expected) <= tol)


def _as_dict(result: Any) -> dict | None:
    try:
        return dict(result.items()) if hasattr(result, "items") else dict(result)
    except (TypeError, ValueError):
        return None


def _lists(result: Any) -> list | None:
    try:
        return [list(x) for x in result]
    except TypeError:
        return None


def _masked(result: Any, last: str, length: int) -> bool:
    if not isinstance(result, str):
        return False
    plain = result.replace(" ", "").replace("-", "")
    return (len(plain) == length and plain.endswith(last)
            and not any(c.isdigit() for c in plain[:-len(last)]))


HELD_OUT_3: list[tuple[str, tuple, dict, Check]] = [
    # numbers, strings and dictionaries held in slots
    ("mostFrequent", (), {"numbers": [3, 1, 3, 2, 1, 3]}, lambda r, o: r == 3),
    ("wordFrequencies", (), {"words": ["red", "blue", "red"]},
     lambda r, o: _as_dict(r) == {"red": 2, "blue": 1}),
    ("priceOf:", ("pear",), {"prices": {"apple": 3, "pear": 5}}, lambda r, o: r == 5),
    ("inventoryTotal", (), {"stock": {"nails": 40, "screws": 25}}, lambda r, o: r == 65),
    ("winner", (), {"votes": {"yes": 7, "no": 4, "abstain": 2}}, lambda r, o: r == "yes"),
    ("consecutiveDifferences", (), {"readings": [3, 7, 12, 20]},
     lambda r, o: list(r) == [4, 5, 8]),
    ("namesStartingWith:", ("b",), {"names": ["bob", "amy", "bea"]},
     lambda r, o: list(r) == ["bob", "bea"]),
    ("duplicates", (), {"items": [1, 2, 2, 3, 3, 3, 4]}, lambda r, o: sorted(r) == [2, 3]),
    ("chunksOf:", (2,), {"items": [1, 2, 3, 4, 5]},
     lambda r, o: _lists(r) == [[1, 2], [3, 4], [5]]),
    ("keysWithValue:", (30,), {"ages": {"ann": 30, "bo": 25, "cy": 30}},
     lambda r, o: sorted(r) == ["ann", "cy"]),
    # pure functions of the arguments
    ("camelCase:", ("make it work",), {}, lambda r, o: r == "makeItWork"),
    ("romanNumeral:", (49,), {}, lambda r, o: r == "XLIX"),
    ("binaryOf:", (10,), {}, lambda r, o: r in ("1010", "2r1010", "0b1010")),
    ("hypotenuseOf:and:", (3, 4), {}, lambda r, o: _num(r, 5)),
    ("caesar:shift:", ("xyz", 2), {}, lambda r, o: r == "zab"),
    ("fizzBuzz:", (15,), {},
     lambda r, o: isinstance(r, str) and r.replace(" ", "").lower() == "fizzbuzz"),
    ("ordinal:", (12,), {}, lambda r, o: r == "12th"),
    ("roundUp:toMultipleOf:", (17, 5), {}, lambda r, o: r == 20),
    ("interleave:with:", ("abc", "123"), {}, lambda r, o: r == "a1b2c3"),
    ("maskCardNumber:", ("1234567812345678",), {}, lambda r, o: _masked(r, "5678", 16)),
    # predicates
    ("isOverdrawn", (), {"balance": -20}, lambda r, o: r is True),
    ("canAfford:", (30,), {"balance": 25}, lambda r, o: r is False),
    ("allPositive", (), {"numbers": [3, -1, 4]}, lambda r, o: r is False),
    ("hasUniqueLetters:", ("world",), {}, lambda r, o: r is True),
    # changes of state
    ("moveToEnd:", ("b",), {"items": ["a", "b", "c"]},
     lambda r, o: list(o.items) == ["a", "c", "b"]),
    ("removeEvens", (), {"items": [1, 2, 3, 4]}, lambda r, o: list(o.items) == [1, 3]),
    ("rotateLeft", (), {"items": [1, 2, 3, 4]}, lambda r, o: list(o.items) == [2, 3, 4, 1]),
    ("logIn", (), {"loggedIn": False, "logins": 0},
     lambda r, o: o.loggedIn is True and o.logins == 1),
    ("recordVote:", ("maybe",), {"votes": {"yes": 2}},
     lambda r, o: _as_dict(o.votes) == {"yes": 2, "maybe": 1}),
    ("renameKey:to:", ("colour", "color"), {"settings": {"colour": "red", "size": 2}},
     lambda r, o: _as_dict(o.settings) == {"color": "red", "size": 2}),
]


def kitchen(g: Any) -> Any:
    return _holder(g, "ingredients", {"name": "", "grams": 0, "kcalPer100g": 0}, [
        {"name": "flour", "grams": 500, "kcalPer100g": 364},
        {"name": "butter", "grams": 200, "kcalPer100g": 717},
        {"name": "sugar", "grams": 100, "kcalPer100g": 387}])


def fleet(g: Any) -> Any:
    return _holder(g, "ships", {"name": "", "crew": 0, "speed": 0, "docked": True}, [
        {"name": "Aurora", "crew": 12, "speed": 18, "docked": True},
        {"name": "Brig", "crew": 30, "speed": 11, "docked": False},
        {"name": "Cutter", "crew": 8, "speed": 25, "docked": False}])


def course(g: Any) -> Any:
    return _holder(g, "lessons", {"title": "", "minutes": 0, "done": False}, [
        {"title": "Intro", "minutes": 10, "done": True},
        {"title": "Loops", "minutes": 25, "done": False},
        {"title": "Blocks", "minutes": 40, "done": False}])


MULTI_HELD_OUT_2: list[tuple[str, Callable, Callable, Check]] = [
    ("totalCalories", kitchen, lambda o: (), lambda r, o: _num(r, 3641, 0.5)),
    ("scaleRecipeBy:", kitchen, lambda o: (2,),
     lambda r, o: [i.grams for i in o.ingredients] == [1000, 400, 200]),
    ("ingredientsOver:", kitchen, lambda o: (150,),
     lambda r, o: _names(r, "name") == ["flour", "butter"]),
    ("fastestShipName", fleet, lambda o: (), lambda r, o: r == "Cutter"),
    ("crewAtSea", fleet, lambda o: (), lambda r, o: r == 38),
    ("launch:", fleet, lambda o: ("Aurora",),
     lambda r, o: [s.docked for s in o.ships] == [False, False, False]),
    ("namesFastestFirst", fleet, lambda o: (),
     lambda r, o: _names(r, "name") == ["Cutter", "Aurora", "Brig"]),
    ("decommission:", fleet, lambda o: ("Brig",),
     lambda r, o: [s.name for s in o.ships] == ["Aurora", "Cutter"]),
    ("minutesLeft", course, lambda o: (), lambda r, o: r == 65),
    ("markDone:", course, lambda o: ("Loops",),
     lambda r, o: [le.done for le in o.lessons] == [True, True, False]),
    ("nextLesson", course, lambda o: (),
     lambda r, o: _is_or_named(r, o.lessons, "title", "Loops")),
    ("swapLesson:with:", course, lambda o: ("Intro", "Loops"),
     lambda r, o: [le.title for le in o.lessons] == ["Loops", "Intro", "Blocks"]),
]

# --- multi-object, tuned (second set) ---------------------------------------------------------
# Written 2026-12-03 to tune the multi-object cycle on after the fresh held-out sets above
# showed where it stands; tuning looks at these, never at MULTI_HELD_OUT_2.

def warehouse(g: Any) -> Any:
    return _holder(g, "crates", {"label": "", "weight": 0, "fragile": False}, [
        {"label": "tv", "weight": 18, "fragile": True},
        {"label": "books", "weight": 25, "fragile": False},
        {"label": "vase", "weight": 4, "fragile": True}])


def hotel(g: Any) -> Any:
    return _holder(g, "rooms", {"number": 0, "beds": 1, "occupied": False, "rate": 0}, [
        {"number": 101, "beds": 1, "occupied": True, "rate": 80},
        {"number": 102, "beds": 2, "occupied": False, "rate": 120},
        {"number": 103, "beds": 3, "occupied": True, "rate": 150}])


def club(g: Any) -> Any:
    return _holder(g, "members", {"name": "", "joined": 2000, "fee": 0, "active": True}, [
        {"name": "ann", "joined": 2019, "fee": 30, "active": True},
        {"name": "bo", "joined": 2011, "fee": 20, "active": False},
        {"name": "cy", "joined": 2015, "fee": 40, "active": True}])


MULTI_TUNED_2: list[tuple[str, Callable, Callable, Check]] = [
    ("heaviestCrateLabel", warehouse, lambda o: (), lambda r, o: r == "books"),
    ("totalWeightOfFragile", warehouse, lambda o: (), lambda r, o: r == 22),
    ("cratesHeavierThan:", warehouse, lambda o: (10,),
     lambda r, o: _names(r, "label") == ["tv", "books"]),
    ("removeCrateLabelled:", warehouse, lambda o: ("books",),
     lambda r, o: [c.label for c in o.crates] == ["tv", "vase"]),
    ("freeRooms", hotel, lambda o: (), lambda r, o: _names(r, "number") == [102]),
    ("checkIn:", hotel, lambda o: (102,), lambda r, o: o.rooms[1].occupied is True),
    ("nightlyIncome", hotel, lambda o: (), lambda r, o: r == 230),
    ("roomNumbersByRate", hotel, lambda o: (), lambda r, o: list(r) == [101, 102, 103]),
    ("activeMemberNames", club, lambda o: (), lambda r, o: list(r) == ["ann", "cy"]),
    ("raiseFeesBy:", club, lambda o: (10,),
     lambda r, o: [m.fee for m in o.members] == [40, 30, 50]),
    ("longestServingName", club, lambda o: (), lambda r, o: r == "bo"),
    ("moveToFront:", club, lambda o: ("cy",),
     lambda r, o: [m.name for m in o.members] == ["cy", "ann", "bo"]),
    ("deactivate:", club, lambda o: ("ann",),
     lambda r, o: [m.active for m in o.members] == [False, False, True]),
    ("feesPaidByActive", club, lambda o: (), lambda r, o: r == 70),
]

# --- round 4, tuned (written 2026-12-03; tuning may look at these) ---------------------------

TUNED_4: list[tuple[str, tuple, dict, Check]] = [
    # arithmetic
    ("areaOfCircleWithRadius:", (3,), {}, lambda r, o: _num(r, 28.274, 0.02)),
    ("compoundInterestOn:rate:years:", (1000, 10, 2), {},  # the amount, or the interest alone
     lambda r, o: _num(r, 1210, 0.01) or _num(r, 210, 0.01)),
    ("cubeRootOf:", (27,), {}, lambda r, o: _num(r, 3)),
    ("ouncesToGrams:", (8,), {}, lambda r, o: _num(r, 226.8, 0.5)),
    # collections over a slot
    ("countOfNegatives", (), {"numbers": [3, -1, -4, 0]}, lambda r, o: r == 2),
    ("itemsBetween:and:", (2, 5), {"items": [1, 5, 3, 6, 2]},  # inclusive, or exclusive
     lambda r, o: list(r) in ([5, 3, 2], [3])),
    ("indexOf:", ("c",), {"items": ["a", "b", "c", "d"]},  # Smalltalk's 1-based or Python's
     lambda r, o: r in (3, 2) and not isinstance(r, bool)),
    ("allButLast", (), {"items": [7, 8, 9]}, lambda r, o: list(r) == [7, 8]),
    # dictionaries
    ("totalScore", (), {"scores": {"ann": 7, "bo": 5}}, lambda r, o: _num(r, 12)),
    ("keyWithLowestValue", (), {"prices": {"tea": 4, "jam": 2, "egg": 3}},
     lambda r, o: r == "jam"),
    ("invertedCodes", (), {"codes": {"a": 1, "b": 2}},
     lambda r, o: _as_dict(r) == {1: "a", 2: "b"}),
    ("incrementCountOf:", ("bo",), {"counts": {"ann": 2, "bo": 1}},
     lambda r, o: _as_dict(o.counts) == {"ann": 2, "bo": 2}),
    # strings
    ("rot13:", ("Hello",), {}, lambda r, o: r == "Uryyb"),
    ("truncate:to:", ("hello world", 5), {},
     lambda r, o: r in ("hello", "hello...", "hello…", "he...", "hell…")),
    ("mostCommonLetter:", ("banana",), {}, lambda r, o: r == "a"),
    ("countConsonants:", ("hello world",), {}, lambda r, o: r == 7),
    ("reverseEachWord:", ("hello big world",), {}, lambda r, o: r == "olleh gib dlrow"),
    # formatting
    ("pluralize:count:", ("apple", 3), {}, lambda r, o: r in ("3 apples", "apples")),
    ("initialsAndSurname:", ("Grace Brewster Hopper",), {},
     lambda r, o: isinstance(r, str) and r.replace(".", "").replace(" ", "") == "GBHopper"),
    ("centered:width:", ("ab", 6), {}, lambda r, o: r == "  ab  "),
    ("summary", (), {"name": "Ada", "age": 36},
     lambda r, o: isinstance(r, str) and "Ada" in r and "36" in r),
    # predicates
    ("containsDigit:", ("room 101",), {}, lambda r, o: r is True),
    ("isStrictlyIncreasing", (), {"items": [1, 3, 3, 7]}, lambda r, o: r is False),
    ("isValidEmail:", ("ada.example.com",), {}, lambda r, o: r is False),
    ("isInStock:", ("egg",), {"stock": {"egg": 0, "milk": 2}}, lambda r, o: r is False),
    # changes of state
    ("emptyCart", (), {"cart": ["tea", "jam"], "total": 7},
     lambda r, o: list(o.cart) == [] and _num(o.total, 0)),
    ("insert:at:", ("x", 2), {"items": ["a", "b", "c"]},  # 1-based or 0-based position
     lambda r, o: list(o.items) in (["a", "x", "b", "c"], ["a", "b", "x", "c"])),
    ("removeDuplicates", (), {"items": [3, 1, 3, 2, 1]},  # first-seen order, or sorted
     lambda r, o: list(o.items) in ([3, 1, 2], [1, 2, 3])),
    ("resetScores", (), {"scores": {"ann": 7, "bo": 5}},  # zeroed, or emptied
     lambda r, o: _as_dict(o.scores) in ({"ann": 0, "bo": 0}, {})),
    ("replaceAll:with:", (1, 9), {"items": [1, 2, 1]}, lambda r, o: list(o.items) == [9, 2, 9]),
]


def parking(g: Any) -> Any:
    return _holder(g, "vehicles", {"plate": "", "hours": 0, "paid": False, "electric": False}, [
        {"plate": "AB-123", "hours": 3, "paid": True, "electric": False},
        {"plate": "CD-456", "hours": 7, "paid": False, "electric": True},
        {"plate": "EF-789", "hours": 1, "paid": False, "electric": False}], hourlyRate=2)


def bakery(g: Any) -> Any:
    return _holder(g, "orders", {"customer": "", "loaves": 0, "price": 0, "ready": False}, [
        {"customer": "mia", "loaves": 4, "price": 3, "ready": True},
        {"customer": "noah", "loaves": 6, "price": 5, "ready": False},
        {"customer": "liv", "loaves": 2, "price": 2, "ready": False},
        {"customer": "oz", "loaves": 1, "price": 4, "ready": True}])


def cinema(g: Any) -> Any:
    return _holder(g, "shows", {"film": "", "seats": 0, "sold": 0, "imax": False}, [
        {"film": "Alien", "seats": 100, "sold": 80, "imax": True},
        {"film": "Heat", "seats": 60, "sold": 60, "imax": False},
        {"film": "Up", "seats": 120, "sold": 45, "imax": False}])


MULTI_TUNED_3: list[tuple[str, Callable, Callable, Check]] = [
    ("totalHoursParked", parking, lambda o: (), lambda r, o: _num(r, 11)),
    ("unpaidPlates", parking, lambda o: (),
     lambda r, o: _names(r, "plate") == ["CD-456", "EF-789"]),
    ("feeFor:", parking, lambda o: ("CD-456",), lambda r, o: _num(r, 14)),
    ("payFor:", parking, lambda o: ("EF-789",),
     lambda r, o: [v.paid for v in o.vehicles] == [True, False, True]),
    ("unpark:", parking, lambda o: ("AB-123",),
     lambda r, o: [v.plate for v in o.vehicles] == ["CD-456", "EF-789"]),
    ("totalLoavesOrdered", bakery, lambda o: (), lambda r, o: _num(r, 13)),
    ("orderFor:", bakery, lambda o: ("liv",),
     lambda r, o: r is _named(o.orders, "customer", "liv")),
    ("revenueFromReadyOrders", bakery, lambda o: (), lambda r, o: _num(r, 16)),
    ("customersByLoaves", bakery, lambda o: (),  # fewest or most loaves first
     lambda r, o: _names(r, "customer") in (["oz", "liv", "mia", "noah"],
                                            ["noah", "mia", "liv", "oz"])),
    ("moveLoaves:from:to:", bakery, lambda o: (2, "noah", "liv"),
     lambda r, o: [x.loaves for x in o.orders] == [4, 4, 4, 1]),
    ("totalSeatsLeft", cinema, lambda o: (), lambda r, o: _num(r, 95)),
    ("soldOutFilms", cinema, lambda o: (), lambda r, o: _names(r, "film") == ["Heat"]),
    ("sell:ticketsFor:", cinema, lambda o: (5, "Up"),
     lambda r, o: [s.sold for s in o.shows] == [80, 60, 50]),
    ("largestScreenFilm", cinema, lambda o: (),
     lambda r, o: _is_or_named(r, o.shows, "film", "Up")),
]
