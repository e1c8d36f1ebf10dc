"""Protocol of collections in general (enumeration, conversion) and of sequenceable
collections (1-based indexing, copying, concatenation). Strings share this protocol:
their elements are Characters. Mutation lives in :mod:`batos.lang.protocol.ordered`.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError
from batos.lang.block import call_block, cull_block
from batos.lang.collections import (Interval, NotFound, OrderedCollection, SortedCollection,
                                    index_error, merge_sort, normalize)
from batos.lang.protocol import Table, prim
from batos.lang.protocol.objects import compare, st_equal
from batos.lang.values import Character

COLLECTION: Table = {}
SEQUENCEABLE: Table = {}


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
    if isinstance(coll, (set, frozenset)):
        return set(items)
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


@prim(COLLECTION, "asBag")
def as_bag(self: Any) -> OrderedCollection:
    return OrderedCollection(list(elements(self)))


@prim(COLLECTION, "asSortedCollection")
def as_sorted_collection(self: Any) -> SortedCollection:
    return SortedCollection(list(elements(self)))


@prim(COLLECTION, "asSortedCollection:")
def as_sorted_collection_by(self: Any, block: Any) -> SortedCollection:
    return SortedCollection(list(elements(self)), block)


@prim(COLLECTION, "sorted", "asSortedArray")
def sorted_(self: Any) -> Any:
    return species(self, sort_items(list(elements(self))), collecting=True)


@prim(COLLECTION, "sorted:")
def sorted_by(self: Any, block: Any) -> Any:
    return species(self, sort_items(list(elements(self)), block), collecting=True)


# --- Sequenceable: indexing --------------------------------------------------------------------

@prim(SEQUENCEABLE, "at:")
def _at(self: Any, i: Any) -> Any:
    return at(self, i)


@prim(SEQUENCEABLE, "at:ifAbsent:")
def at_if_absent(self: Any, i: Any, block: Any) -> Any:
    if type(i) is int and 1 <= i <= len(self):
        return at(self, i)
    return call_block(block)


def _nth(n: int, name: str) -> Callable[[Any], Any]:
    def nth(self: Any) -> Any:
        if len(self) < n:
            raise _empty_error(self, "index") if n == 1 else index_error(self, n)
        return at(self, n)
    nth.__name__ = name
    return nth


for _n, _name in enumerate(("first", "second", "third", "fourth", "fifth"), start=1):
    SEQUENCEABLE[_name] = _nth(_n, _name)


@prim(SEQUENCEABLE, "last")
def last(self: Any) -> Any:
    if len(self) == 0:
        raise _empty_error(self, "index")
    return at(self, len(self))


@prim(SEQUENCEABLE, "first:")
def first_n(self: Any, n: Any) -> Any:
    return copy_from_to(self, 1, n)


@prim(SEQUENCEABLE, "last:")
def last_n(self: Any, n: Any) -> Any:
    return copy_from_to(self, len(self) - n + 1, len(self))


@prim(SEQUENCEABLE, "allButFirst")
def all_but_first(self: Any) -> Any:
    return _slice(self, 1, len(self))


@prim(SEQUENCEABLE, "allButLast")
def all_but_last(self: Any) -> Any:
    return _slice(self, 0, max(len(self) - 1, 0))


@prim(SEQUENCEABLE, "allButFirst:")
def all_but_first_n(self: Any, n: int) -> Any:
    return _slice(self, min(n, len(self)), len(self))


@prim(SEQUENCEABLE, "allButLast:")
def all_but_last_n(self: Any, n: int) -> Any:
    return _slice(self, 0, max(len(self) - n, 0))


def _slice(self: Any, start: int, stop: int) -> Any:
    """Items ``[start:stop)`` (0-based) as the receiver's species."""
    if isinstance(self, str):
        return str(self)[start:stop]
    return species(self, list(self)[start:stop])


@prim(SEQUENCEABLE, "copyFrom:to:")
def copy_from_to(self: Any, start: Any, stop: Any) -> Any:
    if stop < start:
        return _slice(self, 0, 0)
    index(self, start)
    index(self, stop)
    return _slice(self, start - 1, stop)


@prim(SEQUENCEABLE, "copyFrom:")
def copy_from(self: Any, start: Any) -> Any:
    return copy_from_to(self, start, len(self))


@prim(SEQUENCEABLE, "indexOf:")
def index_of(self: Any, value: Any) -> int:
    for i, x in enumerate(elements(self), start=1):
        if st_equal(x, value):
            return i
    return 0


@prim(SEQUENCEABLE, "indexOf:ifAbsent:")
def index_of_if_absent(self: Any, value: Any, block: Any) -> Any:
    return index_of(self, value) or call_block(block)


