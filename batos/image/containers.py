"""The image's own container class: a persistent Set.

The ``persistent`` package has lists and mappings but no set; a Python ``set`` written
to a slot becomes a :class:`PersistentSet` (``proto.persistify``). Its pickled path,
``batos.image.containers.PersistentSet``, is part of the image format (it was
``batos.lang.collections.PersistentSet`` in format 1: see :mod:`batos.guardian.renames`).
"""
from __future__ import annotations

from collections.abc import MutableSet
from typing import Any, Iterable, Iterator

from persistent import Persistent


class PersistentSet(Persistent):
    """A Set stored in the image: a ``set`` kept in ``data`` that marks itself changed
    when mutated, so ``tags add: 3`` on a stored Set survives a restart (the
    ``persistent`` package has lists and mappings but no set). Operators and
    non-mutating methods answer plain sets, like a fresh value."""

    st_class_name = "Set"

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.data = set(items)

    # reading
    def __contains__(self, item: object) -> bool:
        return item in self.data

    def __iter__(self) -> Iterator[Any]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"PersistentSet({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return self.data == _plain(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like set

    def __le__(self, other: Any) -> bool:
        return self.data <= _plain(other)

    def __lt__(self, other: Any) -> bool:
        return self.data < _plain(other)

    def __ge__(self, other: Any) -> bool:
        return self.data >= _plain(other)

    def __gt__(self, other: Any) -> bool:
        return self.data > _plain(other)

    def __or__(self, other: Any) -> set[Any]:
        return self.data | _plain(other)

    def __and__(self, other: Any) -> set[Any]:
        return self.data & _plain(other)

    def __sub__(self, other: Any) -> set[Any]:
        return self.data - _plain(other)

    def __xor__(self, other: Any) -> set[Any]:
        return self.data ^ _plain(other)

    __ror__, __rand__, __rxor__ = __or__, __and__, __xor__

    def __rsub__(self, other: Any) -> set[Any]:
        return _plain(other) - self.data

    def union(self, *others: Iterable[Any]) -> set[Any]:
        return self.data.union(*others)

    def intersection(self, *others: Iterable[Any]) -> set[Any]:
        return self.data.intersection(*others)

    def difference(self, *others: Iterable[Any]) -> set[Any]:
        return self.data.difference(*others)

    def symmetric_difference(self, other: Iterable[Any]) -> set[Any]:
        return self.data.symmetric_difference(other)

    def issubset(self, other: Iterable[Any]) -> bool:
        return self.data.issubset(other)

    def issuperset(self, other: Iterable[Any]) -> bool:
        return self.data.issuperset(other)

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        return self.data.isdisjoint(other)

    def copy(self) -> set[Any]:
        return set(self.data)

    # changing: every mutation marks the record changed
    def add(self, item: Any) -> None:
        self.data.add(item)
        self._p_changed = True

    def discard(self, item: Any) -> None:
        self.data.discard(item)
        self._p_changed = True

    def remove(self, item: Any) -> None:
        self.data.remove(item)
        self._p_changed = True

    def pop(self) -> Any:
        item = self.data.pop()
        self._p_changed = True
        return item

    def clear(self) -> None:
        self.data.clear()
        self._p_changed = True

    def update(self, *others: Iterable[Any]) -> None:
        self.data.update(*others)
        self._p_changed = True

    def difference_update(self, *others: Iterable[Any]) -> None:
        self.data.difference_update(*others)
        self._p_changed = True

    def intersection_update(self, *others: Iterable[Any]) -> None:
        self.data.intersection_update(*others)
        self._p_changed = True

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        self.data.symmetric_difference_update(other)
        self._p_changed = True

    def __ior__(self, other: Any) -> "PersistentSet":
        self.update(_plain(other))
        return self

    def __iand__(self, other: Any) -> "PersistentSet":
        self.intersection_update(_plain(other))
        return self

    def __isub__(self, other: Any) -> "PersistentSet":
        self.difference_update(_plain(other))
        return self

    def __ixor__(self, other: Any) -> "PersistentSet":
        self.symmetric_difference_update(_plain(other))
        return self


MutableSet.register(PersistentSet)


def _plain(value: Any) -> Any:
    return value.data if isinstance(value, PersistentSet) else value


__all__ = ["PersistentSet"]
