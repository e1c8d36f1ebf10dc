"""Protocol of numbers: SmallInteger/LargeInteger (``int``), Float and Fraction.

Arithmetic is exact where Smalltalk's is: ``1 / 3`` is ``(1/3)``, a Fraction whose
denominator becomes 1 is an Integer again, and ``/`` by zero raises ZeroDivide.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Callable

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.collections import Interval, normalize
from batos.lang.protocol import Table, prim
from batos.lang.protocol.exceptions import ZeroDivide
from batos.lang.values import Character, Point

NUMBER: Table = {}
INTEGER: Table = {}
FLOAT: Table = {}
FRACTION: Table = {}
POINT: Table = {}

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
        if t is int and type(self) is int:
            return op(self, other)
        if t is Point:
            return _point_op(op, self, other)
        num(other, selector, self)
        try:
            return normalize(op(self, other))
        except OverflowError:
            raise BatosError(f"{selector}: result out of Float range") from None
    arith.__name__ = f"arith_{selector}"
    return arith


NUMBER["+"] = _arith("+", lambda a, b: a + b)
NUMBER["-"] = _arith("-", lambda a, b: a - b)
NUMBER["*"] = _arith("*", lambda a, b: a * b)


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
        raise BatosError(f"{self} raisedTo: {exponent} is not a real number "
                         "(negative base, fractional exponent)")
    if self == 0 and exponent < 0:
        raise zero_divide(self)
    try:
        return float(self) ** float(exponent)
    except OverflowError:
        return math.inf


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
        return str(value)
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


# --- Integer ------------------------------------------------------------------------------------------

@prim(INTEGER, "isInteger")
def _int_yes(self: int) -> bool:
    return True


@prim(INTEGER, "factorial")
def factorial(self: int) -> int:
    if self < 0:
        raise BatosError("Not valid for negative integers")
    if self > 200_000:
        raise BatosError(f"{self} factorial is too large to compute")
    return math.factorial(self)


@prim(INTEGER, "gcd:")
def gcd(self: int, other: Any) -> int:
    return math.gcd(self, _int(other, "gcd:"))


@prim(INTEGER, "lcm:")
def lcm(self: int, other: Any) -> int:
    return math.lcm(self, _int(other, "lcm:"))


def _int(value: Any, selector: str) -> int:
    if type(value) is not int:
        from batos.lang.printing import print_string
        raise BatosError(f"#{selector} expects an Integer, got {print_string(value)}")
    return value


@prim(INTEGER, "isPrime")
def is_prime(self: int) -> bool:
    """Deterministic Miller-Rabin (exact below 3.3e24, then with more bases)."""
    n = self
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@prim(INTEGER, "timesRepeat:")
def times_repeat(self: int, block: Any) -> int:
    for _ in range(self):
        call_block(block)
    return self


@prim(INTEGER, "asCharacter")
def as_character(self: int) -> Character:
    try:
        return Character(self)
    except ValueError as exc:
        raise BatosError(str(exc)) from None


@prim(INTEGER, "numerator")
def _numerator(self: int) -> int:
    return self


@prim(INTEGER, "denominator")
def _denominator(self: int) -> int:
    return 1


@prim(INTEGER, "sqrtFloor")
def _sqrt_floor(self: int) -> int:
    return math.isqrt(self)


@prim(INTEGER, "isPowerOfTwo")
def _is_power_of_two(self: int) -> bool:
    return self > 0 and self & (self - 1) == 0


@prim(INTEGER, "numberOfDigits")
def _number_of_digits(self: int) -> int:
    return len(str(abs(self)))


@prim(INTEGER, "atRandom")
def _at_random(self: int) -> int:
    import random
    if self < 1:
        raise BatosError("atRandom needs a positive Integer")
    return random.randint(1, self)


def _bits(selector: str, op: Callable[[int, int], int]) -> Callable[[int, Any], int]:
    def bits(self: int, other: Any) -> int:
        return op(self, _int(other, selector))
    return bits


INTEGER["bitAnd:"] = INTEGER["&"] = _bits("bitAnd:", lambda a, b: a & b)
INTEGER["bitOr:"] = INTEGER["|"] = _bits("bitOr:", lambda a, b: a | b)
INTEGER["bitXor:"] = _bits("bitXor:", lambda a, b: a ^ b)
INTEGER["bitShift:"] = _bits("bitShift:", lambda a, b: a << b if b >= 0 else a >> -b)
INTEGER["<<"] = _bits("<<", lambda a, b: a << b)
INTEGER[">>"] = _bits(">>", lambda a, b: a >> b)
INTEGER["bitAt:"] = _bits("bitAt:", lambda a, b: (a >> (b - 1)) & 1)


@prim(INTEGER, "highBit")
def _high_bit(self: int) -> int:
    return self.bit_length()


@prim(INTEGER, "bitInvert")
def _bit_invert(self: int) -> int:
    return ~self


# --- Float and Fraction ------------------------------------------------------------------------------

@prim(FLOAT, "isFloat")
def _float_yes(self: float) -> bool:
    return True


@prim(FLOAT, "isNaN")
def _is_nan(self: float) -> bool:
    return math.isnan(self)


@prim(FLOAT, "isInfinite")
def _is_infinite(self: float) -> bool:
    return math.isinf(self)


@prim(FLOAT, "isFinite")
def _is_finite(self: float) -> bool:
    return math.isfinite(self)


@prim(FLOAT, "fractionPart")
def _fraction_part(self: float) -> float:
    return self - math.trunc(self)


@prim(FLOAT, "integerPart")
def _integer_part(self: float) -> float:
    return float(math.trunc(self))


@prim(FRACTION, "isFraction")
def _fraction_yes(self: Fraction) -> bool:
    return True


@prim(FRACTION, "numerator")
def _frac_numerator(self: Fraction) -> int:
    return self.numerator


@prim(FRACTION, "denominator")
def _frac_denominator(self: Fraction) -> int:
    return self.denominator


# --- Point ------------------------------------------------------------------------------------------------

@prim(POINT, "x")
def _x(self: Point) -> Any:
    return self.x


@prim(POINT, "y")
def _y(self: Point) -> Any:
    return self.y


def _point_arith(selector: str) -> Callable[[Point, Any], Point]:
    def op(self: Point, other: Any) -> Point:
        fn = NUMBER[selector]
        if type(other) is Point:
            return Point(fn(self.x, other.x), fn(self.y, other.y))
        return Point(fn(self.x, other), fn(self.y, other))
    return op


for _sel in ("+", "-", "*", "/", "//"):
    POINT[_sel] = _point_arith(_sel)


@prim(POINT, "dist:")
def _dist(self: Point, other: Point) -> float:
    return math.hypot(self.x - other.x, self.y - other.y)


@prim(POINT, "isPoint")
def _point_yes(self: Point) -> bool:
    return True


__all__ = ["NUMBER", "INTEGER", "FLOAT", "FRACTION", "POINT", "num", "divide", "rounded",
           "raised_to", "int_to_base", "MAX_RESULT_BITS"]
