"""Protocol specific to Integers (``int``), Floats, Fractions and Points; the protocol
they share lives in :mod:`batos.lang.protocol.numbers`."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.protocol import Table, prim
from batos.lang.values import Character, Point

INTEGER: Table = {}
FLOAT: Table = {}
FRACTION: Table = {}
POINT: Table = {}


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
    from batos.lang.bigint import digit_count
    return digit_count(self)


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


@prim(INTEGER, "take:")
def take(self: int, k: Any) -> int:
    """Binomial coefficient: ``6 take: 3`` → 20 (0 outside Pascal's triangle)."""
    k = _int(k, "take:")
    return math.comb(self, k) if 0 <= k <= self else 0


@prim(INTEGER, "primeFactors")
def prime_factors(self: int) -> list[int]:
    """``12 primeFactors`` → ``#(2 2 3)``."""
    n, out, p = abs(self), [], 2
    while n > 1 and p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        out.append(n)
    return out


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
        from batos.lang.protocol.numbers import NUMBER
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


__all__ = ["INTEGER", "FLOAT", "FRACTION", "POINT", "is_prime", "factorial"]
