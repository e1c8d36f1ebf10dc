"""Static AST rules: shape, imports, security, reach, obfuscation, bombs.

Identifiers are already NFKC-normalised by Python's parser; string constants are
normalised here before any check, and G211 reports identifiers whose spelling
differs from what Python reads.
"""
from __future__ import annotations

import ast
import io
import tokenize
import unicodedata
from typing import Any, Iterator

from batos.guardian.bombs import fold
from batos.guardian.report import make_finding
from batos.guardian.rules import (DUNDER_RE, FORBIDDEN_ATTRS, FORBIDDEN_BUILTINS,
                                  ZODB_NAMES)

_FORMAT_ATTRS = frozenset({"format", "format_map", "vformat"})
_NAME_SINK_ATTRS = frozenset({"attrgetter", "methodcaller"})


def _finding(rule: str, node: ast.AST | None, message: str, **kw: Any) -> dict[str, Any]:
    line = getattr(node, "lineno", 0) or 0
    col = (getattr(node, "col_offset", -1) or 0) + 1 if node is not None else 0
    return make_finding(rule, message, line, col, **kw)


def _literal_ok(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return not any(isinstance(n, ast.BinOp) and not isinstance(n.op, (ast.Add, ast.Sub))
                   for n in ast.walk(node))


def _def_time_findings(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                       ) -> Iterator[dict[str, Any]]:
    """Decorators, defaults and annotations run when the def runs."""
    for d in getattr(node, "decorator_list", []):
        yield _finding("G103", d, "decorators run code at definition time and are forbidden")
    args = node.args
    for d in [*args.defaults, *[k for k in args.kw_defaults if k is not None]]:
        if not _literal_ok(d):
            yield _finding("G104", d, "default values must be plain literals "
                           "(they are evaluated when the method is defined)")
        elif any(isinstance(n, _MUTABLE_DISPLAYS) for n in ast.walk(d)):
            yield _finding("G104", d, "mutable default value (list, dict or set): it is "
                           "shared by every call; default to None or a tuple")
    annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                                          args.vararg, args.kwarg] if a is not None]
    annotations.append(getattr(node, "returns", None))
    for ann in annotations:
        if ann is not None and any(isinstance(n, (ast.Call, ast.Lambda, ast.NamedExpr))
                                   for n in ast.walk(ann)):
            yield _finding("G104", ann, "annotations must not call anything "
                           "(they are evaluated when the method is defined)")


_MUTABLE_DISPLAYS = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp,
                     ast.Call)  # set() is the one call literal_eval accepts


def shape_findings(tree: ast.Module) -> list[dict[str, Any]]:
    """Shape rules only: one top-level def taking self; nothing runs at definition."""
    out: list[dict[str, Any]] = []
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    defs = [n for n in body if isinstance(n, ast.FunctionDef)]
    for n in body:
        if isinstance(n, ast.FunctionDef):
            continue
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            out.append(_finding("G110", n, "imports belong inside the method"))
        elif isinstance(n, ast.ClassDef):
            out.append(_finding("G105", n, "class definitions are forbidden"))
        elif isinstance(n, ast.AsyncFunctionDef):
            out.append(_finding("G107", n, "methods may not be coroutines (async def)"))
        else:
            out.append(_finding("G101", n, "only one def may appear at top level; "
                                f"found {type(n).__name__.lower()} statement"))
    if not defs and not out:
        out.append(make_finding("G101", "no method definition (def name(self, ...)) found",
                                1, 1))
    for extra in defs[1:]:
        out.append(_finding("G101", extra, f"a second top-level def {extra.name!r}; "
                            "one method per source"))
    if defs:
        func = defs[0]
        params = [*func.args.posonlyargs, *func.args.args]
        if not params or params[0].arg != "self":
            out.append(_finding("G102", func, f"the first parameter of {func.name!r} "
                                "must be self"))
        out.extend(_def_time_findings(func))
    return out


