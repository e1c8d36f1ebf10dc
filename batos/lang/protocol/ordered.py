"""Protocol of Array (fixed size, mutable elements), OrderedCollection (growable),
SortedCollection (kept sorted) and Interval (read-only)."""
from __future__ import annotations

from typing import Any

from persistent import Persistent

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.collections import Interval, NotFound, OrderedCollection, SortedCollection
from batos.lang.protocol import Table, prim
from batos.lang.protocol.hashed import stored
from batos.lang.protocol.objects import st_equal
from batos.lang.protocol.sequences import index, sort_items, to_list

MUTABLE: Table = {}
ARRAY: Table = {}
ORDERED: Table = {}
SORTED: Table = {}
INTERVAL: Table = {}


def _changed(coll: Any) -> None:
    if isinstance(coll, Persistent):
        coll._p_changed = True


def _data(coll: Any) -> list[Any]:
    """The underlying Python list (a PersistentList keeps it in ``.data``)."""
    return coll.data if hasattr(coll, "data") and isinstance(coll.data, list) else coll


# --- Array and OrderedCollection: element mutation ---------------------------------------------

@prim(MUTABLE, "at:put:")
def at_put(self: Any, i: Any, value: Any) -> Any:
    _data(self)[index(self, i)] = stored(self, value)
    _changed(self)
    return value


@prim(MUTABLE, "atAllPut:")
def at_all_put(self: Any, value: Any) -> Any:
    data = _data(self)
    data[:] = [value] * len(data)
    _changed(self)
    return self


@prim(MUTABLE, "swap:with:")
def swap_with(self: Any, i: Any, j: Any) -> Any:
    data = _data(self)
    a, b = index(self, i), index(self, j)
    data[a], data[b] = data[b], data[a]
    _changed(self)
    return self


@prim(MUTABLE, "sort")
def sort(self: Any) -> Any:
    data = _data(self)
    data[:] = sort_items(list(data))
    _changed(self)
    return self


@prim(MUTABLE, "sort:")
def sort_by(self: Any, block: Any) -> Any:
    data = _data(self)
    data[:] = sort_items(list(data), block)
    _changed(self)
    return self


@prim(MUTABLE, "replaceAll:with:")
def replace_all(self: Any, old: Any, new: Any) -> Any:
    data = _data(self)
    data[:] = [new if st_equal(x, old) else x for x in data]
    _changed(self)
    return self


@prim(ARRAY, "isArray")
def _is_array(self: Any) -> bool:
    return True


def _fixed_size(selector: str) -> Any:
    def refuse(self: Any, *args: Any) -> Any:
        raise BatosError(f"an Array has a fixed size and cannot {selector}; use an "
                         "OrderedCollection (send asOrderedCollection) to add or remove")
    return refuse


for _sel in ("add:", "addFirst:", "addLast:", "addAll:", "remove:", "remove:ifAbsent:",
             "removeFirst", "removeLast", "removeAll:"):
    ARRAY[_sel] = _fixed_size(_sel)


# --- OrderedCollection ------------------------------------------------------------------------

@prim(ORDERED, "add:", "addLast:")
def add(self: OrderedCollection, value: Any) -> Any:
    self.data.append(stored(self, value))
    self._p_changed = True
    return value


@prim(ORDERED, "addFirst:")
def add_first(self: OrderedCollection, value: Any) -> Any:
    self.data.insert(0, stored(self, value))
    self._p_changed = True
    return value


@prim(ORDERED, "add:beforeIndex:")
def add_before_index(self: OrderedCollection, value: Any, i: Any) -> Any:
    if i != len(self) + 1:
        index(self, i)
    self.data.insert(i - 1, value)
    self._p_changed = True
    return value


@prim(ORDERED, "addAll:", "addAllLast:")
def add_all(self: OrderedCollection, values: Any) -> Any:
    for value in to_list(values):
        send_add(self, value)
    return values


def send_add(coll: OrderedCollection, value: Any) -> Any:
    if type(coll) is SortedCollection:
        return coll.insert_sorted(value)
    return add(coll, value)


@prim(ORDERED, "addAllFirst:")
def add_all_first(self: OrderedCollection, values: Any) -> Any:
    self.data[0:0] = to_list(values)
    self._p_changed = True
    return values


@prim(ORDERED, "addIfNotPresent:")
def add_if_not_present(self: OrderedCollection, value: Any) -> Any:
    if not any(st_equal(x, value) for x in self.data):
        send_add(self, value)
    return value


