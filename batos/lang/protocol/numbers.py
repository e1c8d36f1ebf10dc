"""Protocol of numbers: SmallInteger/LargeInteger (``int``), Float and Fraction.

Arithmetic is exact where Smalltalk's is: ``1 / 3`` is ``(1/3)``, a Fraction whose
denominator becomes 1 is an Integer again, and ``/`` by zero raises ZeroDivide.
"""
from __future__ import annotations

import math
import operator
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Callable

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.collections import Interval, normalize
from batos.lang.protocol import Table, prim
from batos.lang.protocol.exceptions import ZeroDivide
from batos.lang.protocol.objects import compare, st_equal
from batos.lang.values import Point

NUMBER: Table = {}

_NUMERIC = (int, float, Fraction)
#: results above this many bits are refused rather than hanging the REPL
MAX_RESULT_BITS = 64_000_000


def num(value: Any, selector: str, receiver: Any = None) -> Any:
    """``value`` if it is a number, else a clear error naming the message."""
    t = type(value)
    if t is int or t is float or t is Fraction:
        return value
    if t is not bool and isinstance(value, _NUMERIC):
        return value
    from batos.lang.printing import print_string
    head = f"{print_string(receiver)} {selector} " if receiver is not None else f"#{selector} "
    raise BatosError(f"{head}{print_string(value)}: the argument is not a number",
                     selector=selector)


def zero_divide(receiver: Any) -> ZeroDivide:
    return ZeroDivide("division by zero", dividend=receiver)


def _point_op(op: Callable[[Any, Any], Any], a: Any, b: Point) -> Point:
    return Point(op(a, b.x), op(a, b.y))