@prim(SEQUENCEABLE, "reversed", "reverse")
def reversed_(self: Any) -> Any:
    if isinstance(self, str):
        return str(self)[::-1]
    if type(self) is Interval:
        items = list(self)
        return Interval(items[-1], items[0], -self.step) if items else []
    if type(self) is SortedCollection:
        return OrderedCollection(list(self)[::-1])
    return species(self, list(self)[::-1])


@prim(SEQUENCEABLE, "reverseDo:")
def reverse_do(self: Any, block: Any) -> Any:
    for x in list(elements(self))[::-1]:
        call_block(block, x)
    return self


def _do_with_index(self: Any, block: Any) -> Any:
    for i, x in enumerate(elements(self), start=1):
        call_block(block, x, i)
    return self


def _keys_and_values_do(self: Any, block: Any) -> Any:
    for i, x in enumerate(elements(self), start=1):
        call_block(block, i, x)
    return self


SEQUENCEABLE["doWithIndex:"] = SEQUENCEABLE["withIndexDo:"] = _do_with_index
SEQUENCEABLE["keysAndValuesDo:"] = _keys_and_values_do


@prim(SEQUENCEABLE, "collectWithIndex:", "withIndexCollect:")
def collect_with_index(self: Any, block: Any) -> Any:
    return species(self, [call_block(block, x, i) for i, x in enumerate(elements(self), 1)],
                   collecting=True)


def _same_size(self: Any, other: Any, selector: str) -> list[Any]:
    items = to_list(other)
    if len(items) != len(self):
        raise BatosError(f"{selector} needs collections of the same size "
                         f"({len(self)} and {len(items)})")
    return items


@prim(SEQUENCEABLE, "with:collect:")
def with_collect(self: Any, other: Any, block: Any) -> Any:
    others = _same_size(self, other, "with:collect:")
    return species(self, [call_block(block, x, y) for x, y in zip(elements(self), others)],
                   collecting=True)


@prim(SEQUENCEABLE, "with:do:")
def with_do(self: Any, other: Any, block: Any) -> Any:
    for x, y in zip(elements(self), _same_size(self, other, "with:do:")):
        call_block(block, x, y)
    return self


@prim(SEQUENCEABLE, ",")
def concat(self: Any, other: Any) -> Any:
    if isinstance(self, str):
        if not isinstance(other, str):
            from batos.lang.printing import print_string
            raise BatosError(f"cannot append {print_string(other)} to a String; "
                             "send it printString or displayString first")
        return str(self) + str(other)
    return species(self, list(self) + to_list(other))


@prim(SEQUENCEABLE, "copyWith:")
def copy_with(self: Any, value: Any) -> Any:
    if isinstance(self, str):
        return str(self) + str(value)
    if type(self) is SortedCollection:
        return SortedCollection(list(self) + [value], self.sort_block)
    return species(self, list(self) + [value])


@prim(SEQUENCEABLE, "copyWithout:")
def copy_without(self: Any, value: Any) -> Any:
    return species(self, [x for x in elements(self) if not st_equal(x, value)])


@prim(SEQUENCEABLE, "copyReplaceAll:with:")
def copy_replace_all(self: Any, old: Any, new: Any) -> Any:
    if isinstance(self, str):
        return str(self).replace(str(old), str(new))
    items, old_items, new_items = list(self), to_list(old), to_list(new)
    out, i, n = [], 0, len(old_items)
    while i < len(items):
        if n and all(st_equal(a, b) for a, b in zip(items[i:i + n], old_items)) \
                and i + n <= len(items):
            out.extend(new_items)
            i += n
        else:
            out.append(items[i])
            i += 1
    return species(self, out)


@prim(SEQUENCEABLE, "beginsWith:", "startsWith:")
def begins_with(self: Any, prefix: Any) -> bool:
    if isinstance(self, str):
        return str(self).startswith(str(prefix))
    items = to_list(prefix)
    return len(items) <= len(self) and all(st_equal(a, b) for a, b in zip(self, items))


@prim(SEQUENCEABLE, "endsWith:")
def ends_with(self: Any, suffix: Any) -> bool:
    if isinstance(self, str):
        return str(self).endswith(str(suffix))
    items = to_list(suffix)
    tail = list(self)[len(self) - len(items):] if items else []
    return len(items) <= len(self) and all(st_equal(a, b) for a, b in zip(tail, items))


@prim(SEQUENCEABLE, "isSequenceable")
def _is_sequenceable(self: Any) -> bool:
    return True


@prim(SEQUENCEABLE, "atRandom")
def at_random(self: Any) -> Any:
    import random
    if len(self) == 0:
        raise _empty_error(self, "atRandom")
    return at(self, random.randint(1, len(self)))


@prim(SEQUENCEABLE, "keys")
def keys(self: Any) -> Interval:
    return Interval(1, len(self))


__all__ = ["COLLECTION", "SEQUENCEABLE", "elements", "species", "to_list", "index", "at",
           "sort_items", "normalize"]
