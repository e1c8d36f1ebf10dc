"""Smalltalk value types that Python lacks: Symbol, Character, Point, and class objects.

Numbers, strings, booleans and nil are plain Python values (``int`` is unbounded,
fractions are :class:`fractions.Fraction`). :class:`StClass` objects stand for
Smalltalk classes (``3 class`` → ``SmallInteger``); they are singletons by name,
so ``3 class == SmallInteger`` holds.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

# --- Symbol ---------------------------------------------------------------------------

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SYMBOL_LITERAL = re.compile(rf"^(?:{_IDENT}|(?:{_IDENT}:)+|[-+*/\\<>=~@%|&?,!]+)$")


class Symbol(str):
    """An interned-by-value selector-like string: ``#foo``, ``#at:put:``, ``#+``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Symbol({str.__repr__(self)})"

    def print_string(self) -> str:
        """``#foo``, or ``#'hello world'`` when not a valid literal."""
        text = str(self)
        if _SYMBOL_LITERAL.match(text):
            return "#" + text
        return "#'" + text.replace("'", "''") + "'"

    def num_args(self) -> int:
        """Arity of the selector: keywords count colons, binary selectors take one."""
        text = str(self)
        if text and not (text[0].isalpha() or text[0] == "_"):
            return 1
        return text.count(":")


# --- Character ---------------------------------------------------------------------------

#: Pharo's ``Character constantNameFor:`` names, printed as ``Character space``.
CHARACTER_NAMES: dict[int, str] = {
    0: "null", 1: "home", 3: "enter", 4: "end", 5: "insert", 8: "backspace", 9: "tab",
    10: "lf", 11: "pageUp", 12: "newPage", 13: "cr", 27: "escape", 28: "arrowLeft",
    29: "arrowRight", 30: "arrowUp", 31: "arrowDown", 32: "space", 127: "delete",
}
_NAMED_CHARACTERS = {name: code for code, name in CHARACTER_NAMES.items()}
_NAMED_CHARACTERS.update({"nul": 0, "linefeed": 10, "newline": 10, "pageDown": 12,
                          "euro": 0x20AC, "nbsp": 160})


class Character:
    """A Unicode character: ``$a``. Hashable, ordered and equal by code point."""

    __slots__ = ("value",)

    def __init__(self, char: "str | int | Character") -> None:
        if isinstance(char, Character):
            code = char.value
        elif isinstance(char, int) and not isinstance(char, bool):
            code = char
        elif isinstance(char, str) and len(char) == 1:
            code = ord(char)
        else:
            raise ValueError(f"a Character is made from one character or a code point, "
                             f"not {char!r}")
        if not 0 <= code <= 0x10FFFF:
            raise ValueError(f"{code} is not a Unicode code point")
        object.__setattr__(self, "value", code)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Characters are immutable")

    def __getstate__(self) -> int:
        return self.value

    def __setstate__(self, state: int) -> None:
        object.__setattr__(self, "value", state)

    @classmethod
    def named(cls, name: str) -> "Character":
        """``Character space``, ``Character cr``... by Pharo name."""
        return cls(_NAMED_CHARACTERS[name])

    @property
    def char(self) -> str:
        return chr(self.value)

    def __str__(self) -> str:
        return chr(self.value)

    def __repr__(self) -> str:
        return f"Character({chr(self.value)!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Character and other.value == self.value

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("Character", self.value))

    def __lt__(self, other: "Character") -> bool:
        return self.value < _code(other)

    def __le__(self, other: "Character") -> bool:
        return self.value <= _code(other)

    def __gt__(self, other: "Character") -> bool:
        return self.value > _code(other)

    def __ge__(self, other: "Character") -> bool:
        return self.value >= _code(other)

    def print_string(self) -> str:
        """``$a``; at or below space, Pharo's ``Character space`` / ``Character value: 7``."""
        if self.value > 32:
            return "$" + chr(self.value)
        name = CHARACTER_NAMES.get(self.value)
        if name is not None:
            return f"Character {name}"
        return f"Character value: {self.value}"

    def is_vowel(self) -> bool:
        return chr(self.value).lower() in "aeiou"


def _code(other: Any) -> int:
    if type(other) is not Character:
        raise TypeError(f"cannot compare a Character with {type(other).__name__}")
    return other.value


# --- Point ---------------------------------------------------------------------------------

class Point:
    """``3 @ 4``: an immutable pair with vector arithmetic."""

    __slots__ = ("x", "y")

    def __init__(self, x: Any, y: Any) -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Points are immutable")

    def __getstate__(self) -> tuple[Any, Any]:
        return (self.x, self.y)

    def __setstate__(self, state: tuple[Any, Any]) -> None:
        object.__setattr__(self, "x", state[0])
        object.__setattr__(self, "y", state[1])

    def __eq__(self, other: object) -> bool:
        return type(other) is Point and self.x == other.x and self.y == other.y

    def __hash__(self) -> int:
        return hash(("Point", self.x, self.y))

    def __repr__(self) -> str:
        return f"Point({self.x!r}, {self.y!r})"


# --- class objects ------------------------------------------------------------------------

