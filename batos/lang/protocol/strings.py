"""Protocol of strings (``str``), symbols (:class:`Symbol`) and Characters.

Strings are immutable values in batos: the operations that Pharo would do in
place answer a new string. The enumeration protocol (``do:``, ``collect:``…)
comes from :mod:`batos.lang.protocol.sequences` with Characters as elements.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from batos.errors import BatosError
from batos.lang.protocol import Table, prim
from batos.lang.protocol.objects import compare
from batos.lang.values import Character, Symbol

STRING: Table = {}
SYMBOL: Table = {}
CHARACTER: Table = {}


def text(value: Any, selector: str) -> str:
    """``value`` as a plain str (Strings, Symbols and Characters are accepted)."""
    if isinstance(value, str):
        return str(value)
    if type(value) is Character:
        return chr(value.value)
    from batos.lang.printing import print_string
    raise BatosError(f"#{selector} expects a String, got {print_string(value)}")


@prim(STRING, "size")
def size(self: str) -> int:
    return len(self)


@prim(STRING, "isString")
def _yes(self: str) -> bool:
    return True


@prim(STRING, "asString", "displayString")
def as_string(self: str) -> str:
    return str(self)


@prim(STRING, "asSymbol")
def as_symbol(self: str) -> Symbol:
    return Symbol(self)


@prim(STRING, "asUppercase")
def as_uppercase(self: str) -> str:
    return str(self).upper()


@prim(STRING, "asLowercase")
def as_lowercase(self: str) -> str:
    return str(self).lower()


@prim(STRING, "capitalized")
def capitalized(self: str) -> str:
    return self[:1].upper() + self[1:]


_NUMBER = re.compile(r"^\s*(-?)(?:(\d+)r([0-9A-Za-z]+)|(\d+)(?:\.(\d+))?(?:e(-?\d+))?"
                     r"(?:/(\d+))?)")


@prim(STRING, "asNumber")
def as_number(self: str) -> Any:
    """The Smalltalk number at the start of the string (``'3.5'`` → 3.5), else nil."""
    m = _NUMBER.match(self)
    if not m:
        return None
    sign = -1 if m.group(1) else 1
    if m.group(2):
        try:
            return sign * int(m.group(3), int(m.group(2)))
        except ValueError:
            return None
    whole, frac, exp, den = m.group(4), m.group(5), m.group(6), m.group(7)
    if frac is not None:
        value: Any = float(f"{whole}.{frac}e{exp or 0}")
        return sign * value
    value = int(whole)
    if exp is not None:
        value = value * 10 ** int(exp) if int(exp) >= 0 else Fraction(value, 10 ** -int(exp))
    if den is not None and int(den) != 0:
        value = Fraction(value, int(den))
    from batos.lang.collections import normalize
    return normalize(sign * value)


@prim(STRING, "asInteger")
def as_integer(self: str) -> int | None:
    """The first integer in the string (``'abc42'`` → 42), or nil."""
    m = re.search(r"-?\d+", self)
    return int(m.group()) if m else None


@prim(STRING, "isAllDigits")
def is_all_digits(self: str) -> bool:
    return all(c.isdigit() for c in self)


@prim(STRING, "includesSubstring:", "includesSubString:")
def includes_substring(self: str, other: Any) -> bool:
    return text(other, "includesSubstring:") in self


@prim(STRING, "includesSubstring:caseSensitive:")
def includes_substring_case(self: str, other: Any, case: Any) -> bool:
    needle = text(other, "includesSubstring:caseSensitive:")
    return needle in self if case is not False else needle.lower() in self.lower()


@prim(STRING, "indexOf:")
def index_of(self: str, char: Any) -> int:
    if type(char) is not Character:
        return 0
    return self.find(chr(char.value)) + 1


@prim(STRING, "findString:")
def find_string(self: str, other: Any) -> int:
    return self.find(text(other, "findString:")) + 1


@prim(STRING, "occurrencesOf:")
def occurrences_of(self: str, char: Any) -> int:
    if type(char) is not Character:
        return 0
    return self.count(chr(char.value))


@prim(STRING, "occurrencesOfString:")
def occurrences_of_string(self: str, other: Any) -> int:
    return self.count(text(other, "occurrencesOfString:"))


@prim(STRING, "includes:")
def includes(self: str, char: Any) -> bool:
    return type(char) is Character and chr(char.value) in self


@prim(STRING, "trimBoth", "trimmed", "withBlanksTrimmed")
def trim_both(self: str) -> str:
    return str(self).strip()


@prim(STRING, "trimLeft")
def trim_left(self: str) -> str:
    return str(self).lstrip()


@prim(STRING, "trimRight")
def trim_right(self: str) -> str:
    return str(self).rstrip()


@prim(STRING, "substrings", "subStrings")
def substrings(self: str) -> list[str]:
    return str(self).split()


@prim(STRING, "substrings:", "subStrings:")
def substrings_by(self: str, separators: Any) -> list[str]:
    """Split on any of the separator characters; empty pieces are dropped."""
    seps = text(separators, "substrings:")
    if not seps:
        return [str(self)]
    pattern = "[" + re.escape(seps) + "]+"
    return [piece for piece in re.split(pattern, str(self)) if piece]


@prim(STRING, "splitOn:")
def split_on(self: str, separator: Any) -> list[str]:
    return str(self).split(text(separator, "splitOn:"))


@prim(STRING, "lines")
def lines(self: str) -> list[str]:
    return str(self).splitlines()


@prim(STRING, "replaceAll:with:", "copyReplacing:with:")
def replace_all(self: str, old: Any, new: Any) -> str:
    return str(self).replace(text(old, "replaceAll:with:"), text(new, "replaceAll:with:"))


@prim(STRING, "copyWithout:")
def copy_without(self: str, char: Any) -> str:
    return str(self).replace(text(char, "copyWithout:"), "")


@prim(STRING, "join:")
def join(self: str, items: Any) -> str:
    """``', ' join: #('a' 'b')`` → ``'a, b'``."""
    from batos.lang.protocol.sequences import to_list
    return str(self).join(_piece(x) for x in to_list(items))


