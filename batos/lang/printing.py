"""printString and displayString following Pharo (a contract: see DESIGN.md).

``42``, ``3.5``, ``'it''s'``, ``#foo``, ``$a``, ``#(1 2 3)``, ``true``, ``nil``,
``(1/2)``, ``an OrderedCollection(1 2)``, ``a Dictionary(#a->1 )``, ``(1 to: 5)``,
prototypes as ``a Proto(name)`` or via their own non-primitive ``printString``.
Printing never raises: odd values fall back to ``a <TypeName>``; cycles print ``...``.
"""
from __future__ import annotations

import math
from contextvars import ContextVar
from decimal import Decimal
from fractions import Fraction
from typing import Any

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.lang.bigint import decimal_string
from batos.lang.values import Character, Point, StClass, Symbol, class_name_of

#: collections longer than this print their first elements then ``...``
MAX_ELEMENTS = 5000


def print_string(value: Any) -> str:
    """The Smalltalk printString of any value."""
    try:
        return _print(value, set())
    except MemoryError:   # the statement's memory cap: a limit, never a fallback
        raise
    except Exception:
        return _fallback(value)


def display_string(value: Any) -> str:
    """Like printString, but strings, symbols and characters print bare, and collections
    display their elements the same way (Pharo's displayString)."""
    try:
        return _display(value, set())
    except MemoryError:   # the statement's memory cap: a limit, never a fallback
        raise
    except Exception:
        return _fallback(value)


def default_print_string(proto: Any) -> str:
    """The traits primitive: a prototype's own (non-primitive) ``printOn:`` if it has one,
    like Pharo's Object>>printString, else ``a Proto(name)``. Never recurses: a
    ``printOn:`` that asks for its own printString gets ``a Proto(name)``."""
    key = id(proto)
    try:
        proto._p_activate()  # a ghost's name is not loaded yet
    except Exception:
        pass
    if key not in _PRINTING_ON.get():
        try:
            method = proto.method("printOn:")
            if method is not None and getattr(method, "language", "primitive") != "primitive":
                from batos.lang.protocol.streams import WriteStream
                stream = WriteStream("")
                token = _PRINTING_ON.set(_PRINTING_ON.get() | {key})
                try:
                    proto.send("printOn:", stream)
                finally:
                    _PRINTING_ON.reset(token)
                return stream.contents()
        except Exception:
            pass
    try:
        return proto._display()
    except Exception:
        return "a Proto"


_PRINTING_ON: ContextVar[frozenset[int]] = ContextVar("batos_printing_on", default=frozenset())


def float_print_string(x: float) -> str:
    """Pharo's Float printString: the shortest round-tripping digits, in fixed notation
    when 10^-4 <= |x| < 10^6 (``0.0001``, ``123456.7``), else scientific (``1.0e6``,
    ``1.5e-7``); ``Float nan``, ``Float infinity``, ``Float infinity negated``."""
    if math.isnan(x):
        return "Float nan"
    if math.isinf(x):
        return "Float infinity" if x > 0 else "Float infinity negated"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent = int(exponent) + len(digit_tuple) - len(digits)
    point = len(digits) + exponent  # digits before the decimal point (Pharo's baseExpEstimate)
    if -3 <= point <= 6:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        whole = digits[:point].ljust(point, "0")
        return f"{sign}{whole}.{digits[point:] or '0'}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}e{point - 1}"