class StClass:
    """A Smalltalk class as seen from BST: prints as its name and answers its
    class-side protocol (``Array new: 3``) through a per-class selector table."""

    __slots__ = ("name", "class_side", "superclass_name", "__weakref__")

    def __init__(self, name: str, superclass_name: str | None = None) -> None:
        self.name = name
        self.class_side: dict[str, Callable[..., Any]] = {}
        self.superclass_name = superclass_name

    def __repr__(self) -> str:
        return f"<StClass {self.name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (st_class, (self.name,))

    def define(self, selector: str, fn: Callable[..., Any]) -> None:
        """Add a class-side method ``fn(cls, *args)``."""
        self.class_side[selector] = fn

    def lookup(self, selector: str) -> Callable[..., Any] | None:
        """Class-side method for ``selector`` here or in a superclass."""
        cls: StClass | None = self
        while cls is not None:
            fn = cls.class_side.get(selector)
            if fn is not None:
                return fn
            cls = _CLASSES.get(cls.superclass_name) if cls.superclass_name else None
        return None

    @property
    def superclass(self) -> "StClass | None":
        return st_class(self.superclass_name) if self.superclass_name else None

    def inherits_from(self, other: "StClass") -> bool:
        cls: StClass | None = self
        while cls is not None:
            if cls is other:
                return True
            cls = cls.superclass
        return False


_CLASSES: dict[str, StClass] = {}

#: Smalltalk-80/Pharo class hierarchy for the classes batos models.
HIERARCHY: dict[str, str | None] = {
    "ProtoObject": None, "Object": "ProtoObject",
    "Boolean": "Object", "True": "Boolean", "False": "Boolean", "UndefinedObject": "Object",
    "Magnitude": "Object", "Character": "Magnitude", "Number": "Magnitude",
    "Integer": "Number", "SmallInteger": "Integer", "LargePositiveInteger": "Integer",
    "LargeNegativeInteger": "Integer", "Float": "Number", "SmallFloat64": "Float",
    "BoxedFloat64": "Float", "Fraction": "Number", "Point": "Object",
    "Collection": "Object", "SequenceableCollection": "Collection",
    "ArrayedCollection": "SequenceableCollection", "Array": "ArrayedCollection",
    "String": "ArrayedCollection", "ByteString": "String", "WideString": "String",
    "Symbol": "String", "ByteSymbol": "Symbol", "WideSymbol": "Symbol",
    "OrderedCollection": "SequenceableCollection", "SortedCollection": "OrderedCollection",
    "Interval": "SequenceableCollection", "HashedCollection": "Collection",
    "Dictionary": "HashedCollection", "Set": "HashedCollection",
    "LookupKey": "Magnitude", "Association": "LookupKey", "BlockClosure": "Object",
    "Exception": "Object", "Error": "Exception", "ZeroDivide": "ArithmeticError",
    "ArithmeticError": "Error", "MessageNotUnderstood": "Error",
    "SubscriptOutOfBounds": "Error", "NotFound": "Error", "KeyNotFound": "Error",
    "Proto": "Object", "Smalltalk": "Object", "SystemDictionary": "Object",
    "TranscriptStream": "Object", "Metaclass": "Object",
}


def st_class(name: str) -> StClass:
    """The class object named ``name`` (created on first use; one per name)."""
    cls = _CLASSES.get(name)
    if cls is None:
        superclass = HIERARCHY.get(name, "Object" if name != "ProtoObject" else None)
        if name.endswith(" class"):
            superclass = "Metaclass"
        cls = _CLASSES[name] = StClass(name, superclass)
    return cls


SMALL_INTEGER_MAX = 2 ** 60 - 1
SMALL_INTEGER_MIN = -(2 ** 60)


def class_name_of(value: Any) -> str:
    """The Smalltalk class name of a value (``3`` → ``SmallInteger``)."""
    t = type(value)
    if t is bool:
        return "True" if value else "False"
    if value is None:
        return "UndefinedObject"
    if t is int:
        if SMALL_INTEGER_MIN <= value <= SMALL_INTEGER_MAX:
            return "SmallInteger"
        return "LargePositiveInteger" if value > 0 else "LargeNegativeInteger"
    if t is float:
        return _float_class(value)
    if t is Symbol:
        return "ByteSymbol" if _is_byte(value) else "WideSymbol"
    if t is str:
        return "ByteString" if _is_byte(value) else "WideString"
    if t is Fraction:
        return "Fraction"
    if t is Character:
        return "Character"
    if t is list or t is PersistentList or t is tuple:
        return "Array"
    if t is dict or t is PersistentMapping:
        return "Dictionary"
    if t is set or t is frozenset:
        return "Set"
    if t is Point:
        return "Point"
    if t is StClass:
        return f"{value.name} class"
    name = getattr(t, "st_class_name", None)
    if isinstance(name, str):
        return name
    from batos.image.proto import Proto
    if isinstance(value, Proto):
        return "Proto"
    if isinstance(value, BaseException):
        from batos.lang.protocol.exceptions import exception_class_name
        return exception_class_name(value)
    if isinstance(value, int):
        return "SmallInteger"
    if isinstance(value, str):
        return "ByteString"
    if isinstance(value, (list, PersistentList)):
        return "Array"
    if isinstance(value, (dict, PersistentMapping)):
        return "Dictionary"
    return t.__name__


def _is_byte(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def _float_class(value: float) -> str:
    import math
    if value == 0.0:
        return "SmallFloat64"
    if math.isinf(value) or math.isnan(value):
        return "BoxedFloat64"
    exponent = math.frexp(abs(value))[1] - 1
    return "SmallFloat64" if -127 <= exponent <= 127 else "BoxedFloat64"


def class_of(value: Any) -> StClass:
    """The class object of a value."""
    return st_class(class_name_of(value))


def _register_storable() -> None:
    """Value types are plain data: let them be stored in slots."""
    try:
        from batos.guardian.storable import register_storable
    except ImportError:  # the guardian is optional for the language itself
        return
    for cls in (Symbol, Character, Point):
        register_storable(cls, walk=False)


_register_storable()

__all__ = ["Symbol", "Character", "Point", "StClass", "st_class", "class_of", "class_name_of",
           "CHARACTER_NAMES", "HIERARCHY", "SMALL_INTEGER_MAX", "SMALL_INTEGER_MIN"]
