"""Static resource bombs: fold constant expressions without running them.

A thread timeout cannot stop one long C-level operation (``10 ** 10 ** 9``,
``'a' * 10 ** 11``), so where operands are visible we estimate the size of the
result before anything is computed.  ``fold`` returns a small concrete value, a
:class:`Big` estimate, or ``None`` (unknown).
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

#: an int result above this many bits is a bomb (10 ** 1.2e6 already takes ~0.2 s)
BOMB_INT_BITS = 1 << 22
#: a str/bytes/list result above this many bytes is a bomb
BOMB_BYTES = 64 << 20
#: items a C-level consumer (list, sum, join, ...) may pull from a literal range
BOMB_ITEMS = 10 ** 8
#: concrete values stay below these sizes; bigger ones become estimates
_SMALL_BITS = 20_000
_SMALL_LEN = 10_000
_CONSUMERS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "sum", "min",
                        "max", "any", "all", "bytes", "bytearray", "dict", "join",
                        "deque", "Counter", "fromkeys", "extend", "update", "fsum",
                        "prod", "mean", "median", "enumerate"})
_INFINITE = frozenset({"count", "cycle"})
#: math.prod multiplies big ints in C: a product over this many items is already slow
_PROD_ITEMS = 20_000
#: a format width or precision above this allocates it all at once
BOMB_WIDTH = 10_000_000
_PAD_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


@dataclass(frozen=True)
class Big:
    """A value too big to build: ``kind`` is "int" or "seq", ``size`` in bits or bytes."""

    kind: str
    size: float

    @property
    def bomb(self) -> bool:
        return self.size > (BOMB_INT_BITS if self.kind == "int" else BOMB_BYTES)


def _bits(v: Any) -> float:
    if isinstance(v, Big):
        return v.size if v.kind == "int" else 0.0
    return float(abs(int(v)).bit_length()) if isinstance(v, int) else 0.0


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _seq_bytes(v: Any) -> float:
    if isinstance(v, (str, bytes)):
        return float(len(v))
    if isinstance(v, (list, tuple)):
        return 8.0 * len(v)
    return 0.0


def _power(a: Any, b: Any) -> Any:
    if a is None:  # unknown base: any int base >= 2 gives at least b bits
        if isinstance(b, Big) or _int(b) and b > _SMALL_BITS:
            return Big("int", b.size if isinstance(b, Big) and b.kind == "int"
                       and b.size == math.inf else math.inf if isinstance(b, Big)
                       else float(b))
        return None
    if isinstance(b, Big):
        return Big("int", math.inf) if _int(a) and abs(a) > 1 else None
    if not _int(b) or b < 0:
        return None
    if isinstance(a, Big):
        return Big("int", a.size * b)
    if not _int(a):
        return None
    if abs(a) <= 1:
        return a ** min(b, 2)
    bits = b * math.log2(abs(a))
    return a ** b if bits < _SMALL_BITS else Big("int", bits)


def _times(a: Any, b: Any) -> Any:
    if _int(a) or isinstance(a, Big) and a.kind == "int":
        if _int(b) or isinstance(b, Big) and b.kind == "int":
            if _int(a) and _int(b):
                bits = _bits(a) + _bits(b)
                return a * b if bits < _SMALL_BITS else Big("int", bits)
            return Big("int", _bits(a) + _bits(b))
        a, b = b, a
    # a is a sequence (or unknown), b the count
    count = b.size if isinstance(b, Big) else b
    if isinstance(b, Big):
        count = math.inf
    if not (_int(count) or count == math.inf) or isinstance(count, bool):
        return None
    if isinstance(a, Big) and a.kind == "seq":
        return Big("seq", a.size * max(count, 0))
    if isinstance(a, (str, bytes, list, tuple)):
        size = _seq_bytes(a) * max(count, 0)
        if size < _SMALL_LEN and count != math.inf:
            return a * count
        return Big("seq", size)
    return None


def fold(node: ast.AST, depth: int = 0) -> Any:
    """Fold a constant expression into a small value, a Big estimate, or None."""
    if depth > 40:
        return None
    if isinstance(node, ast.Constant):
        v = node.value
        return v if isinstance(v, (int, float, str, bytes)) else None
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [fold(e, depth + 1) for e in node.elts]
        if any(i is None or isinstance(i, Big) for i in items):
            return [None] * len(items) if not node.elts or len(items) < _SMALL_LEN else None
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = fold(node.operand, depth + 1)
        return -v if isinstance(v, (int, float)) else v if isinstance(v, Big) else None
    if isinstance(node, ast.BinOp):
        a, b = fold(node.left, depth + 1), fold(node.right, depth + 1)
        op = node.op
        if isinstance(op, ast.Pow):
            return _power(a, b) if b is not None else None
        if a is None and not isinstance(op, ast.Mult) or b is None:
            return None
        if isinstance(op, ast.LShift):
            if _int(b) and b >= 0 and (_int(a) or isinstance(a, Big)):
                bits = _bits(a) + b
                return a << b if bits < _SMALL_BITS and _int(a) else Big("int", bits)
            return Big("int", math.inf) if isinstance(b, Big) else None
        if isinstance(op, ast.Mult):
            if a is None:
                return None
            return _times(a, b)
        if isinstance(op, ast.Add):
            if isinstance(a, Big) or isinstance(b, Big):
                return Big(a.kind if isinstance(a, Big) else b.kind,
                           max(getattr(a, "size", 0), getattr(b, "size", 0)))
            if type(a) is type(b) or isinstance(a, (int, float)) and isinstance(b, (int, float)):
                try:
                    r = a + b
                except TypeError:
                    return None
                return r if _seq_bytes(r) < _SMALL_LEN else Big("seq", _seq_bytes(r))
            return None
        if isinstance(op, (ast.Sub, ast.FloorDiv, ast.Mod)) and _int(a) and _int(b):
            try:
                return {ast.Sub: a - b, ast.FloorDiv: a // b if b else None,
                        ast.Mod: a % b if b else None}[type(op)]
            except (ZeroDivisionError, KeyError):
                return None
        return None
    if isinstance(node, ast.Call):
        return _fold_call(node, depth)
    return None


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _fold_call(node: ast.Call, depth: int) -> Any:
    name = _call_name(node)
    args = [fold(a, depth + 1) for a in node.args]
    if name == "pow" and isinstance(node.func, ast.Name) and len(args) == 2 \
            and args[1] is not None:
        return _power(args[0], args[1])
    if name == "chr" and len(args) == 1 and _int(args[0]) and 0 <= args[0] < 0x110000:
        return chr(args[0])
    if name == "factorial" and args and _int(args[0]) and args[0] > 200:
        n = args[0]
        return Big("int", n * math.log2(n))
    return None


def bomb_message(node: ast.AST) -> str | None:
    """If ``node`` itself is a resource bomb, say why; else None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mult, ast.LShift)):
        v = fold(node)
        if isinstance(v, Big) and v.bomb:
            what = "an integer of" if v.kind == "int" else "a sequence of"
            size = "unbounded size" if v.size == math.inf else (
                f"~{v.size / 8 / 2**20:,.0f} MiB" if v.kind == "int"
                else f"~{v.size / 2**20:,.0f} MiB")
            return f"this expression builds {what} {size}"
        return None
    if isinstance(node, ast.Call):
        return _call_bomb(node)
    return None


