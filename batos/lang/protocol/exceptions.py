"""Smalltalk exceptions over Python ones: ``[...] on: ZeroDivide do: [:e | e return: 0]``.

Python exceptions get Smalltalk class names (``ZeroDivisionError`` → ZeroDivide,
``MessageNotUnderstood`` → MessageNotUnderstood, anything else catchable → Error).
Runtime limits, interrupts and the compiler's non-local return are never caught.
Python exceptions cannot be resumed, so ``resume:`` behaves like ``return:``.
"""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError, Interrupted, LimitExceeded
from batos.errors import MessageNotUnderstood as PyMessageNotUnderstood
from batos.lang.block import WrongArgumentCount, call_block, cull_block
from batos.lang.protocol import Table, prim
from batos.lang.values import HIERARCHY, StClass, st_class

EXCEPTION: Table = {}
MESSAGE: Table = {}
EXCEPTION_SET: Table = {}

HIERARCHY.update({"ArgumentsCountMismatch": "Error", "AssertionFailure": "Error",
                  "DomainError": "ArithmeticError", "KeyNotFound": "NotFound"})


class ZeroDivide(BatosError, ZeroDivisionError):
    """Division by zero."""


class SmalltalkError(BatosError):
    """An exception signalled from BST (``Error signal: 'boom'``, ``self error: 'x'``)."""

    def __init__(self, message: str = "", class_name: str = "Error") -> None:
        super().__init__(message)
        self.st_class_name = class_name


#: Python errors BST code may catch with ``on: Error do:`` (besides BatosError).
CATCHABLE = (BatosError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
             RecursionError, AssertionError)


def catchable(exc: BaseException) -> bool:
    return isinstance(exc, CATCHABLE) and not isinstance(exc, (LimitExceeded, Interrupted))


def exception_class_name(exc: BaseException) -> str:
    """The Smalltalk class an exception belongs to."""
    name = getattr(exc, "st_class_name", None)
    if isinstance(name, str):
        return name
    from batos.lang.collections import NotFound, SubscriptOutOfBounds
    if isinstance(exc, ZeroDivisionError):
        return "ZeroDivide"
    if isinstance(exc, PyMessageNotUnderstood):
        return "MessageNotUnderstood"
    if isinstance(exc, (SubscriptOutOfBounds, IndexError)):
        return "SubscriptOutOfBounds"
    if isinstance(exc, KeyError):
        return "KeyNotFound"
    if isinstance(exc, NotFound):
        return "NotFound"
    if isinstance(exc, WrongArgumentCount):
        return "ArgumentsCountMismatch"
    if isinstance(exc, ArithmeticError):
        return "ArithmeticError"
    return "Error"


def signal_error(class_name: str, message: str) -> Any:
    """Raise a BST exception of class ``class_name``."""
    raise SmalltalkError(message, class_name)


def message_text(exc: BaseException) -> str:
    text = getattr(exc, "message", None)
    if not isinstance(text, str):
        text = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        from batos.lang.printing import print_string
        text = f"key not found: {print_string(exc.args[0])}"
    return text or exception_class_name(exc)


class ExceptionSet:
    """``ZeroDivide, MessageNotUnderstood``: handles any of its classes."""

    st_class_name = "ExceptionSet"

    def __init__(self, classes: list[Any]) -> None:
        self.classes = classes


def handles(selector: Any, exc: BaseException) -> bool:
    """Whether an exception class (or ExceptionSet) handles ``exc``."""
    if not catchable(exc):
        return False
    if isinstance(selector, ExceptionSet):
        return any(handles(c, exc) for c in selector.classes)
    if not isinstance(selector, StClass):
        from batos.lang.printing import print_string
        raise BatosError(f"on:do: expects an exception class such as Error, "
                         f"not {print_string(selector)}")
    return st_class(exception_class_name(exc)).inherits_from(selector)


