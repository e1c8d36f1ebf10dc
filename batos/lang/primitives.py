"""The universal send for BST: prototypes use their own send path; Python values
answer the core protocol from per-type selector tables (:mod:`batos.lang.protocol`).

The common path is two dict lookups: the merged table for ``type(receiver)``
(built once per type by walking a small Smalltalk-like hierarchy, so ``bool``
is never treated as ``int`` and a Symbol extends a String), then the selector.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import MessageNotUnderstood
from batos.image.proto import Proto, selector_to_name

Fn = Callable[..., Any]

# type -> merged selector table (a dict, or a _ForwardTable for self-dispatching receivers)
_TABLES: dict[type, dict[str, Fn]] = {}
_CHAINS: dict[type, list[dict[str, Fn]]] | None = None


def send(receiver: Any, selector: str, args: tuple[Any, ...] | list[Any] = ()) -> Any:
    """Send ``selector`` with ``args`` to any value; unknown → MessageNotUnderstood."""
    table = _TABLES.get(type(receiver))
    if table is None:
        table = _table_for(type(receiver))
    fn = table.get(selector)
    if fn is None:
        raise MessageNotUnderstood(receiver, selector, tuple(args))
    return fn(receiver, *args)


def responds_to(value: Any, selector: str) -> bool:
    """Whether ``value`` understands ``selector`` (prototypes: own or inherited slots)."""
    selector = str(selector)
    if isinstance(value, Proto):
        try:
            if value.responds_to(selector):
                return True
        except Exception:
            return False
        return selector in _object_table()
    if type(value).__name__ == "StClass":
        from batos.lang.protocol.classes import class_responds_to
        return class_responds_to(value, selector)
    table = _TABLES.get(type(value)) or _table_for(type(value))
    return selector in table


def selectors_for(value: Any) -> list[str]:
    """Sorted selectors ``value`` understands (the REPL completer uses it)."""
    if isinstance(value, Proto):
        return sorted(set(_proto_selectors(value)) | set(_object_table()))
    if type(value).__name__ == "StClass":
        from batos.lang.protocol.classes import class_selectors
        return sorted(class_selectors(value))
    table = _TABLES.get(type(value)) or _table_for(type(value))
    return sorted(table)


def _proto_selectors(proto: Proto) -> list[str]:
    from batos.image.method import Method
    out: list[str] = []
    try:
        rows = proto.slots(inherited=True)  # loads ghost ancestors as it walks
    except Exception:
        return out
    for row in rows:
        if row.kind == "method" and isinstance(row.value, Method):
            out.append(row.value.selector)
        elif row.kind == "data":
            out.extend((row.name, row.name + ":"))
    return out


def object_selectors() -> list[str]:
    """Selectors every value understands (Pharo's Object protocol), sorted."""
    return sorted(_object_table())


# --- building the per-type tables ------------------------------------------------------------

def _chains() -> dict[type, list[dict[str, Fn]]]:
    global _CHAINS
    if _CHAINS is None:
        from batos.lang.block import Block
        from batos.lang.collections import (Association, Interval, OrderedCollection,
                                            PersistentSet, SortedCollection)
        from batos.lang.protocol import (blocks, booleans, exceptions, hashed, numbers, numeric,
                                         objects, ordered, sequenceable, sequences, strings)
        from batos.lang.values import Character, Point, Symbol
        obj, mag = objects.OBJECT, objects.MAGNITUDE
        seq, coll = sequenceable.SEQUENCEABLE, sequences.COLLECTION
        array = [ordered.ARRAY, ordered.MUTABLE, seq, coll, obj]
        growable = [ordered.ORDERED, ordered.MUTABLE, seq, coll, obj]
        dictionary = [hashed.DICTIONARY, coll, obj]
        _CHAINS = {
            object: [obj],
            bool: [booleans.BOOLEAN, obj],
            type(None): [booleans.NIL, obj],
            int: [numeric.INTEGER, numbers.NUMBER, mag, obj],
            float: [numeric.FLOAT, numbers.NUMBER, mag, obj],
            Fraction: [numeric.FRACTION, numbers.NUMBER, mag, obj],
            Character: [strings.CHARACTER, mag, obj],
            str: [strings.STRING, seq, coll, obj],
            Symbol: [strings.SYMBOL, strings.STRING, seq, coll, obj],
            list: array,
            tuple: [ordered.ARRAY, seq, coll, obj],
            PersistentList: array,
            OrderedCollection: growable,
            SortedCollection: [ordered.SORTED] + growable,
            Interval: [ordered.INTERVAL, seq, coll, obj],
            dict: dictionary,
            PersistentMapping: dictionary,
            set: [hashed.SET, coll, obj],
            PersistentSet: [hashed.SET, coll, obj],
            frozenset: [hashed.SET, coll, obj],
            Association: [hashed.ASSOCIATION, mag, obj],
            Point: [numeric.POINT, obj],
            Block: [blocks.BLOCK, obj],
            BaseException: [exceptions.EXCEPTION, obj],
        }
        from batos.lang.protocol import streams
        for t, chain in exceptions.extra_chains(obj).items():
            _CHAINS[t] = chain
        for t, chain in streams.extra_chains(obj).items():
            _CHAINS[t] = chain
        from batos.lang.globals import NAMESPACE_PROTOCOL, SmalltalkNamespace
        from batos.lang.transcript import TRANSCRIPT_PROTOCOL, TranscriptObject
        _CHAINS[TranscriptObject] = [TRANSCRIPT_PROTOCOL, obj]
        _CHAINS[SmalltalkNamespace] = [NAMESPACE_PROTOCOL, obj]
    return _CHAINS


def _object_table() -> dict[str, Fn]:
    _chains()
    from batos.lang.protocol.objects import OBJECT
    return OBJECT


def _table_for(t: type) -> dict[str, Fn]:
    """Merge the tables of the nearest registered type in ``t``'s MRO (most specific wins)."""
    if issubclass(t, Proto):
        table: dict[str, Fn] = _ForwardTable(_proto_forward)
    elif t.__name__ == "StClass" and t.__module__ == "batos.lang.values":
        from batos.lang.protocol.classes import class_forward
        table = _ForwardTable(class_forward)
    else:
        chains = _chains()
        chain = next((chains[base] for base in t.__mro__ if base in chains), chains[object])
        table = {}
        for part in reversed(chain):
            table.update(part)
    _TABLES[t] = table
    return table


class _ForwardTable(dict):
    """Selector → a cached forwarder ``fn(receiver, *args)`` for self-dispatching receivers."""

    def __init__(self, make: Callable[[str], Fn]) -> None:
        super().__init__()
        self._make = make

    def get(self, selector: str, default: Any = None) -> Fn:  # type: ignore[override]
        fn = dict.get(self, selector)
        if fn is None:
            fn = self[selector] = self._make(selector)
        return fn

    def __contains__(self, selector: object) -> bool:
        return True


def _proto_forward(selector: str) -> Fn:
    """Prototypes answer through their own send path; the universal Object protocol
    (``class``, ``->``, ``ifNil:``…) fills in for selectors a prototype lacks."""
    fallback = _object_table().get(selector)
    if fallback is None:
        def forward(receiver: Proto, *args: Any) -> Any:
            return receiver.send(selector, *args)
        return forward
    name = selector_to_name(selector)

    def forward_or_object(receiver: Proto, *args: Any) -> Any:
        if receiver.lookup(name) is None:
            return fallback(receiver, *args)
        return receiver.send(selector, *args)
    return forward_or_object


def perform(receiver: Any, selector: Any, *args: Any) -> Any:
    """``perform:with:``: send a selector given as a Symbol or string."""
    return send(receiver, str(selector), args)


__all__ = ["send", "responds_to", "selectors_for", "object_selectors", "perform"]