def floor_findings(tree: ast.Module) -> list[dict[str, Any]]:
    """The runtime floor ``compile_method`` enforces even when the audit was skipped:
    no dunder or private names (strings included, docstrings excepted), no
    frame/code attributes, no classes, no forbidden builtins (attribute syntax
    and str.format are not guarded at run time)."""
    out: list[dict[str, Any]] = []
    top = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    docstrings = {id(h.body[0].value) for h in ast.walk(tree)
                  if isinstance(h, (ast.Module, ast.FunctionDef)) and h.body
                  and isinstance(h.body[0], ast.Expr)}
    for n in ast.walk(tree):
        t = type(n)
        if t is ast.Constant and isinstance(n.value, str) and id(n) not in docstrings \
                and DUNDER_RE.search(norm(n.value)):
            out.append(_finding("G205", n, "dunder name inside a string "
                                "(str.format could reach it)"))
        elif t is ast.Attribute:
            if n.attr == "_p_changed" and isinstance(n.value, ast.Name) \
                    and n.value.id == "self":
                continue
            why = bad_name(n.attr)
            if why:
                out.append(_finding("G206" if not n.attr.startswith("_") else "G204",
                                    n, why))
        elif t is ast.Name and (n.id.startswith("__") or n.id in FORBIDDEN_BUILTINS):
            out.append(_finding("G201", n, f"use of {n.id} is forbidden"))
        elif t is ast.ClassDef:
            out.append(_finding("G105", n, "class definitions are forbidden"))
        elif t is TRY_STAR:
            out.append(_finding("G109", n, "except* (exception groups) is forbidden"))
        elif (t is ast.Lambda or t is ast.FunctionDef) and n is not top:
            out.extend(_def_time_findings(n))
        elif t is ast.Call and type_call(n.func):
            out.append(_finding("G202", n, "calling what type() answers constructs "
                                "objects or classes; name the type instead"))
        elif t is ast.MatchClass and any(bad_name(a) for a in n.kwd_attrs):
            out.append(_finding("G206", n, "class pattern reads a forbidden attribute"))
        if _rebinds_self(n, top):
            # the guardian's own-slot check reads the method frame's ``self``
            out.append(_finding("G102", n, "self may not be rebound: it is the receiver"))
    return out


def _rebinds_self(n: ast.AST, top: ast.FunctionDef | None) -> bool:
    t = type(n)
    if t is ast.Name:
        return n.id == "self" and not isinstance(n.ctx, ast.Load)
    if t is ast.arg:
        return n.arg == "self" and (top is None or not top.args.args
                                    or n is not top.args.args[0])
    if t is ast.ExceptHandler or t is ast.MatchAs or t is ast.MatchStar:
        return n.name == "self"
    if t is ast.MatchMapping:
        return n.rest == "self"
    if t is ast.alias:
        return (n.asname or n.name) == "self"
    return False


TRY_STAR: type = getattr(ast, "TryStar", ast.Try)
if TRY_STAR is ast.Try:  # pragma: no cover - Python < 3.11 has no except*
    TRY_STAR = type("NoTryStar", (), {})


def type_call(func: ast.AST) -> bool:
    """True if ``func`` is itself a call of ``type`` (``type(x)(...)``)."""
    return isinstance(func, ast.Call) and isinstance(func.func, ast.Name) \
        and func.func.id == "type"


