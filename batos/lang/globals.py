"""Built-in BST globals: class objects with their class-side protocol (``Array new: 3``,
``OrderedCollection with: 1 with: 2``, ``Character cr``, ``Float pi``), ``Transcript``,
and ``Smalltalk``/``Image``, the image's globals namespace."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from batos.errors import BatosError
import batos.lang.protocol.streams  # noqa: F401  (stream class sides)
from batos.lang.collections import Association, Interval, OrderedCollection, SortedCollection
from batos.lang.transcript import TRANSCRIPT
from batos.lang.values import (SMALL_INTEGER_MAX, SMALL_INTEGER_MIN, Character, Point, StClass,
                               Symbol, st_class)

if TYPE_CHECKING:
    from batos.image.image import Image


def _items(values: Any) -> list[Any]:
    from batos.lang.protocol.sequences import to_list
    return to_list(values)


def _size(n: Any) -> int:
    if type(n) is not int or n < 0:
        raise BatosError(f"new: expects a non-negative Integer, got {n!r}")
    return n


def _with(make: Any) -> dict[str, Any]:
    """``with:`` … ``with:with:with:with:with:with:`` built from ``make(list)``."""
    table = {}
    for n in range(1, 7):
        table["with:" * n] = lambda cls, *args, _make=make: _make(list(args))
    return table


def _define(name: str, methods: dict[str, Any]) -> StClass:
    cls = st_class(name)
    for selector, fn in methods.items():
        cls.define(selector, fn)
    return cls


_define("Array", {
    "new": lambda cls: [],
    "new:": lambda cls, n: [None] * _size(n),
    "new:withAll:": lambda cls, n, value: [value] * _size(n),
    "withAll:": lambda cls, values: _items(values),
    **_with(list),
})
_define("OrderedCollection", {
    "new": lambda cls: OrderedCollection(),
    "new:": lambda cls, n: OrderedCollection(),
    "withAll:": lambda cls, values: OrderedCollection(_items(values)),
    "new:withAll:": lambda cls, n, value: OrderedCollection([value] * _size(n)),
    **_with(OrderedCollection),
})
_define("SortedCollection", {
    "new": lambda cls: SortedCollection(),
    "sortBlock:": lambda cls, block: SortedCollection([], block),
    "withAll:": lambda cls, values: SortedCollection(_items(values)),
    **_with(SortedCollection),
})
_define("Dictionary", {
    "new": lambda cls: {},
    "new:": lambda cls, n: {},
    "newFrom:": lambda cls, pairs: _dictionary_from(pairs),
    "withAll:": lambda cls, pairs: _dictionary_from(pairs),
})
_define("Set", {
    "new": lambda cls: set(),
    "new:": lambda cls, n: set(),
    "withAll:": lambda cls, values: _set(_items(values)),
    **_with(lambda items: _set(items)),
})
_define("Interval", {
    "from:to:": lambda cls, a, b: Interval(a, b, 1),
    "from:to:by:": lambda cls, a, b, step: Interval(a, b, step),
})
_define("Association", {"key:value:": lambda cls, k, v: Association(k, v)})
_define("Point", {"x:y:": lambda cls, x, y: Point(x, y)})


def _set(items: list[Any]) -> set[Any]:
    from batos.lang.protocol.sequences import as_set
    return as_set(items)


def _dictionary_from(pairs: Any) -> dict[Any, Any]:
    from batos.lang.protocol.hashed import add_all
    result: dict[Any, Any] = {}
    add_all(result, pairs)
    return result


def _char(n: int) -> Any:
    return lambda cls: Character(n)


def _character_value(cls: StClass, n: Any) -> Character:
    try:
        return Character(n)
    except (ValueError, TypeError) as exc:
        raise BatosError(str(exc)) from None


_define("Character", {
    "value:": _character_value, "codePoint:": _character_value,
    "cr": _char(13), "lf": _char(10), "space": _char(32), "tab": _char(9), "null": _char(0),
    "escape": _char(27), "backspace": _char(8), "newPage": _char(12), "delete": _char(127),
})


def _string_of(text: str) -> Any:
    return lambda cls: text


_define("String", {
    "new": lambda cls: "",
    "new:": lambda cls, n: "\0" * _size(n),
    "new:withAll:": lambda cls, n, ch: str(ch) * _size(n),
    "withAll:": lambda cls, chars: "".join(str(c) for c in _items(chars)),
    "with:": lambda cls, ch: str(ch),
    "cr": _string_of("\r"), "lf": _string_of("\n"), "crlf": _string_of("\r\n"),
    "tab": _string_of("\t"), "space": _string_of(" "), "empty": _string_of(""),
})
_define("Symbol", {
    "new": lambda cls: Symbol(""),
    "intern:": lambda cls, text: Symbol(str(text)),
    "fromString:": lambda cls, text: Symbol(str(text)),
})
_define("Float", {
    "pi": lambda cls: math.pi, "e": lambda cls: math.e, "infinity": lambda cls: math.inf,
    "negativeInfinity": lambda cls: -math.inf, "nan": lambda cls: math.nan,
    "epsilon": lambda cls: 2.220446049250313e-16,
    "fmax": lambda cls: 1.7976931348623157e308, "fmin": lambda cls: 2.2250738585072014e-308,
})
_define("SmallInteger", {
    "maxVal": lambda cls: SMALL_INTEGER_MAX, "minVal": lambda cls: SMALL_INTEGER_MIN,
})
_define("Object", {"new": lambda cls: _no_new(cls)})


def _milliseconds_to_run(cls: StClass, block: Any) -> int:
    import time
    from batos.lang.block import call_block
    start = time.perf_counter()
    call_block(block)
    return round((time.perf_counter() - start) * 1000)


def _millisecond_clock(cls: StClass) -> int:
    import time
    return int(time.monotonic() * 1000)


_define("Time", {"millisecondsToRun:": _milliseconds_to_run,
                 "millisecondClockValue": _millisecond_clock})


def _no_new(cls: StClass) -> Any:
    raise BatosError("Object new is not available in batos: make objects by cloning a "
                     "prototype (genesis clone)")


# --- Smalltalk / Image: the globals namespace ------------------------------------------------

class SmalltalkNamespace:
    """``Smalltalk at: #counter put: genesis clone``: the image's globals, plus the
    built-in globals for reading."""

    st_class_name = "SystemDictionary"

    def __init__(self, image: "Image | None", builtins: dict[str, Any]) -> None:
        self.image = image
        self.builtins = builtins

    @property
    def globals(self) -> Any:
        if self.image is None:
            raise BatosError("no image is open")
        return self.image.globals

    def __repr__(self) -> str:
        return "<Smalltalk>"

    def st_print_string(self) -> str:
        return "Smalltalk"


def _ns_at(ns: SmalltalkNamespace, key: Any) -> Any:
    return _ns_at_if_absent(ns, key, None, missing_error=True)


def _ns_at_if_absent(ns: SmalltalkNamespace, key: Any, block: Any,
                     missing_error: bool = False) -> Any:
    name = str(key)
    if ns.image is not None and name in ns.globals:
        return ns.globals[name]
    if name in ns.builtins:
        return ns.builtins[name]
    if missing_error:
        if ns.image is not None:
            return ns.image.lookup_global(name)
        raise BatosError(f"no global named {name!r}")
    from batos.lang.block import call_block
    return call_block(block)


def _ns_at_put(ns: SmalltalkNamespace, key: Any, value: Any) -> Any:
    ns.globals[str(key)] = value
    return value


def _ns_includes_key(ns: SmalltalkNamespace, key: Any) -> bool:
    name = str(key)
    return (ns.image is not None and name in ns.globals) or name in ns.builtins


def _ns_keys(ns: SmalltalkNamespace) -> list[Symbol]:
    return [Symbol(k) for k in ns.globals]


def _ns_remove_key(ns: SmalltalkNamespace, key: Any) -> Any:
    name = str(key)
    if name not in ns.globals:
        raise BatosError(f"no global named {name!r} in the image")
    value = ns.globals[name]
    del ns.globals[name]
    return value


def _ns_remove_key_if_absent(ns: SmalltalkNamespace, key: Any, block: Any) -> Any:
    if str(key) not in ns.globals:
        from batos.lang.block import call_block
        return call_block(block)
    return _ns_remove_key(ns, key)


NAMESPACE_PROTOCOL: dict[str, Any] = {
    "at:": _ns_at, "at:put:": _ns_at_put, "at:ifAbsent:": _ns_at_if_absent,
    "includesKey:": _ns_includes_key, "includes:": _ns_includes_key, "keys": _ns_keys,
    "removeKey:": _ns_remove_key, "removeKey:ifAbsent:": _ns_remove_key_if_absent,
    "printString": lambda ns: "Smalltalk", "displayString": lambda ns: "Smalltalk",
}

#: class objects exposed as globals
CLASS_NAMES = ("Object", "Array", "OrderedCollection", "SortedCollection", "Dictionary", "Set",
               "Interval", "Association", "Point", "String", "Symbol", "Character",
               "Number", "Integer", "SmallInteger", "LargePositiveInteger",
               "LargeNegativeInteger", "Float", "Fraction", "Boolean", "True", "False",
               "UndefinedObject", "BlockClosure", "Collection", "SequenceableCollection",
               "Magnitude", "Exception", "Error", "ZeroDivide", "MessageNotUnderstood",
               "SubscriptOutOfBounds", "NotFound", "KeyNotFound", "ArithmeticError",
               "DomainError", "AssertionFailure", "ArgumentsCountMismatch", "WriteStream",
               "ReadStream", "Time")


def builtin_globals(image: "Image | None" = None) -> dict[str, Any]:
    """The built-in globals for BST code running in ``image``."""
    import batos.lang.protocol.classes  # noqa: F401  (exception class side)
    names: dict[str, Any] = {name: st_class(name) for name in CLASS_NAMES}
    names["Transcript"] = TRANSCRIPT
    namespace = SmalltalkNamespace(image, names)
    names["Smalltalk"] = namespace
    names["Image"] = namespace
    return names


__all__ = ["builtin_globals", "SmalltalkNamespace", "NAMESPACE_PROTOCOL", "CLASS_NAMES"]
