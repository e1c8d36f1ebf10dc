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
``type``/``__import__``/``print``; the allowed modules are reached only through
read-only proxies that expose their documented public names, so
``statistics.sys`` or ``re.enum`` do not exist, and ``operator.attrgetter``/
``methodcaller`` refuse private names.  Names that walk attributes by name
(``format``, ``format_map``, ``vformat``) are refused to every by-name path.
One-argument ``type`` answers the class itself only when the method can already
name it (``int``, ``list``, ``collections.deque``...), else an inert
:class:`TypeView` that cannot construct and shows no hierarchy, so
``type(type(1))`` is never the metaclass.  ``print`` writes to the Transcript.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import operator
import types
import weakref
from functools import lru_cache
from typing import Any, Callable

from batos.errors import MethodDefinitionError
from batos.guardian.rules import (ALLOWED_MODULES, DYNAMIC_FORBIDDEN, FORBIDDEN_ATTRS,
                                  WITHHELD, ZODB_NAMES)


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
    if name.startswith("_") or name in FORBIDDEN_ATTRS or name in ZODB_NAMES \
            or name in DYNAMIC_FORBIDDEN:
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


class TypeView:
    """What one-argument ``type`` answers for a class a method cannot already name.

    Frozen and inert: it cannot be called (no construction), exposes no class
    hierarchy (``__subclasses__``, ``mro``, ``__bases__``), and is one object per
    class, so ``type(a) is type(b)`` and ``==`` still work; ``isinstance(x, view)``
    works too.  Its only public attribute is ``name``.
    """

    __slots__ = ("_batos_ref", "__weakref__")

    def __init__(self, cls: type) -> None:
        object.__setattr__(self, "_batos_ref", weakref.ref(cls))

    def _cls(self) -> type:
        cls = self._batos_ref()
        if cls is None:  # pragma: no cover - the class died; nothing to match
            return _Gone
        return cls

    @property
    def name(self) -> str:
        """The class's name, e.g. ``'Proto'``."""
        return str(self._cls().__name__)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        raise TypeError(f"guardian: {self!r} cannot construct objects in methods")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("guardian: a type view is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("guardian: a type view is read-only")

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._cls())

    def __subclasscheck__(self, cls: Any) -> bool:
        return isinstance(cls, TypeView) and issubclass(cls._cls(), self._cls())

    def __reduce__(self) -> Any:
        raise TypeError("guardian: a type view cannot be stored")

    def __repr__(self) -> str:
        return f"<type {self.name!r} (guardian view)>"

    __str__ = __repr__


class _Gone:
    pass


#: one view per class (classes are few and live as long as the process anyway)
_VIEWS: dict[type, TypeView] = {}


@lru_cache(maxsize=None)
def nameable_types() -> frozenset[type]:
    """Classes a method can already name (its builtins, the allowed modules' public
    classes): ``type()`` may answer these themselves; metaclasses never."""
    found: set[type] = {v for v in sandbox_builtins().values() if isinstance(v, type)}
    for module in ALLOWED_MODULES:
        proxy = module_proxy(module)
        for name in public_names(module):
            value = getattr(proxy, name, None)
            if isinstance(value, type):
                found.add(value)
    return frozenset(t for t in found if not issubclass(t, type))


def guarded_type(*args: Any) -> Any:
    """One-argument ``type`` that cannot construct: the class itself when the method
    can already name it (``type(x) is int`` works), else a :class:`TypeView`.
    The three-argument form (class creation) is refused."""
    if len(args) != 1:
        raise TypeError("guardian: type() may only be called with one argument in methods")
    cls = type(args[0])
    if cls in (_NAMEABLE or _load_nameable()):
        return cls
    view = _VIEWS.get(cls)
    if view is None:
        view = _VIEWS[cls] = TypeView(cls)
    return view


_NAMEABLE: frozenset[type] = frozenset()


def _load_nameable() -> frozenset[type]:
    global _NAMEABLE
    _NAMEABLE = nameable_types()
    return _NAMEABLE


def guarded_print(*values: Any, sep: Any = " ", end: Any = "\n", file: Any = None,
                  flush: bool = False) -> None:
    """``print`` for methods: writes to the Transcript (captured by the REPL and
    ``batos run``, escapes shown visibly), never to a file the method names."""
    if file is not None:
        raise TypeError("guardian: methods print to the Transcript only (no file=)")
    sep = " " if sep is None else sep
    end = "\n" if end is None else end
    if not isinstance(sep, str) or not isinstance(end, str):
        raise TypeError("sep and end must be strings")
    from batos.guardian.transcript import transcript
    sink = transcript()
    sink.show(sep.join(map(str, values)) + end)
    if flush:
        sink.flush()


_EXTRA = ("list", "tuple", "range", "set", "frozenset", "dict", "sorted", "min", "max",
          "sum", "any", "all", "enumerate", "zip", "map", "filter", "reversed", "iter",
          "next", "format", "bin", "ascii", "bytes", "bytearray", "NotImplemented",
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
             delattr=guarded_delattr, type=guarded_type, __import__=guarded_import,
             print=guarded_print)
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
