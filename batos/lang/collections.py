"""Smalltalk collection classes that are not plain Python containers.

Array is a Python ``list`` (or a ``PersistentList`` once stored in a slot),
Dictionary a ``dict``/``PersistentMapping`` and Set a ``set`` (a :class:`PersistentSet`
once stored). This module adds :class:`OrderedCollection` (persistent, mutates in
place when stored),
:class:`SortedCollection`, :class:`Association` (``key->value``) and
:class:`Interval` (``1 to: 5``), plus helpers shared by the protocol tables.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError
from batos.image.containers import PersistentSet


class SubscriptOutOfBounds(BatosError, IndexError):
    """``#(10 20) at: 5``: index 5 out of bounds for an Array of size 2."""


class NotFound(BatosError, LookupError):
    """An element or key the receiver does not hold (``detect:``, ``at:`` on a Dictionary)."""


class OrderedCollection(PersistentList):
    """A growable sequence; persistent, so in-place mutation is kept when stored."""

    st_class_name = "OrderedCollection"

    def __repr__(self) -> str:
        return f"OrderedCollection({list(self.data)!r})"


class SortedCollection(OrderedCollection):
    """An OrderedCollection kept sorted by ``sort_block`` (default ``a <= b``).

    The sort block is code and is not stored: a SortedCollection loaded from the
    image sorts by ``<=`` again.
    """

    st_class_name = "SortedCollection"

    def __init__(self, initlist: Iterable[Any] | None = None,
                 sort_block: Callable[[Any, Any], Any] | None = None) -> None:
        super().__init__()
        self._v_sort_block = sort_block
        for item in initlist or ():
            self.data.append(item)
        self.resort()

    def __setstate__(self, state: Any) -> None:
        """Loaded from the image without its (unstorable) sort block: sort by ``<=``."""
        super().__setstate__(state)
        try:
            self.data[:] = merge_sort(list(self.data), self.precedes)
        except Exception:  # incomparable elements keep their stored order
            pass

    @property
    def sort_block(self) -> Callable[[Any, Any], Any] | None:
        return getattr(self, "_v_sort_block", None)

    def precedes(self, a: Any, b: Any) -> bool:
        block = self.sort_block
        if block is None:
            from batos.lang.primitives import send
            return send(a, "<=", (b,)) is True
        from batos.lang.block import call_block
        return call_block(block, a, b) is True

    def resort(self) -> None:
        """Re-establish the order (stable merge sort by ``precedes``)."""
        self.data[:] = merge_sort(list(self.data), self.precedes)
        self._p_changed = True

    def insert_sorted(self, item: Any) -> Any:
        data = self.data
        lo, hi = 0, len(data)
        while lo < hi:  # insert after equal elements, like Pharo's indexForInserting:
            mid = (lo + hi) // 2
            if self.precedes(data[mid], item):
                lo = mid + 1
            else:
                hi = mid
        data.insert(lo, item)
        self._p_changed = True
        return item

    def __repr__(self) -> str:
        return f"SortedCollection({list(self.data)!r})"


def merge_sort(items: list[Any], precedes: Callable[[Any, Any], bool]) -> list[Any]:
    """Stable sort where ``precedes(a, b)`` means a may come before b (like ``<=``)."""
    if len(items) <= 1:
        return items
    mid = len(items) // 2
    left, right = merge_sort(items[:mid], precedes), merge_sort(items[mid:], precedes)
    out: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if precedes(left[i], right[j]):
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


class Association:
    """``key -> value``."""

    st_class_name = "Association"

    def __init__(self, key: Any, value: Any) -> None:
        self.key = key
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (type(other) is Association and self.key == other.key
                and self.value == other.value)

    def __hash__(self) -> int:
        return hash(("Association", _hashable(self.key)))

    def __repr__(self) -> str:
        return f"Association({self.key!r}, {self.value!r})"


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return id(value)


class Interval:
    """``start to: stop by: step``: an arithmetic progression, read-only."""

    st_class_name = "Interval"
    __slots__ = ("start", "stop", "step")

    def __init__(self, start: Any, stop: Any, step: Any = 1) -> None:
        if step == 0:
            raise BatosError("an Interval's step cannot be zero")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "step", step)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Intervals are read-only")

    def __getstate__(self) -> tuple[Any, Any, Any]:
        return (self.start, self.stop, self.step)

    def __setstate__(self, state: tuple[Any, Any, Any]) -> None:
        for name, value in zip(("start", "stop", "step"), state):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        span, step = self.stop - self.start, self.step
        if isinstance(span, float) or isinstance(step, float):
            count = math.floor(span / step) + 1   # float arithmetic, like Pharo
        else:
            count = math.floor(Fraction(span) / Fraction(step)) + 1
        return max(0, count)

    def __iter__(self) -> Iterator[Any]:
        start, step = self.start, self.step
        if type(start) is int and type(step) is int and type(self.stop) is int:
            yield from range(start, self.stop + (1 if step > 0 else -1), step)
            return
        for i in range(len(self)):
            yield normalize(start + i * step)

    def __getitem__(self, index: int) -> Any:
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return normalize(self.start + index * self.step)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Interval):
            return list(self) == list(other)
        return False

    def __hash__(self) -> int:
        return hash(("Interval", self.start, self.stop, self.step))

    def __repr__(self) -> str:
        return f"Interval({self.start!r}, {self.stop!r}, {self.step!r})"

    @property
    def last(self) -> Any:
        return self.stop - (self.stop - self.start) % self.step


def normalize(number: Any) -> Any:
    """Fractions with denominator 1 become ints (Smalltalk's exact arithmetic)."""
    if type(number) is Fraction and number.denominator == 1:
        return number.numerator
    return number


# --- families ---------------------------------------------------------------------------

ARRAY_TYPES = (list, PersistentList)
DICT_TYPES = (dict, PersistentMapping)
SET_TYPES = (set, frozenset, PersistentSet)


def is_array(value: Any) -> bool:
    """Python lists and stored lists (PersistentList, but not OrderedCollection)."""
    t = type(value)
    return t is list or t is PersistentList


def is_dictionary(value: Any) -> bool:
    return isinstance(value, DICT_TYPES)


def index_error(receiver: Any, index: Any) -> SubscriptOutOfBounds:
    """The clear out-of-bounds error Smalltalk users expect."""
    from batos.lang.values import class_name_of
    name = class_name_of(receiver)
    article = "an" if name[:1] in "AEIOU" else "a"
    try:
        size = len(receiver)
    except TypeError:
        size = "?"
    return SubscriptOutOfBounds(
        f"index {index} out of bounds for {article} {name} of size {size}",
        index=index)


def _register_storable() -> None:
    try:
        from batos.guardian.storable import register_storable
    except ImportError:
        return
    register_storable(Association, walk=True)
    register_storable(Interval, walk=False)


_register_storable()

__all__ = ["OrderedCollection", "PersistentSet", "SortedCollection", "Association", "Interval",
           "SubscriptOutOfBounds", "NotFound", "merge_sort", "normalize", "is_array",
           "is_dictionary", "index_error", "ARRAY_TYPES", "DICT_TYPES", "SET_TYPES"]
