"""Protocol every value understands (Pharo's Object), and Magnitude comparisons."""
from __future__ import annotations

import copy
from typing import Any

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError
from batos.lang.block import call_block, cull_block
from batos.lang.collections import Interval, OrderedCollection, PersistentSet
from batos.lang.protocol import Table, prim
from batos.lang.values import SMALL_INTEGER_MAX, SMALL_INTEGER_MIN, Character, Symbol, class_of

OBJECT: Table = {}
MAGNITUDE: Table = {}


# --- equality and identity -------------------------------------------------------------

def st_equal(a: Any, b: Any) -> bool:
    """Smalltalk ``=``: value equality, but ``true = 1`` is false and an Array is never
    equal to an OrderedCollection (different species)."""
    if a is b:
        return True
    ta, tb = type(a), type(b)
    if ta is tb and ta in _ATOMIC:
        return a == b
    if ta is bool or tb is bool or a is None or b is None:
        return False
    species = _species(ta)
    if species != _species(tb):
        return False
    try:
        if species == "Array" and ta is not tb:
            return list(a) == list(b)
        return bool(a == b)
    except Exception:
        return False


_ATOMIC = frozenset({int, str, float, Symbol, Character})


def _species(t: type) -> str:
    if t is list or t is PersistentList or t is Interval or t is tuple:
        return "Array"
    if issubclass(t, OrderedCollection):
        return "OrderedCollection"
    if t is dict or t is PersistentMapping:
        return "Dictionary"
    if t is set or t is frozenset or t is PersistentSet:
        return "Set"
    return "value"


def st_identical(a: Any, b: Any) -> bool:
    """Smalltalk ``==``: identity, where SmallIntegers, floats, Characters and Symbols
    are immediate or unique, so equal ones are identical."""
    if a is b:
        return True
    ta = type(a)
    if ta is not type(b):
        return False
    if ta is int:
        return SMALL_INTEGER_MIN <= a <= SMALL_INTEGER_MAX and a == b
    if ta is float or ta is Character:
        return a == b
    if ta is Symbol:
        return str(a) == str(b)
    return False


@prim(OBJECT, "=")
def _eq(self: Any, other: Any) -> bool:
    return st_equal(self, other)


@prim(OBJECT, "~=")
def _ne(self: Any, other: Any) -> bool:
    return not st_equal(self, other)


@prim(OBJECT, "==")
def _ident(self: Any, other: Any) -> bool:
    return st_identical(self, other)


@prim(OBJECT, "~~")
def _not_ident(self: Any, other: Any) -> bool:
    return not st_identical(self, other)


@prim(OBJECT, "hash", "identityHash")
def _hash(self: Any) -> int:
    try:
        return hash(self)
    except TypeError:
        return id(self)


# --- printing ------------------------------------------------------------------------------

@prim(OBJECT, "printString", "storeString")
def _print_string(self: Any) -> str:
    from batos.lang.printing import print_string
    return print_string(self)


@prim(OBJECT, "displayString")
def _display_string(self: Any) -> str:
    from batos.lang.printing import display_string
    return display_string(self)


@prim(OBJECT, "asString")
def _as_string(self: Any) -> str:
    from batos.lang.printing import print_string
    return print_string(self)


@prim(OBJECT, "printNl")
def _print_nl(self: Any) -> Any:
    from batos.lang.printing import print_string
    from batos.lang.transcript import transcript
    transcript().show_line(print_string(self))
    return self


@prim(OBJECT, "displayNl")
def _display_nl(self: Any) -> Any:
    from batos.lang.printing import display_string
    from batos.lang.transcript import transcript
    transcript().show_line(display_string(self))
    return self


@prim(OBJECT, "inspect")
def _inspect(self: Any) -> Any:
    from batos.lang.printing import print_string
    from batos.lang.transcript import transcript
    transcript().show_line(f"{class_of(self).name}: {print_string(self)}")
    return self


# --- identity, class and reflection -----------------------------------------------------------

@prim(OBJECT, "yourself", "value")
def _yourself(self: Any) -> Any:
    return self


@prim(OBJECT, "class")
def _class(self: Any) -> Any:
    return class_of(self)


@prim(OBJECT, "isKindOf:")
def _is_kind_of(self: Any, cls: Any) -> bool:
    return class_of(self).inherits_from(cls)


@prim(OBJECT, "isMemberOf:")
def _is_member_of(self: Any, cls: Any) -> bool:
    return class_of(self) is cls


@prim(OBJECT, "respondsTo:")
def _responds_to(self: Any, selector: Any) -> bool:
    from batos.lang.primitives import responds_to
    return responds_to(self, str(selector))


@prim(OBJECT, "perform:")
def _perform(self: Any, selector: Any) -> Any:
    from batos.lang.primitives import send
    return send(self, str(selector), ())


@prim(OBJECT, "perform:with:", "perform:with:with:", "perform:with:with:with:",
      "perform:with:with:with:with:")
def _perform_with(self: Any, selector: Any, *args: Any) -> Any:
    from batos.lang.primitives import send
    return send(self, str(selector), args)


@prim(OBJECT, "perform:withArguments:")
def _perform_args(self: Any, selector: Any, args: Any) -> Any:
    from batos.lang.primitives import send
    return send(self, str(selector), tuple(args))


@prim(OBJECT, "->")
def _associate(self: Any, value: Any) -> Any:
    from batos.lang.collections import Association
    return Association(self, value)


