"""Dispatch for class objects (:class:`StClass`): their own class-side methods (defined
in :mod:`batos.lang.globals`), then the protocol every class shares, then Object's."""
from __future__ import annotations

from typing import Any, Callable

from batos.errors import BatosError, MessageNotUnderstood
from batos.lang.protocol import Table, prim
from batos.lang.values import StClass, st_class

CLASS: Table = {}
_loaded = False


def _ensure_class_sides() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        import batos.lang.globals  # noqa: F401  (defines the class-side methods)


def _find(cls: StClass, selector: str) -> Callable[..., Any] | None:
    _ensure_class_sides()
    fn = cls.lookup(selector)
    if fn is not None:
        return fn
    fn = CLASS.get(selector)
    if fn is not None:
        return fn
    from batos.lang.primitives import _object_table
    return _object_table().get(selector)


def class_forward(selector: str) -> Callable[..., Any]:
    """The forwarder the send path caches for ``selector`` on class objects."""
    def forward(cls: StClass, *args: Any) -> Any:
        fn = _find(cls, selector)
        if fn is None:
            raise MessageNotUnderstood(cls, selector, args)
        return fn(cls, *args)
    return forward


def class_responds_to(cls: StClass, selector: str) -> bool:
    return _find(cls, selector) is not None


def class_selectors(cls: StClass) -> set[str]:
    _ensure_class_sides()
    from batos.lang.primitives import _object_table
    names = set(CLASS) | set(_object_table())
    c: StClass | None = cls
    while c is not None:
        names |= set(c.class_side)
        c = c.superclass
    return names


# --- what every class understands ---------------------------------------------------------------

@prim(CLASS, "name")
def name(cls: StClass) -> str:
    return cls.name


@prim(CLASS, "printString", "displayString", "storeString", "asString")
def print_string(cls: StClass) -> str:
    return cls.name


@prim(CLASS, "class")
def metaclass(cls: StClass) -> StClass:
    if cls.name.endswith(" class"):
        return st_class("Metaclass")
    return st_class(cls.name + " class")


@prim(CLASS, "superclass")
def superclass(cls: StClass) -> StClass | None:
    return cls.superclass


@prim(CLASS, "inheritsFrom:")
def inherits_from(cls: StClass, other: Any) -> bool:
    return other is not cls and isinstance(other, StClass) and cls.inherits_from(other)


@prim(CLASS, "includesBehavior:")
def includes_behavior(cls: StClass, other: Any) -> bool:
    return isinstance(other, StClass) and cls.inherits_from(other)


@prim(CLASS, "isClass")
def is_class(cls: StClass) -> bool:
    return True


@prim(CLASS, "new", "new:")
def cannot_instantiate(cls: StClass, *args: Any) -> Any:
    raise BatosError(f"{cls.name} cannot be instantiated with new; "
                     "in batos, make objects by cloning a prototype (genesis clone)")


# --- exception classes: Error signal: 'boom' ----------------------------------------------------

def _exception_new(cls: StClass) -> Any:
    from batos.lang.protocol.exceptions import SmalltalkError
    return SmalltalkError("", cls.name)


def _exception_signal(cls: StClass, text: Any = "") -> Any:
    from batos.lang.protocol.exceptions import signal_error
    return signal_error(cls.name, str(text) if text else "")


def _exception_set(cls: StClass, other: Any) -> Any:
    from batos.lang.protocol.exceptions import ExceptionSet
    extra = other.classes if isinstance(other, ExceptionSet) else [other]
    return ExceptionSet([cls] + extra)


def _handles(cls: StClass, exc: Any) -> bool:
    from batos.lang.protocol.exceptions import handles
    return isinstance(exc, BaseException) and handles(cls, exc)


_exception = st_class("Exception")
_exception.define("new", _exception_new)
_exception.define("signal", _exception_signal)
_exception.define("signal:", _exception_signal)
_exception.define(",", _exception_set)
_exception.define("handles:", _handles)

__all__ = ["CLASS", "class_forward", "class_responds_to", "class_selectors"]