class _Unwind(BaseException):
    """``ex return: value`` / ``ex retry``: unwinds to the on:do: that caught ``exc``."""

    def __init__(self, exc: BaseException, value: Any = None, retry: bool = False) -> None:
        super().__init__()
        self.exc = exc
        self.value = value
        self.retry = retry


def on_do(block: Any, exception_class: Any, handler: Any) -> Any:
    """``aBlock on: anExceptionClass do: handlerBlock``."""
    while True:
        try:
            return call_block(block)
        except Exception as exc:  # noqa: BLE001 (filtered by handles)
            if not handles(exception_class, exc):
                raise
            try:
                return cull_block(handler, exc)
            except _Unwind as unwind:
                if unwind.exc is not exc:
                    raise
                if unwind.retry:
                    continue
                return unwind.value


def ensure(block: Any, cleanup: Any) -> Any:
    """Run ``block``, then ``cleanup`` however it ends (error or non-local return)."""
    try:
        return call_block(block)
    finally:
        call_block(cleanup)


def if_curtailed(block: Any, cleanup: Any) -> Any:
    """Run ``block``; run ``cleanup`` only if it did not finish normally."""
    try:
        return call_block(block)
    except BaseException:
        call_block(cleanup)
        raise


# --- the exception protocol ------------------------------------------------------------------

@prim(EXCEPTION, "messageText", "description")
def _message_text(self: BaseException) -> str:
    return message_text(self)


@prim(EXCEPTION, "messageText:")
def _set_message_text(self: BaseException, text: Any) -> BaseException:
    if isinstance(self, BatosError):
        self.message = str(text)
        self.args = (str(text),)
    return self


@prim(EXCEPTION, "signal")
def _signal(self: BaseException) -> Any:
    raise self


@prim(EXCEPTION, "signal:")
def _signal_text(self: BaseException, text: Any) -> Any:
    _set_message_text(self, text)
    raise self


@prim(EXCEPTION, "pass", "outer")
def _pass(self: BaseException) -> Any:
    raise self


@prim(EXCEPTION, "return:", "resume:")
def _return(self: BaseException, value: Any) -> Any:
    raise _Unwind(self, value)


@prim(EXCEPTION, "return", "resume")
def _return_nil(self: BaseException) -> Any:
    raise _Unwind(self, None)


@prim(EXCEPTION, "retry")
def _retry(self: BaseException) -> Any:
    raise _Unwind(self, retry=True)


@prim(EXCEPTION, "message")
def _message(self: BaseException) -> Any:
    if isinstance(self, PyMessageNotUnderstood):
        from batos.image.message import Message
        return Message(self.receiver, self.selector, list(self.arguments))
    return message_text(self)


@prim(EXCEPTION, "receiver")
def _receiver(self: BaseException) -> Any:
    return getattr(self, "receiver", None)


@prim(EXCEPTION, "isException")
def _is_exception(self: BaseException) -> bool:
    return True


@prim(MESSAGE, "selector")
def _selector(self: Any) -> Any:
    from batos.lang.values import Symbol
    return Symbol(self.selector)


@prim(MESSAGE, "arguments")
def _arguments(self: Any) -> list[Any]:
    return list(self.arguments)


@prim(EXCEPTION_SET, ",")
def _set_comma(self: ExceptionSet, other: Any) -> ExceptionSet:
    extra = other.classes if isinstance(other, ExceptionSet) else [other]
    return ExceptionSet(self.classes + extra)


def extra_chains(obj: Table) -> dict[type, list[Table]]:
    """Dispatch chains for the types this module defines."""
    from batos.image.message import Message
    return {Message: [MESSAGE, obj], ExceptionSet: [EXCEPTION_SET, obj]}


__all__ = ["ZeroDivide", "SmalltalkError", "ExceptionSet", "EXCEPTION", "catchable", "handles",
           "on_do", "ensure", "if_curtailed", "signal_error", "exception_class_name",
           "message_text"]