def _call_bomb(node: ast.Call) -> str | None:
    name = _call_name(node)
    args = [fold(a) for a in node.args]
    first = args[0] if args else None
    if name == "pow" and isinstance(node.func, ast.Name) and len(args) == 2 \
            and args[1] is not None:
        v = _power(args[0], args[1])
        if isinstance(v, Big) and v.bomb:
            return "pow() builds an integer too large to compute in time"
    if name == "factorial" and isinstance(first, Big) or (
            name == "factorial" and _int(first) and first > 100_000):
        return "factorial of a huge number cannot be interrupted"
    if name in ("bytes", "bytearray") and isinstance(node.func, ast.Name):
        if _int(first) and first > BOMB_BYTES or isinstance(first, Big):
            return f"{name}() of a huge size allocates it all at once"
    if name in _PAD_METHODS and isinstance(node.func, ast.Attribute):
        if _int(first) and first > BOMB_BYTES or isinstance(first, Big):
            return f"str.{name}() to a huge width allocates it all at once"
    if name in ("comb", "perm") and len(args) >= 1 and (
            isinstance(first, Big) or _int(first) and first > 100_000):
        return f"math.{name} of a huge number cannot be interrupted"
    if name in ("repeat",) and len(args) >= 2 and (
            _int(args[1]) and args[1] > BOMB_ITEMS or isinstance(args[1], Big)):
        return "itertools.repeat with a huge count"
    if name in _CONSUMERS and node.args:
        src = node.args[0]
        if isinstance(src, ast.Call):
            if _endless(src):
                return f"{name}() would consume an endless iterator ({_call_name(src)}()) in C"
            count = _items(src)
            limit = _PROD_ITEMS if name == "prod" else BOMB_ITEMS
            if count is not None and count > limit:
                return f"{name}() would pull more than {limit:,} items in C"
    return None