def string_print_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def article(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + name


# --- the printer ---------------------------------------------------------------------------------

def _print(value: Any, active: set[int]) -> str:
    t = type(value)
    if t is int:
        return decimal_string(value)
    if t is str:
        return string_print_string(value)
    if value is None:
        return "nil"
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return float_print_string(value)
    if t is Symbol:
        return value.print_string()
    if t is Fraction:
        return f"({decimal_string(value.numerator)}/{decimal_string(value.denominator)})"
    if t is Character:
        return value.print_string()
    if t is StClass:
        return value.name
    from batos.image.proto import Proto
    if isinstance(value, Proto):
        return _proto_string(value, "printString")
    return _print_composite(value, active, _print)


def _display(value: Any, active: set[int]) -> str:
    t = type(value)
    if isinstance(value, str):
        return str(value)
    if t is Character:
        return chr(value.value)
    from batos.image.proto import Proto
    if isinstance(value, Proto):
        return _proto_string(value, "displayString")
    if t is list or t is PersistentList or t is tuple:
        return _guarded(value, active, lambda: _array(value, active, _display))
    if _is_collection(value):
        return _print_composite(value, active, _display)
    return _print(value, active)


def _is_collection(value: Any) -> bool:
    from batos.lang.collections import Interval, OrderedCollection, PersistentSet
    return isinstance(value, (list, tuple, PersistentList, dict, PersistentMapping, set, frozenset,
                              PersistentSet, OrderedCollection, Interval))


def _print_composite(value: Any, active: set[int], each: Any) -> str:
    from batos.lang.block import Block
    from batos.lang.collections import Association, Interval, OrderedCollection, PersistentSet
    t = type(value)
    if isinstance(value, OrderedCollection):
        return _guarded(value, active,
                        lambda: _named(class_name_of(value), value.data, active, each))
    if t is list or t is PersistentList or t is tuple:
        return _guarded(value, active, lambda: _array(value, active, each))
    if t is dict or t is PersistentMapping:
        return _guarded(value, active, lambda: _dictionary(value, active, each))
    if t is set or t is frozenset or t is PersistentSet:
        return _guarded(value, active, lambda: _named("Set", set_order(value), active, each))
    if t is Association:
        return _guarded(value, active, lambda: (
            f"{_print(value.key, active)}->{_print(value.value, active)}"))
    if t is Interval:
        return _interval(value)
    if t is Point:
        return f"({_print(value.x, active)}@{_print(value.y, active)})"
    if t is Block:
        return value.source if isinstance(value.source, str) and value.source else "a BlockClosure"
    if isinstance(value, BaseException):
        return _exception(value)
    hook = getattr(t, "st_print_string", None)
    if callable(hook):
        return str(hook(value))
    from batos.image.message import Message
    if t is Message:
        return message_string(value.selector, [_print(a, active) for a in value.arguments])
    from batos.image.method import Method
    if t is Method:
        return f"a Method({Symbol(value.selector).print_string()}, {value.language})"
    return _fallback(value)


def message_string(selector: str, args: list[str]) -> str:
    """A message as it is written: ``foo``, ``+ 3``, ``at: 1 put: 2``."""
    if not args:
        return selector
    keywords = [part + ":" for part in selector.split(":")[:-1]]
    if len(keywords) != len(args):  # a binary selector
        return f"{selector} {' '.join(args)}"
    return " ".join(f"{k} {a}" for k, a in zip(keywords, args))


def _guarded(value: Any, active: set[int], render: Any) -> str:
    key = id(value)
    if key in active:
        return "..."
    active.add(key)
    try:
        return render()
    finally:
        active.discard(key)


def _elements(items: Any, active: set[int], each: Any) -> list[str]:
    out = []
    for i, item in enumerate(items):
        if i >= MAX_ELEMENTS:
            out.append("...")
            break
        out.append(each(item, active))
    return out


def _named(name: str, items: Any, active: set[int], each: Any) -> str:
    return f"{article(name)}({' '.join(_elements(items, active, each))})"


def _array(value: Any, active: set[int], each: Any) -> str:
    """``#(1 $a 'x' #y #(2 3) true nil)`` when every element is a literal, else
    ``an Array((1/2) an OrderedCollection())`` like Pharo."""
    body = " ".join(_elements(value, active, each))
    if _is_literal(value, set()):
        return f"#({body})"
    return f"an Array({body})"


def _is_literal(value: Any, seen: set[int]) -> bool:
    t = type(value)
    if t in (int, str, Symbol, Character, bool) or value is None:
        return True
    if t is float:
        return math.isfinite(value)  # Float nan/infinity have no literal form
    if t is list or t is PersistentList or t is tuple:
        if id(value) in seen:
            return False
        seen.add(id(value))
        return all(_is_literal(x, seen) for x in value)
    return False


def _dictionary(value: Any, active: set[int], each: Any) -> str:
    parts = []
    for i, (k, v) in enumerate(value.items()):
        if i >= MAX_ELEMENTS:
            parts.append("... ")
            break
        parts.append(f"{each(k, active)}->{each(v, active)} ")
    return f"a Dictionary({''.join(parts)})"


def set_order(value: Any) -> list[Any]:
    """Sets print sorted when their elements compare, for stable output."""
    items = list(value)
    try:
        return sorted(items)
    except TypeError:
        return items


def _interval(value: Any) -> str:
    start, stop, step = (print_string(x) for x in (value.start, value.stop, value.step))
    if value.step == 1:
        return f"({start} to: {stop})"
    return f"({start} to: {stop} by: {step})"


def _exception(exc: BaseException) -> str:
    from batos.lang.protocol.exceptions import exception_class_name, message_text
    name = exception_class_name(exc)
    text = message_text(exc)
    return f"{name}: {text}" if text and text != name else article(name)


def _proto_string(proto: Any, selector: str) -> str:
    """A prototype's own (non-primitive) printString/displayString, else the default."""
    try:
        method = proto.method(selector)
        if method is None and selector == "displayString":
            return _proto_string(proto, "printString")
        if method is not None and getattr(method, "language", "primitive") != "primitive":
            result = proto.send(selector)
            return result if isinstance(result, str) else print_string(result)
        if selector == "displayString":
            return _proto_string(proto, "printString")
    except Exception:
        pass
    return default_print_string(proto)


def _fallback(value: Any) -> str:
    try:
        return article(class_name_of(value))
    except Exception:
        return "an Object"


__all__ = ["print_string", "display_string", "default_print_string", "float_print_string",
           "message_string",
           "string_print_string", "article", "MAX_ELEMENTS"]
