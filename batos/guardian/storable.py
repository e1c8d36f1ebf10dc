"""What may be stored in the image: plain data, persistent objects, registered types.

An object whose unpickling would run code (a custom ``__reduce__``, a function,
a class, a module, a generator, a file ...) must never reach the image, or
every later load would run it.  Everything is matched by EXACT type (a subclass
of ``str`` or of a registered type could carry its own ``__reduce__``).

Two checks share these tables:

* :func:`check_storable` gives an early, friendly error when a slot is written;
* :func:`writable` is asked by the image's pickler for every object a commit
  writes (:mod:`batos.image.storage`): that one is the guarantee, because it
  sees the globals tree, BTree buckets and whatever a registered type's own
  state holds, exactly as they are pickled.
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
#: defaultdict factories an image may name (plain constructors of plain data)
_SAFE_FACTORIES = (None, list, dict, set, frozenset, int, float, tuple)
_REGISTERED: set[type] = set()

MAX_DEPTH = 200
MAX_ITEMS = 2_000_000

_CODE_HOOKS = ("__reduce__", "__reduce_ex__", "__setstate__", "__getnewargs__",
               "__getnewargs_ex__", "__getstate__")


def register_storable(cls: type, *, walk: bool = True) -> type:
    """Trust instances of exactly ``cls`` in slots; returns ``cls``.

    Their state (``__getstate__``, i.e. ``__dict__`` and ``__slots__``) is always
    walked; ``walk`` is kept for compatibility.  Subclasses are not trusted.
    Usable as a class decorator.
    """
    if not isinstance(cls, type):
        raise TypeError("register_storable expects a class")
    from batos.guardian.unpickle import allow_value_type
    allow_value_type(cls)  # the loader resolves what the writer may write
    _REGISTERED.add(cls)
    _WRITABLE.pop(cls, None)
    return cls


def registered_value_types() -> frozenset[type]:
    """The registered (exact) value types."""
    return frozenset(_REGISTERED)


_CODE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
               types.ModuleType, types.GeneratorType, types.CoroutineType, types.CodeType,
               types.FrameType, types.TracebackType, type)


def _name(t: type) -> str:
    mod = getattr(t, "__module__", "?")
    return f"{mod}.{t.__qualname__}" if mod != "builtins" else t.__qualname__


def describe(value: Any) -> str:
    """Why ``value`` cannot be stored (the StorageRejected message)."""
    t = type(value)
    name = _name(t)
    if isinstance(value, _CODE_TYPES):
        return (f"a {name} cannot be stored in the image: it is code, not data "
                "(define a Method from source instead)")
    if isinstance(value, io.IOBase):
        return f"a {name} cannot be stored in the image: it is an open file or stream"
    hooks = [h for h in _CODE_HOOKS if any(h in vars(k) for k in t.__mro__[:-1])
             and t not in (tuple, list, dict, set, frozenset)]
    inst = getattr(value, "__dict__", None)
    if isinstance(inst, dict):
        hooks += [h for h in _CODE_HOOKS if h in inst]
    if hooks:
        return (f"a {name} cannot be stored in the image: it defines {', '.join(hooks)}, "
                "so loading it would run code")
    base = next((b for b in t.__mro__[1:] if b in _ATOMS or b in _SEQUENCES or b in _MAPPINGS
                 or b in _REGISTERED), None)
    if base is not None:
        return (f"a {name} cannot be stored in the image: it is a subclass of "
                f"{_name(base)}, and only the exact type is plain data")
    return (f"a {name} cannot be stored in the image: only plain data (numbers, strings, "
            "bytes, lists, dicts, tuples, sets), persistent objects and registered "
            "types may be stored")


_why = describe  # the old private name


def _instance_hooks(v: Any) -> bool:
    d = getattr(v, "__dict__", None)
    return isinstance(d, dict) and any(isinstance(k, str) and k.startswith("__") for k in d)


def _state(v: Any) -> Any:
    """A registered value's state, read through its class (never an instance override)."""
    return type(v).__getstate__(v)


# --- the writer's question: may this exact type be pickled? --------------------------

#: type -> "value" (pickled by its own class's reducer), "persistent" or False
_WRITABLE: dict[type, Any] = {}


def writable(t: type) -> Any:
    """How the commit's pickler treats exact type ``t``: "persistent", "value" or False.

    Allowed are exactly the classes the loader resolves
    (:func:`batos.guardian.unpickle.resolve_global`): the writer never writes a
    record the reader refuses.
    """
    kind = _WRITABLE.get(t)
    if kind is None:
        from batos.guardian.unpickle import allowed_global
        if not allowed_global(t):
            kind = False
        elif issubclass(t, Persistent):
            kind = "persistent"
        else:
            kind = "value"
        _WRITABLE[t] = kind
    return kind


def check_storable(value: Any) -> None:
    """Raise StorageRejected unless ``value`` is safe to pickle into the image."""
    t = type(value)
    if t in _ATOMS:
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
            if writable(t) != "persistent":
                raise StorageRejected(
                    f"a {_name(t)} cannot be stored in the image: it is not one of batos's "
                    "persistent classes", type=t.__qualname__)
            continue
        if t not in _REGISTERED or _instance_hooks(v):
            raise StorageRejected(describe(v), type=t.__qualname__)
        if id(v) not in seen:
            seen.add(id(v))
            state = _state(v)
            if state is not None and type(state) not in atoms:
                stack.append((state, depth + 1))
