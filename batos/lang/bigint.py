"""Decimal digits of integers of any size, in time the statement limit can stop.

Python refuses ``str()`` of integers past 4,300 digits (a guard against quadratic
conversions; ``sys.get_int_max_str_digits``); Smalltalk has no such limit. Small
integers use ``str``; large ones are converted by splitting in binary and joining
in ``decimal`` arithmetic (libmpdec multiplies big numbers fast), as CPython 3.12's
``_pylong`` does: sub-quadratic, and made of many short C calls, so the guardian's
tick (batos.guardian.limits) can interrupt it between them.
"""
from __future__ import annotations

import decimal
import sys

#: below this many bits ``str`` is fast and within Python's limit (4,300 digits ≈ 14,284 bits)
STR_BITS = 12_000
_LEAF_BITS = 128


def lift_int_digit_limit() -> None:
    """Let ``int(str)`` and ``str(int)`` work at any size in this process (BST literals,
    JSON of large values); time is bounded by the statement limit, not by a digit count."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)


def decimal_string(n: int) -> str:
    """The base-10 digits of ``n`` (with ``-`` when negative)."""
    if n.bit_length() <= STR_BITS:
        return str(n)
    D = decimal.Decimal
    powers: dict[int, decimal.Decimal] = {}

    def pow2(w: int) -> decimal.Decimal:
        result = powers.get(w)
        if result is None:
            if w <= _LEAF_BITS:
                result = D(2) ** w
            elif w - 1 in powers:
                result = powers[w - 1] + powers[w - 1]
            else:
                half = w >> 1
                result = pow2(half) * pow2(w - half)
            powers[w] = result
        return result

    def inner(m: int, w: int) -> decimal.Decimal:
        if w <= _LEAF_BITS:
            return D(m)
        half = w >> 1
        hi = m >> half
        lo = m - (hi << half)
        return inner(lo, half) + inner(hi, w - half) * pow2(half)

    with decimal.localcontext() as ctx:
        ctx.prec = decimal.MAX_PREC
        ctx.Emax = decimal.MAX_EMAX
        ctx.Emin = decimal.MIN_EMIN
        ctx.traps[decimal.Inexact] = True
        magnitude = inner(abs(n), abs(n).bit_length())
    text = format(magnitude, "f")
    return "-" + text if n < 0 else text


def digit_count(n: int) -> int:
    """How many decimal digits ``abs(n)`` has (``0`` has one)."""
    return len(decimal_string(abs(n)))


__all__ = ["decimal_string", "digit_count", "lift_int_digit_limit", "STR_BITS"]