def norm(text: str) -> str:
    """NFKC-normalise ``text`` as Python does for identifiers."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def bad_name(name: str) -> str | None:
    """Why an attribute name may not be used by a method, or None."""
    name = norm(name)
    if DUNDER_RE.fullmatch(name) or name.startswith("__"):
        return f"dunder name {name!r} is forbidden"
    if name in ZODB_NAMES:
        return f"{name!r} is a ZODB internal"
    if name.startswith("_"):
        return f"private attribute {name!r} is off limits"
    if name in FORBIDDEN_ATTRS:
        return f"{name!r} reaches frames, code objects or the class hierarchy"
    return None


def fold_str(node: ast.AST, depth: int = 0) -> str | None:
    """Fold a string built from constants (chr, join, concatenation, fromhex)."""
    if depth > 30:
        return None
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, str):
            return v
        if isinstance(v, bytes):
            return v.decode("latin-1")
        return None
    if isinstance(node, ast.JoinedStr):
        parts = [fold_str(v.value if isinstance(v, ast.FormattedValue) else v, depth + 1)
                 for v in node.values]
        return None if None in parts else "".join(parts)  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            a, b = fold_str(node.left, depth + 1), fold_str(node.right, depth + 1)
            return a + b if a is not None and b is not None else None
        if isinstance(node.op, ast.Mult):
            a, n = fold_str(node.left, depth + 1), fold(node.right)
            if a is not None and isinstance(n, int) and 0 <= n <= 64:
                return a * n
        if isinstance(node.op, ast.Mod):
            fmt, arg = fold_str(node.left, depth + 1), node.right
            items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
            vals = [fold_str(i, depth + 1) for i in items]
            if fmt is not None and None not in vals:
                try:
                    return fmt % tuple(vals)
                except (TypeError, ValueError):
                    return None
        return None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        base = fold_str(node.value, depth + 1)
        s = node.slice
        parts = [fold(p) if p is not None else None for p in (s.lower, s.upper, s.step)]
        if base is not None and all(p is None or isinstance(p, int) for p in parts):
            return base[slice(*parts)]
        return None
    if isinstance(node, ast.Call):
        return _fold_str_call(node, depth)
    return None


def _ints(node: ast.AST) -> list[int] | None:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        vals = [_int_value(e) for e in node.elts]
        return None if None in vals else vals  # type: ignore[return-value]
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        return list(node.value)
    return None


def _int_value(node: ast.AST) -> int | None:
    v = fold(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == "ord" and len(node.args) == 1:
        s = fold_str(node.args[0])
        return ord(s) if s is not None and len(s) == 1 else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        a, b = _int_value(node.left), _int_value(node.right)
        if a is not None and b is not None:
            return a + b if isinstance(node.op, ast.Add) else a - b
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _fold_str_call(node: ast.Call, depth: int) -> str | None:
    f, args = node.func, node.args
    if isinstance(f, ast.Name):
        if f.id == "chr" and len(args) == 1:
            v = _int_value(args[0])
            return chr(v) if v is not None and 0 <= v < 0x110000 else None
        if f.id == "str" and len(args) == 1:
            return fold_str(args[0], depth + 1)
        if f.id in ("bytes", "bytearray") and len(args) == 1:
            vals = _ints(args[0])
            return bytes(v % 256 for v in vals).decode("latin-1") if vals else None
        return None
    if not isinstance(f, ast.Attribute):
        return None
    if f.attr == "join" and len(args) == 1:
        sep = fold_str(f.value, depth + 1)
        items = _str_items(args[0], depth)
        return sep.join(items) if sep is not None and items is not None else None
    if f.attr == "fromhex" and len(args) == 1:
        hexed = fold_str(args[0], depth + 1)
        try:
            return bytes.fromhex(hexed).decode("latin-1") if hexed is not None else None
        except ValueError:
            return None
    base = fold_str(f.value, depth + 1)
    if base is None:
        return None
    if f.attr in ("decode", "encode", "lower", "upper", "strip", "title", "casefold",
                  "swapcase", "lstrip", "rstrip"):
        return base.lower() if f.attr in ("lower", "casefold") else \
            base.upper() if f.attr == "upper" else base if f.attr in ("decode", "encode") \
            else base.strip() if "strip" in f.attr else base
    if f.attr == "replace" and len(args) >= 2:
        a, b = fold_str(args[0], depth + 1), fold_str(args[1], depth + 1)
        return base.replace(a, b) if a is not None and b is not None else None
    return None


def _str_items(node: ast.AST, depth: int) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [fold_str(e, depth + 1) for e in node.elts]
        return None if None in items else items  # type: ignore[return-value]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == "map" and len(node.args) == 2 \
            and isinstance(node.args[0], ast.Name) and node.args[0].id == "chr":
        vals = _ints(node.args[1])
        return [chr(v % 0x110000) for v in vals] if vals is not None else None
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and len(node.generators) == 1:
        gen = node.generators[0]
        elt = node.elt
        if isinstance(gen.target, ast.Name) and not gen.ifs and isinstance(elt, ast.Call) \
                and isinstance(elt.func, ast.Name) and elt.func.id == "chr":
            vals = _ints(gen.iter)
            inner = elt.args[0] if elt.args else None
            if vals is not None and isinstance(inner, ast.Name) and inner.id == gen.target.id:
                return [chr(v % 0x110000) for v in vals]
    return None


def _suspicious(text: str) -> str | None:
    """The forbidden name a folded string spells, if it looks like a name (not prose)."""
    t = norm(text)
    m = DUNDER_RE.search(t)
    if m:
        return m.group()
    token = t.strip()
    if token == "__" or not token or any(c.isspace() for c in token):
        return None
    for word in token.replace("'", ".").replace('"', ".").replace("(", ".").split("."):
        if not any(c.isalnum() for c in word):
            continue  # '_' * 40 is decoration, not a name
        if word in FORBIDDEN_BUILTINS or word in ("os", "sys", "subprocess", "builtins",
                                                  "importlib") or bad_name(word):
            return word
    return None


def nfkc_findings(source: str) -> list[dict[str, Any]]:
    """G211: identifiers spelled with compatibility characters (e.g. fullwidth)."""
    if source.isascii():
        return []
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                normal = unicodedata.normalize("NFKC", tok.string)
                if normal != tok.string:
                    out.append(make_finding(
                        "G211", f"identifier {tok.string!r} is spelled with compatibility "
                        f"characters; Python reads it as {normal!r}",
                        tok.start[0], tok.start[1] + 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out
