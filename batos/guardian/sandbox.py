"""Sandboxed execution: restricted builtins, module proxies, guarded import.

Methods are compiled with plain ``compile`` after the static audit (so a call
costs what a Python call costs; RestrictedPython's per-access guards would
cost several times that).  That is defensible because every name and
attribute a method spells is visible in its AST: the audit rejects them, and
``compile_method`` re-checks a floor of those rules (dunder/private/frame
attributes, dunder strings, forbidden builtins, classes) even when the audit
was skipped.  What the AST cannot show is covered at run time: the namespace's
builtins are RestrictedPython's ``safe_builtins`` minus class building and the
exception roots, plus guarded ``getattr``/``hasattr``/``setattr``/``delattr``/
``type``/``__import__``; the allowed modules are reached only through
read-only proxies that expose their documented public names, so
``statistics.sys`` or ``re.enum`` do not exist, and ``operator.attrgetter``/
``methodcaller`` refuse private names.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import operator
import types
from functools import lru_cache
from typing import Any, Callable

from batos.errors import MethodDefinitionError
from batos.guardian.rules import (ALLOWED_MODULES, FORBIDDEN_ATTRS, WITHHELD,
                                  ZODB_NAMES)


class ModuleProxy:
    """Read-only stand-in for an allowed module; one subclass per module."""

    __slots__ = ()
    _batos_module = "?"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"module {self._batos_module!r} is read-only in methods")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"module {self._batos_module!r} is read-only in methods")

    def __repr__(self) -> str:
        return f"<module {self._batos_module!r} (guardian proxy)>"


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in FORBIDDEN_ATTRS or name in ZODB_NAMES:
        raise AttributeError(f"guardian: attribute {name!r} is off limits to methods")
    return name


def _safe_attrgetter(*names: str) -> Callable[[Any], Any]:
    for n in names:
        for part in str(n).split("."):
            _check_name(part)
    return operator.attrgetter(*names)


def _safe_methodcaller(name: str, /, *args: Any, **kw: Any) -> Callable[[Any], Any]:
    return operator.methodcaller(_check_name(name), *args, **kw)


_REPLACEMENTS: dict[str, dict[str, Any]] = {
    "operator": {"attrgetter": _safe_attrgetter, "methodcaller": _safe_methodcaller},
}


@lru_cache(maxsize=None)
def public_names(module: str) -> frozenset[str]:
    """The documented public names of an allowed module that methods may use."""
    if module not in ALLOWED_MODULES:
        return frozenset()
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    keep = {n for n in names if not n.startswith("_") and hasattr(mod, n)
            and not isinstance(getattr(mod, n), types.ModuleType)}
    return frozenset(keep - WITHHELD.get(module, frozenset()))


@lru_cache(maxsize=None)
def module_proxy(module: str) -> ModuleProxy:
    """The shared read-only proxy of an allowed module."""
    mod = importlib.import_module(module)
    attrs: dict[str, Any] = {"__slots__": (), "_batos_module": module,
                             "__module__": __name__}
    for name in public_names(module):
        value = _REPLACEMENTS.get(module, {}).get(name, getattr(mod, name))
        attrs[name] = staticmethod(value) if callable(value) else value
    cls = type(f"{module}_proxy", (ModuleProxy,), attrs)
    return cls()


def guarded_import(name: str, globals: Any = None, locals: Any = None,
                   fromlist: Any = (), level: int = 0) -> ModuleProxy:
    """``__import__`` for methods: allowed modules only, as proxies."""
    if level != 0 or name not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise ImportError(f"guardian: import of {name!r} is not allowed (allowed: {allowed})")
    return module_proxy(name)


def guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    """``getattr`` that refuses private, dunder and frame/code attributes."""
    return getattr(obj, _check_name(name), *default)


def guarded_hasattr(obj: Any, name: str) -> bool:
    """``hasattr`` with the same name rules as :func:`guarded_getattr`."""
    return hasattr(obj, _check_name(name))


def _refuse_target(obj: Any) -> None:
    if isinstance(obj, (type, types.ModuleType, ModuleProxy, types.FunctionType,
                        types.BuiltinFunctionType, types.MethodType)):
        raise AttributeError(f"guardian: methods may not modify {type(obj).__name__} objects")


def guarded_setattr(obj: Any, name: str, value: Any) -> None:
    """``setattr`` that refuses private names and classes, modules, functions."""
    _refuse_target(obj)
    setattr(obj, _check_name(name), value)


def guarded_delattr(obj: Any, name: str) -> None:
    """``delattr`` with the rules of :func:`guarded_setattr`."""
    _refuse_target(obj)
    delattr(obj, _check_name(name))


def guarded_type(*args: Any) -> type:
    """One-argument ``type`` only: the three-argument form builds classes."""
    if len(args) != 1:
        raise TypeError("guardian: type() may only be called with one argument in methods")
    return type(args[0])


_EXTRA = ("list", "tuple", "range", "set", "frozenset", "dict", "sorted", "min", "max",
          "sum", "any", "all", "enumerate", "zip", "map", "filter", "reversed", "iter",
          "next", "print", "format", "bin", "ascii", "bytes", "bytearray", "NotImplemented",
          "Ellipsis", "StopAsyncIteration")
_DROPPED = ("__build_class__", "_getattr_", "BaseException", "KeyboardInterrupt",
            "SystemExit", "GeneratorExit")


@lru_cache(maxsize=None)
def sandbox_builtins() -> dict[str, Any]:
    """The methods' builtins (built once, on first use: RestrictedPython loads lazily)."""
    from RestrictedPython import safe_builtins
    b: dict[str, Any] = dict(safe_builtins)
    for name in _DROPPED:
        b.pop(name, None)
    for name in _EXTRA:
        b[name] = getattr(builtins, name)
    b.update(getattr=guarded_getattr, hasattr=guarded_hasattr, setattr=guarded_setattr,
             delattr=guarded_delattr, type=guarded_type, __import__=guarded_import)
    return b


def sandbox_namespace() -> dict[str, Any]:
    """A fresh globals dict for one method (its own copy of the builtins)."""
    return {"__builtins__": dict(sandbox_builtins()), "__name__": "batos.method"}


def compile_method(source: str, *, filename: str = "<method>") -> types.FunctionType:
    """Compile the single top-level def of ``source`` in the sandbox namespace.

    Raises MethodDefinitionError on syntax or shape errors and on the runtime floor
    (dunder/private/frame attributes, forbidden builtins, classes), which holds even
    where the audit was skipped; the full audit is :func:`batos.guardian.audit`.
    """
    from batos.guardian.static import floor_findings, shape_findings
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise MethodDefinitionError(
            f"{filename}:{exc.lineno or 0}:{exc.offset or 0}: syntax error: {exc.msg}",
            line=exc.lineno or 0, column=exc.offset or 0) from None
    except ValueError as exc:  # null bytes
        raise MethodDefinitionError(f"{filename}: {exc}") from None
    problems = shape_findings(tree) or floor_findings(tree)
    if problems:
        f = problems[0]
        raise MethodDefinitionError(f"{filename}:{f['line']}:{f['col']}: {f['message']}",
                                    line=f["line"], column=f["col"], rule=f["rule"])
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    namespace = sandbox_namespace()
    exec(compile(tree, filename, "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[func.name]
