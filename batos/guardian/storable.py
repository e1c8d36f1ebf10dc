"""What may be stored in the image: plain data, persistent objects, registered types.

An object whose unpickling would run code (a custom ``__reduce__``, a function,
a class, a module, a generator, a file ...) must never reach the image, or
every later load would run it.  ``check_storable`` walks plain containers with
depth and size guards and never descends into persistent objects.
"""
from __future__ import annotations

import collections
import datetime
import io
import types
from decimal import Decimal
from fractions import Fraction
from typing import Any

from persistent import Persistent

from batos.errors import StorageRejected

#: atoms, matched by exact type (a subclass could carry its own __reduce__).
#: date/time types are C types whose pickles only call their own constructors.
_ATOMS: frozenset[type] = frozenset({
    int, float, complex, bool, type(None), str, bytes, Fraction, Decimal,
    datetime.date, datetime.datetime, datetime.time, datetime.timedelta, datetime.timezone,
})
#: containers walked item by item; the collections types pickle as their own
#: constructor applied to plain data
_SEQUENCES: frozenset[type] = frozenset({tuple, list, set, frozenset, collections.deque})
_MAPPINGS: frozenset[type] = frozenset({dict, collections.Counter, collections.OrderedDict,
                                        collections.defaultdict})
_SAFE_FACTORIES = (None, list, dict, set, int, float, str, tuple, frozenset)
_REGISTERED: dict[type, bool] = {}

MAX_DEPTH = 200
MAX_ITEMS = 2_000_000

_CODE_HOOKS = ("__reduce__", "__reduce_ex__", "__setstate__", "__getnewargs__",
               "__getnewargs_ex__", "__getstate__")


def register_storable(cls: type, *, walk: bool = True) -> type:
    """Trust instances of ``cls`` (and subclasses) in slots; returns ``cls``.

    With ``walk`` the instance's ``__dict__`` values are checked in turn.
    Usable as a class decorator.
    """
    if not isinstance(cls, type):
        raise TypeError("register_storable expects a class")
    _REGISTERED[cls] = walk
    return cls


def _registered(t: type) -> bool | None:
    walk = _REGISTERED.get(t)
    if walk is not None:
        return walk
    for base in t.__mro__[1:]:
        if base in _REGISTERED:
            _REGISTERED[t] = _REGISTERED[base]
            return _REGISTERED[t]
    return None


_CODE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
               types.ModuleType, types.GeneratorType, types.CoroutineType, types.CodeType,
               types.FrameType, types.TracebackType, type)


def _why(value: Any) -> str:
    t = type(value)
    name = f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__qualname__
    if isinstance(value, _CODE_TYPES):
        return (f"a {name} cannot be stored in the image: it is code, not data "
                "(define a Method from source instead)")
    if isinstance(value, io.IOBase):
        return f"a {name} cannot be stored in the image: it is an open file or stream"
    hooks = [h for h in _CODE_HOOKS if any(h in vars(k) for k in t.__mro__[:-1])
             and t not in (tuple, list, dict, set, frozenset)]
    if hooks:
        return (f"a {name} cannot be stored in the image: it defines {', '.join(hooks)}, "
                "so loading it would run code")
    return (f"a {name} cannot be stored in the image: only plain data (numbers, strings, "
            "bytes, lists, dicts, tuples, sets), persistent objects and registered "
            "types may be stored")


def check_storable(value: Any) -> None:
    """Raise StorageRejected unless ``value`` is safe to pickle into the image."""
    t = type(value)
    if t in _ATOMS or isinstance(value, Persistent):
        return
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen: set[int] = set()
    count = 0
    atoms, sequences, mappings = _ATOMS, _SEQUENCES, _MAPPINGS
    while stack:
        v, depth = stack.pop()
        t = type(v)
        if t in atoms:
            continue
        count += 1
        if count > MAX_ITEMS:
            raise StorageRejected(f"value too large to check (more than {MAX_ITEMS:,} "
                                  "containers); store it in a persistent container")
        if depth > MAX_DEPTH:
            raise StorageRejected(f"value nested deeper than {MAX_DEPTH} levels")
        if t in sequences or t in mappings:
            if id(v) in seen:
                continue
            seen.add(id(v))
            is_map = t in mappings
            if t is collections.defaultdict and v.default_factory not in _SAFE_FACTORIES:
                raise StorageRejected(
                    f"a defaultdict whose default_factory is {v.default_factory!r} cannot "
                    "be stored in the image: loading it would reference code",
                    type="defaultdict")
            for item in (v.items() if is_map else v):
                if is_map:
                    k, x = item
                    if type(k) not in atoms:
                        stack.append((k, depth + 1))
                    if type(x) not in atoms:
                        stack.append((x, depth + 1))
                elif type(item) not in atoms:
                    stack.append((item, depth + 1))
            continue
        if isinstance(v, Persistent):
            continue
        walk = _registered(t)
        if walk is None:
            raise StorageRejected(_why(v), type=t.__qualname__)
        if walk and id(v) not in seen:
            seen.add(id(v))
            state = getattr(v, "__dict__", None)
            if isinstance(state, dict):
                stack.extend((x, depth + 1) for x in state.values())