_WRAPPERS = frozenset({"map", "filter", "filterfalse", "enumerate", "starmap", "accumulate",
                       "chain", "reversed", "iter", "compress", "dropwhile", "takewhile"})


def _endless(node: ast.AST, depth: int = 0) -> bool:
    """True for iterators that never stop: count(), cycle(), repeat(x), iter(f, sentinel),
    and C wrappers (map, filter, chain ...) around one of them."""
    if depth > 20 or not isinstance(node, ast.Call):
        return False
    name = _call_name(node)
    if name in _INFINITE or name == "repeat" and len(node.args) == 1 and not node.keywords:
        return True
    if name == "iter" and isinstance(node.func, ast.Name) and len(node.args) == 2:
        return True
    if name == "zip" or name == "zip_longest":
        parts = [_endless(a, depth + 1) for a in node.args]
        return bool(parts) and (all(parts) if name == "zip" else any(parts) and all(parts))
    if name in _WRAPPERS and name != "takewhile":
        return any(_endless(a, depth + 1) for a in node.args)
    return False


def _items(node: ast.AST) -> float | None:
    """Estimated number of items an iterator expression yields, if visible."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return float(len(node.elts))
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return float(len(node.value))
    if not isinstance(node, ast.Call):
        return None
    name = _call_name(node)
    args = [fold(a) for a in node.args]
    kw = {k.arg: fold(k.value) for k in node.keywords if k.arg}
    if name == "range" and args:
        if any(isinstance(a, Big) for a in args):
            return math.inf
        nums = [a for a in args if _int(a)]
        if len(nums) != len(args):
            return None
        return float(len(range(*nums))) if len(nums) <= 3 else None
    inner = [_items(a) for a in node.args]
    if name in ("permutations", "combinations", "combinations_with_replacement") and inner \
            and inner[0] is not None:
        n = inner[0]
        r = args[1] if len(args) > 1 and _int(args[1]) else kw.get("r", n)
        if n == math.inf or not _int(r) and r != n:
            return math.inf
        r = int(n if r is None else r)
        if name == "permutations":
            return float(math.perm(int(n), min(r, int(n)))) if n < 10**6 else math.inf
        if name == "combinations":
            return float(math.comb(int(n), min(r, int(n)))) if n < 10**6 else math.inf
        return float(math.comb(int(n) + r - 1, r)) if n < 10**6 else math.inf
    if name == "product" and inner and all(i is not None for i in inner):
        rep = kw.get("repeat", 1)
        rep = rep if _int(rep) else 1
        total = 1.0
        for i in inner:
            total *= i  # type: ignore[operator]
        return total ** rep if total < 1e300 else math.inf
    return None


_WIDTH_RE = __import__("re").compile(r"(\d{8,})")


def huge_format(spec: str) -> bool:
    """True if a format spec asks for a width/precision above BOMB_WIDTH."""
    return any(int(m) > BOMB_WIDTH for m in _WIDTH_RE.findall(spec))


#: one %-conversion: flags, width, precision (``*`` takes them from the arguments)
_PERCENT_RE = __import__("re").compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[diouxXeEfFgGcrsab%]")


def huge_percent(fmt: str) -> bool:
    """True if a %-format asks for a width/precision above BOMB_WIDTH (digits only
    inside a conversion count, so ``'order 123456789: %s'`` is fine)."""
    return any(part.isdigit() and int(part) > BOMB_WIDTH
               for m in _PERCENT_RE.finditer(fmt) for part in m.groups() if part)


def percent_stars(fmt: str) -> bool:
    """True if a %-format takes a width or precision from its arguments (``%*d``)."""
    return any("*" in (m.group(1) or "") + (m.group(2) or "")
               for m in _PERCENT_RE.finditer(fmt))


def nested_spec(fmt: str) -> bool:
    """True if a str.format string takes a width or precision from its arguments."""
    import string
    try:
        return any(spec and "{" in spec for _, _, spec, _ in string.Formatter().parse(fmt))
    except ValueError:
        return False