@prim(ORDERED, "remove:ifAbsent:")
def remove_if_absent(self: OrderedCollection, value: Any, block: Any) -> Any:
    for i, x in enumerate(self.data):
        if st_equal(x, value):
            del self.data[i]
            self._p_changed = True
            return x
    return call_block(block)


@prim(ORDERED, "remove:")
def remove(self: OrderedCollection, value: Any) -> Any:
    def missing() -> Any:
        from batos.lang.printing import print_string
        raise NotFound(f"{print_string(value)} not found in {print_string(self)}")
    for i, x in enumerate(self.data):
        if st_equal(x, value):
            del self.data[i]
            self._p_changed = True
            return x
    return missing()


@prim(ORDERED, "removeAll:")
def remove_all(self: OrderedCollection, values: Any) -> Any:
    for value in to_list(values):
        remove(self, value)
    return values


@prim(ORDERED, "removeAll")
def remove_everything(self: OrderedCollection) -> Any:
    self.data.clear()
    self._p_changed = True
    return self


@prim(ORDERED, "removeAllSuchThat:")
def remove_all_such_that(self: OrderedCollection, block: Any) -> Any:
    self.data[:] = [x for x in list(self.data) if call_block(block, x) is not True]
    self._p_changed = True
    return self


def _remove_at(self: OrderedCollection, position: int, what: str) -> Any:
    if not self.data:
        raise BatosError(f"{what}: this {type(self).st_class_name} is empty")
    value = self.data.pop(position)
    self._p_changed = True
    return value


@prim(ORDERED, "removeFirst")
def remove_first(self: OrderedCollection) -> Any:
    return _remove_at(self, 0, "removeFirst")


@prim(ORDERED, "removeLast")
def remove_last(self: OrderedCollection) -> Any:
    return _remove_at(self, -1, "removeLast")


@prim(ORDERED, "removeFirst:")
def remove_first_n(self: OrderedCollection, n: int) -> list[Any]:
    return [_remove_at(self, 0, "removeFirst:") for _ in range(n)]


@prim(ORDERED, "removeLast:")
def remove_last_n(self: OrderedCollection, n: int) -> list[Any]:
    return [_remove_at(self, -1, "removeLast:") for _ in range(n)][::-1]


@prim(ORDERED, "removeIndex:", "removeAt:")
def remove_index(self: OrderedCollection, i: Any) -> Any:
    return _remove_at(self, index(self, i), "removeIndex:")


# --- SortedCollection ------------------------------------------------------------------------

@prim(SORTED, "add:")
def sorted_add(self: SortedCollection, value: Any) -> Any:
    return self.insert_sorted(value)


def _not_sorted(selector: str) -> Any:
    def refuse(self: Any, *args: Any) -> Any:
        raise BatosError(f"a SortedCollection keeps its own order and does not "
                         f"understand {selector}; use add:")
    return refuse


for _sel in ("at:put:", "addFirst:", "addLast:", "add:beforeIndex:", "addAllFirst:", "sort",
             "sort:", "swap:with:", "atAllPut:", "replaceAll:with:"):
    SORTED[_sel] = _not_sorted(_sel)


@prim(SORTED, "median")
def median(self: SortedCollection) -> Any:
    from batos.lang.protocol.numbers import divide
    data = self.data
    if not data:
        raise BatosError("median: this SortedCollection is empty")
    mid = len(data) // 2
    if len(data) % 2:
        return data[mid]
    from batos.lang.protocol.sequences import _add
    return divide(_add(data[mid - 1], data[mid]), 2)


@prim(SORTED, "sortBlock")
def sort_block(self: SortedCollection) -> Any:
    return self.sort_block


# --- Interval ------------------------------------------------------------------------------

@prim(INTERVAL, "increment")
def increment(self: Interval) -> Any:
    return self.step


@prim(INTERVAL, "isInterval")
def _is_interval(self: Interval) -> bool:
    return True


def _read_only(selector: str) -> Any:
    def refuse(self: Any, *args: Any) -> Any:
        raise BatosError(f"an Interval is read-only and cannot {selector}; send asArray "
                         "or asOrderedCollection first")
    return refuse


for _sel in ("at:put:", "add:", "remove:", "addFirst:", "removeFirst", "removeLast"):
    INTERVAL[_sel] = _read_only(_sel)


__all__ = ["MUTABLE", "ARRAY", "ORDERED", "SORTED", "INTERVAL", "add", "send_add"]