def _piece(value: Any) -> str:
    if isinstance(value, str):
        return str(value)
    from batos.lang.printing import display_string
    return display_string(value)


@prim(STRING, "format:")
def format_(self: str, args: Any) -> str:
    """``'{1} and {2}' format: #(1 2)`` → ``'1 and 2'`` (1-based, displayString)."""
    from batos.lang.collections import is_dictionary
    from batos.lang.protocol.sequences import to_list
    if is_dictionary(args):
        lookup = {str(k): v for k, v in args.items()}
    else:
        lookup = {str(i): v for i, v in enumerate(to_list(args), start=1)}

    def substitute(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in lookup:
            raise BatosError(f"format: has no value for {{{key}}}")
        return _piece(lookup[key])
    return re.sub(r"\{([^{}]+)\}", substitute, str(self))


@prim(STRING, "asArray")
def as_array(self: str) -> list[Character]:
    return [Character(c) for c in self]


@prim(STRING, "asCharacter")
def as_character(self: str) -> Any:
    return Character(self[0]) if self else None


@prim(STRING, "numArgs")
def num_args(self: str) -> int:
    return Symbol(self).num_args() if self else 0


@prim(STRING, "<")
def _lt(self: str, other: Any) -> bool:
    return compare("<", str(self), text(other, "<"))


@prim(STRING, ">")
def _gt(self: str, other: Any) -> bool:
    return compare(">", str(self), text(other, ">"))


@prim(STRING, "<=")
def _le(self: str, other: Any) -> bool:
    return compare("<=", str(self), text(other, "<="))


@prim(STRING, ">=")
def _ge(self: str, other: Any) -> bool:
    return compare(">=", str(self), text(other, ">="))


@prim(STRING, "max:")
def _max(self: str, other: Any) -> Any:
    return other if _gt(other, self) else self


@prim(STRING, "min:")
def _min(self: str, other: Any) -> Any:
    return other if _lt(other, self) else self


@prim(STRING, "sameAs:")
def same_as(self: str, other: Any) -> bool:
    return isinstance(other, str) and self.lower() == other.lower()


@prim(STRING, "at:put:")
def _at_put(self: str, i: Any, value: Any) -> Any:
    raise BatosError("strings are immutable in batos; build a new one with , or "
                     "copyReplaceAll:with:")


@prim(STRING, "isSymbol")
def _not_symbol(self: str) -> bool:
    return False


# --- Symbol --------------------------------------------------------------------------------------

@prim(SYMBOL, "isSymbol")
def _symbol_yes(self: Symbol) -> bool:
    return True


@prim(SYMBOL, "asString")
def symbol_as_string(self: Symbol) -> str:
    return str(self)


@prim(SYMBOL, "asSymbol")
def symbol_as_symbol(self: Symbol) -> Symbol:
    return self


@prim(SYMBOL, "asUppercase")
def symbol_upper(self: Symbol) -> Symbol:
    return Symbol(str(self).upper())


@prim(SYMBOL, "asLowercase")
def symbol_lower(self: Symbol) -> Symbol:
    return Symbol(str(self).lower())


@prim(SYMBOL, "numArgs")
def symbol_num_args(self: Symbol) -> int:
    return self.num_args()


@prim(SYMBOL, "keywords")
def keywords(self: Symbol) -> list[str]:
    if ":" not in self:
        return [str(self)]
    return [part + ":" for part in str(self).split(":")[:-1]]


@prim(SYMBOL, "value:")
def symbol_value(self: Symbol, receiver: Any) -> Any:
    """``#abs value: -3`` → 3: a Symbol works as a one-argument block."""
    from batos.lang.primitives import send
    return send(receiver, str(self), ())


@prim(SYMBOL, "value:value:")
def symbol_value_value(self: Symbol, receiver: Any, arg: Any) -> Any:
    from batos.lang.primitives import send
    return send(receiver, str(self), (arg,))


@prim(SYMBOL, "cull:")
def symbol_cull(self: Symbol, receiver: Any) -> Any:
    return symbol_value(self, receiver)


# --- Character -------------------------------------------------------------------------------------

@prim(CHARACTER, "value", "asInteger", "codePoint", "charCode")
def char_value(self: Character) -> int:
    return self.value


@prim(CHARACTER, "asCharacter")
def char_as_character(self: Character) -> Character:
    return self


@prim(CHARACTER, "asString")
def char_as_string(self: Character) -> str:
    return chr(self.value)


@prim(CHARACTER, "asSymbol")
def char_as_symbol(self: Character) -> Symbol:
    return Symbol(chr(self.value))


@prim(CHARACTER, "asUppercase")
def char_upper(self: Character) -> Character:
    upper = chr(self.value).upper()
    return Character(upper) if len(upper) == 1 else self


@prim(CHARACTER, "asLowercase")
def char_lower(self: Character) -> Character:
    lower = chr(self.value).lower()
    return Character(lower) if len(lower) == 1 else self


def _char_test(fn: Any) -> Any:
    def test(self: Character) -> bool:
        return bool(fn(chr(self.value)))
    return test


for _sel, _fn in (("isVowel", lambda c: c.lower() in "aeiou"), ("isLetter", str.isalpha),
                  ("isDigit", str.isdigit), ("isUppercase", str.isupper),
                  ("isLowercase", str.islower), ("isSeparator", lambda c: c in " \t\r\n\f"),
                  ("isAlphaNumeric", str.isalnum),
                  ("isPunctuation", lambda c: c in ".,:;!?")):
    CHARACTER[_sel] = _char_test(_fn)


@prim(CHARACTER, "isCharacter")
def _char_yes(self: Character) -> bool:
    return True


@prim(CHARACTER, "digitValue")
def digit_value(self: Character) -> int:
    c = chr(self.value)
    if c.isdigit():
        return int(c)
    if c.isalpha() and c.isascii():
        return ord(c.upper()) - ord("A") + 10
    return -1


@prim(CHARACTER, "to:")
def char_to(self: Character, other: Any) -> list[Character]:
    if type(other) is not Character:
        raise BatosError("Character to: expects a Character")
    return [Character(i) for i in range(self.value, other.value + 1)]


@prim(CHARACTER, "join:")
def char_join(self: Character, items: Any) -> str:
    return join(chr(self.value), items)


__all__ = ["STRING", "SYMBOL", "CHARACTER", "text", "as_number"]
