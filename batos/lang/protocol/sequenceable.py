"""Protocol of sequenceable collections (Array, OrderedCollection, Interval, String):
1-based indexing, slicing, copying, concatenation and indexed enumeration."""
from __future__ import annotations

from typing import Any, Callable

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.collections import Interval, OrderedCollection, SortedCollection, index_error
from batos.lang.protocol import Table, prim
from batos.lang.protocol.objects import st_equal
from batos.lang.values import Character
from batos.lang.protocol.sequences import (_empty_error, at, elements, index,
                                           species, to_list)

SEQUENCEABLE: Table = {}


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
            items = to_list(other) if isinstance(other, (list, tuple)) else None
            if items is not None and all(type(c) is Character for c in items):
                return str(self) + "".join(chr(c.value) for c in items)
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


@prim(SEQUENCEABLE, "readStream")
def read_stream(self: Any) -> Any:
    from batos.lang.protocol.streams import ReadStream
    return ReadStream(self)


@prim(SEQUENCEABLE, "writeStream")
def write_stream(self: Any) -> Any:
    from batos.lang.protocol.streams import WriteStream
    return WriteStream("" if isinstance(self, str) else [])


__all__ = ["SEQUENCEABLE", "copy_from_to", "concat"]
