"""Protocol of collections in general (enumeration, arithmetic, conversion), and the
helpers every collection table shares. Strings share this protocol: their elements
are Characters. Indexing lives in :mod:`batos.lang.protocol.sequenceable`, mutation
in :mod:`batos.lang.protocol.ordered`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError
from batos.lang.block import call_block, cull_block
from batos.lang.collections import (SET_TYPES, NotFound, OrderedCollection, SortedCollection,
                                    index_error, merge_sort, normalize)
from batos.lang.protocol import Table, prim
from batos.lang.protocol.objects import compare, st_equal
from batos.lang.values import Character

COLLECTION: Table = {}


# --- helpers shared by every collection table ------------------------------------------------

def elements(coll: Any) -> Iterator[Any]:
    """Smalltalk elements: Characters of a string, values of a dictionary."""
    if isinstance(coll, str):
        return map(Character, coll)
    if isinstance(coll, (dict, PersistentMapping)):
        return iter(list(coll.values()))
    if isinstance(coll, (list, PersistentList)):
        return iter(list(coll))  # a snapshot: the block may mutate the receiver
    return iter(coll)


def species(coll: Any, items: list[Any], *, collecting: bool = False) -> Any:
    """A new collection like ``coll`` holding ``items`` (``select:``/``collect:`` results)."""
    t = type(coll)
    if isinstance(coll, str):
        if all(type(x) is Character for x in items):
            return "".join(chr(x.value) for x in items)
        if collecting:
            return items
        raise BatosError("a String can only hold Characters")
    if t is SortedCollection:
        if collecting:
            return OrderedCollection(items)
        return SortedCollection(items, coll.sort_block)
    if isinstance(coll, OrderedCollection):
        return OrderedCollection(items)
    if isinstance(coll, SET_TYPES):
        try:
            return set(items)
        except TypeError:
            raise BatosError("a Set can only hold hashable elements (not Arrays or "
                             "Dictionaries)") from None
    return items


def to_list(value: Any) -> list[Any]:
    """Elements of any collection-like argument (``addAll:``, ``withAll:``)."""
    if value is None:
        raise BatosError("expected a collection, got nil")
    try:
        return list(elements(value))
    except TypeError:
        from batos.lang.printing import print_string
        raise BatosError(f"expected a collection, got {print_string(value)}") from None


def index(coll: Any, i: Any) -> int:
    """0-based index for the 1-based Smalltalk index ``i``; out of bounds → clear error."""
    if type(i) is not int:
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        else:
            from batos.lang.printing import print_string
            raise BatosError(f"index must be an Integer, not {print_string(i)}")
    if not 1 <= i <= len(coll):
        raise index_error(coll, i)
    return i - 1


def at(coll: Any, i: Any) -> Any:
    value = coll[index(coll, i)]
    return Character(value) if isinstance(coll, str) else value


def _empty_error(coll: Any, what: str) -> BatosError:
    from batos.lang.values import class_name_of
    return index_error(coll, 1) if what == "index" else \
        BatosError(f"{what}: this {class_name_of(coll)} is empty")


def sort_items(items: list[Any], block: Any = None) -> list[Any]:
    """Stable sort by ``block`` (``[:a :b | a <= b]`` style) or by ``<=``."""
    if block is None:
        return merge_sort(items, lambda a, b: compare("<=", a, b))
    return merge_sort(items, lambda a, b: call_block(block, a, b) is True)


# --- Collection: enumeration ----------------------------------------------------------------

@prim(COLLECTION, "do:")
def do(self: Any, block: Any) -> Any:
    for x in elements(self):
        call_block(block, x)
    return self


@prim(COLLECTION, "collect:")
def collect(self: Any, block: Any) -> Any:
    return species(self, [call_block(block, x) for x in elements(self)], collecting=True)


@prim(COLLECTION, "select:")
def select(self: Any, block: Any) -> Any:
    return species(self, [x for x in elements(self) if call_block(block, x) is True])


@prim(COLLECTION, "reject:")
def reject(self: Any, block: Any) -> Any:
    return species(self, [x for x in elements(self) if call_block(block, x) is not True])


@prim(COLLECTION, "select:thenCollect:")
def select_then_collect(self: Any, cond: Any, block: Any) -> Any:
    return species(self, [call_block(block, x) for x in elements(self)
                          if call_block(cond, x) is True], collecting=True)


@prim(COLLECTION, "collect:thenSelect:")
def collect_then_select(self: Any, block: Any, cond: Any) -> Any:
    mapped = [call_block(block, x) for x in elements(self)]
    return species(self, [y for y in mapped if call_block(cond, y) is True], collecting=True)


@prim(COLLECTION, "detect:")
def detect(self: Any, block: Any) -> Any:
    for x in elements(self):
        if call_block(block, x) is True:
            return x
    raise NotFound("detect: no element satisfies the condition")


@prim(COLLECTION, "detect:ifNone:")
def detect_if_none(self: Any, block: Any, none: Any) -> Any:
    for x in elements(self):
        if call_block(block, x) is True:
            return x
    return call_block(none)


@prim(COLLECTION, "detect:ifFound:ifNone:")
def detect_if_found(self: Any, block: Any, found: Any, none: Any) -> Any:
    for x in elements(self):
        if call_block(block, x) is True:
            return cull_block(found, x)
    return call_block(none)


@prim(COLLECTION, "inject:into:")
def inject_into(self: Any, initial: Any, block: Any) -> Any:
    acc = initial
    for x in elements(self):
        acc = call_block(block, acc, x)
    return acc


@prim(COLLECTION, "reduce:", "fold:")
def reduce(self: Any, block: Any) -> Any:
    items = list(elements(self))
    if not items:
        raise _empty_error(self, "reduce:")
    acc = items[0]
    for x in items[1:]:
        acc = call_block(block, acc, x)
    return acc


@prim(COLLECTION, "anySatisfy:", "contains:")
def any_satisfy(self: Any, block: Any) -> bool:
    return any(call_block(block, x) is True for x in elements(self))


@prim(COLLECTION, "allSatisfy:")
def all_satisfy(self: Any, block: Any) -> bool:
    return all(call_block(block, x) is True for x in elements(self))


@prim(COLLECTION, "noneSatisfy:")
def none_satisfy(self: Any, block: Any) -> bool:
    return not any_satisfy(self, block)


@prim(COLLECTION, "count:")
def count(self: Any, block: Any) -> int:
    return sum(1 for x in elements(self) if call_block(block, x) is True)


@prim(COLLECTION, "do:separatedBy:")
def do_separated_by(self: Any, block: Any, separator: Any) -> Any:
    first = True
    for x in elements(self):
        if not first:
            call_block(separator)
        first = False
        call_block(block, x)
    return self


@prim(COLLECTION, "includes:")
def includes(self: Any, value: Any) -> bool:
    return any(st_equal(x, value) for x in elements(self))


@prim(COLLECTION, "includesAll:")
def includes_all(self: Any, values: Any) -> bool:
    return all(includes(self, v) for v in to_list(values))


@prim(COLLECTION, "includesAny:")
def includes_any(self: Any, values: Any) -> bool:
    return any(includes(self, v) for v in to_list(values))


@prim(COLLECTION, "occurrencesOf:")
def occurrences_of(self: Any, value: Any) -> int:
    return sum(1 for x in elements(self) if st_equal(x, value))


@prim(COLLECTION, "size")
def size(self: Any) -> int:
    return len(self)


@prim(COLLECTION, "isEmpty")
def is_empty(self: Any) -> bool:
    return len(self) == 0


@prim(COLLECTION, "notEmpty", "isNotEmpty")
def not_empty(self: Any) -> bool:
    return len(self) > 0


@prim(COLLECTION, "isEmptyOrNil")
def is_empty_or_nil(self: Any) -> bool:
    return len(self) == 0


@prim(COLLECTION, "ifEmpty:")
def if_empty(self: Any, block: Any) -> Any:
    return call_block(block) if len(self) == 0 else self


@prim(COLLECTION, "ifNotEmpty:")
def if_not_empty(self: Any, block: Any) -> Any:
    return cull_block(block, self) if len(self) else self


@prim(COLLECTION, "ifEmpty:ifNotEmpty:")
def if_empty_if_not(self: Any, empty: Any, not_empty_block: Any) -> Any:
    return call_block(empty) if len(self) == 0 else cull_block(not_empty_block, self)


@prim(COLLECTION, "ifNotEmpty:ifEmpty:")
def if_not_empty_if_empty(self: Any, not_empty_block: Any, empty: Any) -> Any:
    return if_empty_if_not(self, empty, not_empty_block)


@prim(COLLECTION, "isCollection")
def _is_collection(self: Any) -> bool:
    return True


@prim(COLLECTION, "anyOne")
def any_one(self: Any) -> Any:
    for x in elements(self):
        return x
    raise _empty_error(self, "anyOne")


# --- Collection: arithmetic ------------------------------------------------------------------

def _add(a: Any, b: Any) -> Any:
    from batos.lang.protocol.numbers import NUMBER
    if isinstance(a, (int, float)) or type(a).__name__ == "Fraction":
        return NUMBER["+"](a, b)
    from batos.lang.primitives import send
    return send(a, "+", (b,))


@prim(COLLECTION, "sum")
def sum_(self: Any) -> Any:
    items = list(elements(self))
    if not items:
        return 0
    acc = items[0]
    for x in items[1:]:
        acc = _add(acc, x)
    return acc


@prim(COLLECTION, "sum:", "detectSum:")
def sum_block(self: Any, block: Any) -> Any:
    acc: Any = 0
    for x in elements(self):
        acc = _add(acc, call_block(block, x))
    return acc


@prim(COLLECTION, "max")
def max_(self: Any) -> Any:
    return _extreme(self, ">", "max")


@prim(COLLECTION, "min")
def min_(self: Any) -> Any:
    return _extreme(self, "<", "min")


def _extreme(self: Any, op: str, name: str, key: Callable[[Any], Any] | None = None) -> Any:
    items = list(elements(self))
    if not items:
        raise _empty_error(self, name)
    best = items[0]
    best_key = key(best) if key else best
    for x in items[1:]:
        k = key(x) if key else x
        if compare(op, k, best_key):
            best, best_key = x, k
    return best


@prim(COLLECTION, "detectMax:")
def detect_max(self: Any, block: Any) -> Any:
    return _extreme(self, ">", "detectMax:", lambda x: call_block(block, x))


@prim(COLLECTION, "detectMin:")
def detect_min(self: Any, block: Any) -> Any:
    return _extreme(self, "<", "detectMin:", lambda x: call_block(block, x))


@prim(COLLECTION, "average")
def average(self: Any) -> Any:
    from batos.lang.protocol.numbers import divide
    if len(self) == 0:
        raise _empty_error(self, "average")
    return divide(sum_(self), len(self))


# --- Collection: conversion -------------------------------------------------------------------

@prim(COLLECTION, "asArray")
def as_array(self: Any) -> list[Any]:
    return list(elements(self))


@prim(COLLECTION, "asOrderedCollection")
def as_ordered_collection(self: Any) -> OrderedCollection:
    return OrderedCollection(list(elements(self)))


@prim(COLLECTION, "asSet")
def as_set(self: Any) -> set[Any]:
    try:
        return set(elements(self))
    except TypeError:
        raise BatosError("a Set can only hold hashable elements (not Arrays or "
                         "Dictionaries)") from None


@prim(COLLECTION, "asSortedCollection")
def as_sorted_collection(self: Any) -> SortedCollection:
    return SortedCollection(list(elements(self)))


@prim(COLLECTION, "asSortedCollection:")
def as_sorted_collection_by(self: Any, block: Any) -> SortedCollection:
    return SortedCollection(list(elements(self)), block)


@prim(COLLECTION, "sorted", "asSortedArray")
def sorted_(self: Any) -> Any:
    """A sorted copy: the same species for sequences (``'cba' sorted`` → ``'abc'``),
    an Array for unordered collections."""
    return _sorted_like(self, sort_items(list(elements(self))))


@prim(COLLECTION, "sorted:")
def sorted_by(self: Any, block: Any) -> Any:
    return _sorted_like(self, sort_items(list(elements(self)), block))


def _sorted_like(coll: Any, items: list[Any]) -> Any:
    if isinstance(coll, (str, OrderedCollection)) and type(coll) is not SortedCollection:
        return species(coll, items)
    return items


__all__ = ["COLLECTION", "elements", "species", "to_list", "index", "at", "sort_items",
           "normalize"]