def _arith(selector: str, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def arith(self: Any, other: Any) -> Any:
        t = type(other)
        if t is Point:
            return _point_op(op, self, other)
        num(other, selector, self)
        try:
            return normalize(op(self, other))
        except OverflowError:
            raise BatosError(f"{selector}: result out of Float range") from None
    arith.__name__ = f"arith_{selector}"
    return arith


_add, _sub, _mul = (_arith("+", operator.add), _arith("-", operator.sub),
                    _arith("*", operator.mul))


def add(self: Any, other: Any) -> Any:
    if type(other) is int and type(self) is int:
        return self + other
    return _add(self, other)


def sub(self: Any, other: Any) -> Any:
    if type(other) is int and type(self) is int:
        return self - other
    return _sub(self, other)


def mul(self: Any, other: Any) -> Any:
    if type(other) is int and type(self) is int:
        return self * other
    return _mul(self, other)


NUMBER["+"], NUMBER["-"], NUMBER["*"] = add, sub, mul


def _comparison(selector: str, op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def cmp(self: Any, other: Any) -> bool:
        t = type(other)
        if t is int or t is float or t is Fraction:
            return op(self, other)
        return compare(selector, self, other)
    cmp.__name__ = f"compare_{selector}"
    return cmp


for _sel, _op in (("<", operator.lt), (">", operator.gt), ("<=", operator.le),
                  (">=", operator.ge)):
    NUMBER[_sel] = _comparison(_sel, _op)


@prim(NUMBER, "=")
def equal(self: Any, other: Any) -> bool:
    t = type(other)
    if t is int or t is float or t is Fraction:
        return self == other
    return st_equal(self, other)


@prim(NUMBER, "~=")
def not_equal(self: Any, other: Any) -> bool:
    return not equal(self, other)


@prim(NUMBER, "/")
def divide(self: Any, other: Any) -> Any:
    if type(other) is Point:
        return Point(divide(self, other.x), divide(self, other.y))
    num(other, "/", self)
    if other == 0:
        raise zero_divide(self)
    if type(self) is float or type(other) is float:
        return self / other
    return normalize(Fraction(self) / Fraction(other))


@prim(NUMBER, "//")
def floor_div(self: Any, other: Any) -> Any:
    num(other, "//", self)
    if other == 0:
        raise zero_divide(self)
    return math.floor(Fraction(self) / Fraction(other)) if _exact(self, other) \
        else _to_int(math.floor(self / other))


@prim(NUMBER, "\\\\")
def floor_mod(self: Any, other: Any) -> Any:
    num(other, "\\\\", self)
    if other == 0:
        raise zero_divide(self)
    return normalize(self % other)


@prim(NUMBER, "quo:")
def quo(self: Any, other: Any) -> Any:
    num(other, "quo:", self)
    if other == 0:
        raise zero_divide(self)
    if _exact(self, other):
        return math.trunc(Fraction(self) / Fraction(other))
    return _to_int(math.trunc(self / other))


@prim(NUMBER, "rem:")
def rem(self: Any, other: Any) -> Any:
    num(other, "rem:", self)
    if other == 0:
        raise zero_divide(self)
    if _exact(self, other):
        return normalize(self - math.trunc(Fraction(self) / Fraction(other)) * other)
    return math.fmod(self, other)


def _exact(a: Any, b: Any) -> bool:
    return type(a) is not float and type(b) is not float


def _to_int(value: float | int) -> int:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        raise BatosError(f"cannot convert {value} to an Integer")
    return int(value)


@prim(NUMBER, "raisedTo:", "**")
def raised_to(self: Any, exponent: Any) -> Any:
    num(exponent, "raisedTo:", self)
    if type(exponent) is int:
        if exponent < 0:
            if self == 0:
                raise zero_divide(self)
            if type(self) is float:
                return self ** exponent
            return normalize(Fraction(self) ** exponent)
        if type(self) is int and abs(self) > 1:
            if exponent * self.bit_length() > MAX_RESULT_BITS:
                raise BatosError(f"{self} raisedTo: {exponent} is too large to compute")
        try:
            return normalize(self ** exponent)
        except OverflowError:
            return math.inf if self > 0 or exponent % 2 == 0 else -math.inf
    if self < 0:
        if type(exponent) is Fraction and exponent.denominator % 2 == 1:
            # odd roots of negative numbers are real (Pharo's raisedToFraction:)
            if type(self) is not float:
                root = _exact_root(-self, exponent.denominator)
                if root is not None:
                    return raised_to(-root, exponent.numerator)
            return -math.exp(float(exponent) * math.log(-self))
        raise BatosError(f"{print_number(self)} raisedTo: {print_number(exponent)}: negative "
                         "numbers can't be raised to float powers or even roots")
    if self == 0:
        if exponent < 0:
            raise zero_divide(self)
        return 0 if type(self) is not float else 0.0
    if exponent == 0:
        return 1 if type(self) is not float else 1.0
    if type(exponent) is Fraction and type(self) is not float:
        root = _exact_root(self, exponent.denominator)
        if root is not None:
            return raised_to(root, exponent.numerator)
    try:  # Pharo: (aNumber * self ln) exp
        return math.exp(float(exponent) * math.log(self))
    except OverflowError:
        return math.inf


def print_number(value: Any) -> str:
    from batos.lang.printing import print_string
    return print_string(value)


def _exact_root(value: Any, n: int) -> Any:
    """The exact ``n``-th root of a non-negative Integer or Fraction, else None
    (``4 raisedTo: 1/2`` is 2, like Pharo's raisedToFraction:)."""
    if value < 0 or n > 4096:
        return None
    parts = []
    for part in (Fraction(value).numerator, Fraction(value).denominator):
        root = round(part ** (1.0 / n)) if part.bit_length() < 1000 else None
        if root is None:
            return None
        for candidate in (root - 1, root, root + 1):
            if candidate >= 0 and candidate ** n == part:
                parts.append(candidate)
                break
        else:
            return None
    return normalize(Fraction(parts[0], parts[1]))


@prim(NUMBER, "raisedToInteger:")
def raised_to_integer(self: Any, exponent: Any) -> Any:
    if type(exponent) is not int:
        raise BatosError("raisedToInteger: expects an Integer exponent")
    return raised_to(self, exponent)


@prim(NUMBER, "sqrt")
def sqrt(self: Any) -> Any:
    if self < 0:
        raise BatosError("sqrt undefined for number less than zero.")
    if type(self) is int:
        root = math.isqrt(self)
        if root * root == self:
            return root
        try:
            return math.sqrt(self)
        except OverflowError:
            return float(root)
    if type(self) is Fraction:
        n, d = math.isqrt(self.numerator), math.isqrt(self.denominator)
        if n * n == self.numerator and d * d == self.denominator:
            return Fraction(n, d)
    return math.sqrt(self)


@prim(NUMBER, "squared")
def squared(self: Any) -> Any:
    return normalize(self * self)


@prim(NUMBER, "abs")
def _abs(self: Any) -> Any:
    return abs(self)


@prim(NUMBER, "negated")
def _negated(self: Any) -> Any:
    return -self


@prim(NUMBER, "reciprocal")
def reciprocal(self: Any) -> Any:
    return divide(1, self)


@prim(NUMBER, "sign")
def sign(self: Any) -> int:
    return (self > 0) - (self < 0)


@prim(NUMBER, "isZero")
def _is_zero(self: Any) -> bool:
    return self == 0


@prim(NUMBER, "negative")
def _negative(self: Any) -> bool:
    return self < 0


@prim(NUMBER, "positive")
def _positive(self: Any) -> bool:
    return self >= 0


@prim(NUMBER, "strictlyPositive")
def _strictly_positive(self: Any) -> bool:
    return self > 0


@prim(NUMBER, "even")
def even(self: Any) -> bool:
    return self % 2 == 0


@prim(NUMBER, "odd")
def odd(self: Any) -> bool:
    return self % 2 == 1


@prim(NUMBER, "isNumber")
def _yes(self: Any) -> bool:
    return True


# --- rounding and conversion ---------------------------------------------------------------------

@prim(NUMBER, "truncated", "asInteger")
def truncated(self: Any) -> int:
    return _to_int(math.trunc(self)) if type(self) is float else math.trunc(self)


@prim(NUMBER, "rounded")
def rounded(self: Any) -> int:
    """Half away from zero, like Pharo (``2.5 rounded`` → 3, ``-2.5 rounded`` → -3)."""
    if type(self) is int:
        return self
    if type(self) is float:
        if math.isinf(self) or math.isnan(self):
            raise BatosError(f"cannot round {self}")
        return int(Decimal(self).to_integral_value(rounding=ROUND_HALF_UP))
    magnitude = math.floor(abs(self) + Fraction(1, 2))
    return magnitude if self >= 0 else -magnitude


@prim(NUMBER, "floor")
def _floor(self: Any) -> int:
    return _to_int(math.floor(self)) if type(self) is float else math.floor(self)


@prim(NUMBER, "ceiling")
def _ceiling(self: Any) -> int:
    return _to_int(math.ceil(self)) if type(self) is float else math.ceil(self)


@prim(NUMBER, "roundTo:")
def round_to(self: Any, quantum: Any) -> Any:
    num(quantum, "roundTo:", self)
    return normalize(rounded(divide(self, quantum)) * quantum)


@prim(NUMBER, "truncateTo:")
def truncate_to(self: Any, quantum: Any) -> Any:
    num(quantum, "truncateTo:", self)
    return normalize(quo(self, quantum) * quantum)


@prim(NUMBER, "asFloat")
def as_float(self: Any) -> float:
    try:
        return float(self)
    except OverflowError:
        return math.inf if self > 0 else -math.inf


@prim(NUMBER, "asExactFraction", "asFraction")
def _as_fraction(self: Any) -> Any:
    return normalize(Fraction(self))


@prim(NUMBER, "asNumber")
def _as_number(self: Any) -> Any:
    return self


@prim(NUMBER, "printString:", "radix:")
def print_radix(self: Any, base: Any) -> str:
    """``255 printString: 16`` → ``'FF'``."""
    if type(self) is not int:
        if type(base) is int and base == 10:
            from batos.lang.printing import print_string
            return print_string(self)
        raise BatosError("printString: with a radix other than 10 needs an Integer")
    return int_to_base(self, base)


@prim(NUMBER, "printStringRadix:", "storeString:")
def print_string_radix(self: Any, base: Any) -> str:
    """``255 printStringRadix: 16`` → ``'16rFF'``."""
    text = print_radix(self, base)
    if text.startswith("-"):
        return f"-{base}r{text[1:]}"
    return f"{base}r{text}"


def int_to_base(value: int, base: Any) -> str:
    if type(base) is not int or not 2 <= base <= 36:
        raise BatosError(f"radix must be an Integer between 2 and 36, not {base!r}")
    if value == 0:
        return "0"
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if base == 10:
        from batos.lang.bigint import decimal_string
        return decimal_string(value)
    n, out = abs(value), []
    while n:
        n, d = divmod(n, base)
        out.append(digits[d])
    return ("-" if value < 0 else "") + "".join(reversed(out))


@prim(NUMBER, "printPaddedWith:to:")
def print_padded(self: Any, pad: Any, width: Any) -> str:
    """``5 printPaddedWith: $0 to: 3`` → ``'005'`` (sign first, like Pharo)."""
    from batos.lang.printing import print_string
    text = print_string(abs(self)) if type(self) is int else print_string(self)
    fill = str(pad)
    if type(self) is int and self < 0:
        return "-" + text.rjust(int(width) - 1, fill)
    return text.rjust(int(width), fill)


@prim(NUMBER, "printShowingDecimalPlaces:")
def print_decimal_places(self: Any, places: Any) -> str:
    if places <= 0:
        return str(rounded(self))
    quantum = Decimal(1).scaleb(-int(places))
    value = Decimal(self) if type(self) is not Fraction else \
        Decimal(self.numerator) / Decimal(self.denominator)
    return str(value.quantize(quantum, rounding=ROUND_HALF_UP))


# --- iteration ------------------------------------------------------------------------------------

@prim(NUMBER, "to:")
def to(self: Any, stop: Any) -> Interval:
    return Interval(self, num(stop, "to:", self), 1)


@prim(NUMBER, "to:by:")
def to_by(self: Any, stop: Any, step: Any) -> Interval:
    return Interval(self, num(stop, "to:by:", self), num(step, "to:by:", self))


@prim(NUMBER, "to:do:")
def to_do(self: Any, stop: Any, block: Any) -> Any:
    num(stop, "to:do:", self)
    i = self
    while i <= stop:
        call_block(block, i)
        i += 1
    return self


@prim(NUMBER, "to:by:do:")
def to_by_do(self: Any, stop: Any, step: Any, block: Any) -> Any:
    num(stop, "to:by:do:", self)
    num(step, "to:by:do:", self)
    if step == 0:
        raise BatosError("step must not be zero")
    i = self
    if step > 0:
        while i <= stop:
            call_block(block, i)
            i = normalize(i + step)
    else:
        while i >= stop:
            call_block(block, i)
            i = normalize(i + step)
    return self


@prim(NUMBER, "@")
def at_point(self: Any, y: Any) -> Point:
    return Point(self, y)


@prim(NUMBER, "asPoint")
def as_point(self: Any) -> Point:
    return Point(self, self)


# --- transcendental --------------------------------------------------------------------------------

def _math(fn: Callable[[float], float], name: str) -> Callable[[Any], float]:
    def apply(self: Any) -> float:
        try:
            return fn(float(self))
        except (ValueError, OverflowError):
            raise BatosError(f"{name} is undefined for {self}") from None
    return apply


for _sel, _fn in (("ln", math.log), ("log", math.log10), ("exp", math.exp), ("sin", math.sin),
                  ("cos", math.cos), ("tan", math.tan), ("arcSin", math.asin),
                  ("arcCos", math.acos), ("arcTan", math.atan),
                  ("degreesToRadians", math.radians), ("radiansToDegrees", math.degrees)):
    NUMBER[_sel] = _math(_fn, _sel)


@prim(NUMBER, "log:")
def log_base(self: Any, base: Any) -> float:
    try:
        return math.log(self, num(base, "log:", self))
    except (ValueError, ZeroDivisionError):
        raise BatosError(f"log: is undefined for {self} in base {base}") from None


@prim(NUMBER, "floorLog:")
def floor_log(self: Any, base: Any) -> int:
    if self <= 0:
        raise BatosError("floorLog: needs a positive receiver")
    if type(self) is int and type(base) is int and base > 1:
        n, power = 0, base
        while power <= self:
            power *= base
            n += 1
        return n
    return math.floor(math.log(self, base))


from batos.lang.protocol.numeric import FLOAT, FRACTION, INTEGER, POINT  # noqa: E402,F401

__all__ = ["NUMBER", "INTEGER", "FLOAT", "FRACTION", "POINT", "num", "divide", "rounded",
           "raised_to", "int_to_base", "MAX_RESULT_BITS"]