@prim(OBJECT, "copy", "shallowCopy")
def _copy(self: Any) -> Any:
    from batos.lang.collections import OrderedCollection, SortedCollection
    t = type(self)
    if t is SortedCollection:
        return SortedCollection(self.data, self.sort_block)
    if t is OrderedCollection:
        return OrderedCollection(self.data)
    if t is list or t is PersistentList:
        return list(self)
    if t is dict or t is PersistentMapping:
        return dict(self)
    if t is set or t is PersistentSet:
        return set(self)
    if isinstance(self, (int, float, str, Character)) or self is None:
        return self
    from batos.image.proto import Proto
    if isinstance(self, Proto):
        return self.clone()  # a prototype's copy is its clone (own slot table)
    return copy.copy(self)


@prim(OBJECT, "deepCopy")
def _deep_copy(self: Any) -> Any:
    from batos.image.proto import Proto
    if isinstance(self, Proto):
        return self.deep_clone()
    return deep_copy(self, {})


def deep_copy(value: Any, memo: dict[int, Any]) -> Any:
    """Containers are copied all the way down (cycles kept); prototypes, methods,
    blocks, classes and other persistent objects inside are shared, not copied."""
    from batos.lang.collections import Association, SortedCollection
    key = id(value)
    if key in memo:
        return memo[key]
    t = type(value)
    if t is list or t is PersistentList or t is tuple:
        out: Any = []
        memo[key] = out
        out.extend(deep_copy(x, memo) for x in value)
        return tuple(out) if t is tuple else out
    if t is OrderedCollection or t is SortedCollection:
        out = t() if t is OrderedCollection else SortedCollection([], value.sort_block)
        memo[key] = out
        out.data.extend(deep_copy(x, memo) for x in value.data)
        return out
    if t is dict or t is PersistentMapping:
        out = {}
        memo[key] = out
        for k, v in value.items():
            out[k] = deep_copy(v, memo)
        return out
    if t is set or t is PersistentSet:
        return set(value)
    if t is Association:
        out = Association(None, None)
        memo[key] = out
        out.key, out.value = deep_copy(value.key, memo), deep_copy(value.value, memo)
        return out
    return value  # immutable values and shared objects


@prim(OBJECT, "in:")
def _in(self: Any, block: Any) -> Any:
    return call_block(block, self)


@prim(OBJECT, "error:")
def _error(self: Any, message: Any) -> Any:
    from batos.lang.protocol.exceptions import signal_error
    return signal_error("Error", str(message))


@prim(OBJECT, "assert:")
def _assert(self: Any, condition: Any) -> Any:
    if type(condition) is not bool:
        condition = call_block(condition)
    if condition is not True:
        from batos.lang.protocol.exceptions import signal_error
        signal_error("AssertionFailure", "Assertion failed")
    return self


# --- nil tests (nil overrides these) -----------------------------------------------------------

@prim(OBJECT, "isNil")
def _false(self: Any) -> bool:
    return False


@prim(OBJECT, "notNil")
def _true(self: Any) -> bool:
    return True


for _sel in ("isEmptyOrNil", "isString", "isSymbol", "isNumber", "isInteger", "isFloat",
             "isFraction", "isCharacter", "isCollection", "isArray", "isBlock", "isBoolean",
             "isDictionary", "isInterval", "isClass", "isPoint"):
    OBJECT[_sel] = _false


@prim(OBJECT, "ifNil:")
def _if_nil(self: Any, block: Any) -> Any:
    return self


@prim(OBJECT, "ifNotNil:", "ifNil:ifNotNil:")
def _if_not_nil(self: Any, *blocks: Any) -> Any:
    return cull_block(blocks[-1], self)


@prim(OBJECT, "ifNotNil:ifNil:")
def _if_not_nil_if_nil(self: Any, not_nil: Any, nil_block: Any) -> Any:
    return cull_block(not_nil, self)


# --- Magnitude ---------------------------------------------------------------------------------

def compare(op: str, a: Any, b: Any) -> bool:
    """``a op b`` with a clear error when the two cannot be compared."""
    try:
        if op == "<":
            result = a < b
        elif op == ">":
            result = a > b
        elif op == "<=":
            result = a <= b
        else:
            result = a >= b
    except TypeError:
        result = NotImplemented
    if result is NotImplemented or type(a) is bool or type(b) is bool:
        from batos.lang.printing import print_string
        raise BatosError(f"cannot compare {print_string(a)} with {print_string(b)} using {op}")
    return bool(result)


@prim(MAGNITUDE, "<")
def _lt(self: Any, other: Any) -> bool:
    return compare("<", self, other)


@prim(MAGNITUDE, ">")
def _gt(self: Any, other: Any) -> bool:
    return compare(">", self, other)


@prim(MAGNITUDE, "<=")
def _le(self: Any, other: Any) -> bool:
    return compare("<=", self, other)


@prim(MAGNITUDE, ">=")
def _ge(self: Any, other: Any) -> bool:
    return compare(">=", self, other)


@prim(MAGNITUDE, "max:")
def _max(self: Any, other: Any) -> Any:
    return other if compare(">", other, self) else self


@prim(MAGNITUDE, "min:")
def _min(self: Any, other: Any) -> Any:
    return other if compare("<", other, self) else self


@prim(MAGNITUDE, "between:and:")
def _between(self: Any, low: Any, high: Any) -> bool:
    return compare("<=", low, self) and compare("<=", self, high)


__all__ = ["OBJECT", "MAGNITUDE", "st_equal", "st_identical", "compare"]
