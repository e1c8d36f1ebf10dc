"""The one small exception tree of batos.

Every error a user can cause derives from :class:`BatosError`; its ``exit_code``
is what the CLI returns (1 user error, 2 usage, 3 image locked/unavailable).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence


class BatosError(Exception):
    """Root of every batos error. ``exit_code`` is the CLI exit status."""

    exit_code = 1

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class UsageError(BatosError):
    """The command line itself was wrong."""

    exit_code = 2


# --- the image -------------------------------------------------------------

class ImageError(BatosError):
    """The image could not be opened or used."""

    exit_code = 3


class ImageLockedError(ImageError):
    """Another process holds the image."""


class NotAnImageError(ImageError):
    """The file exists but is not a ZODB FileStorage; it was left untouched."""


class ReadOnlyError(BatosError):
    """A write was attempted on an image opened read-only."""


class SlotError(BatosError):
    """A slot name or slot operation is invalid."""


class AmbiguousSelector(BatosError):
    """A selector was found in two different parents at the same depth."""

    def __init__(self, selector: str, owners: Sequence[str]) -> None:
        super().__init__(
            f"#{selector} is ambiguous: found in both {owners[0]} and {owners[1]} "
            "at the same depth; define it on the receiver to choose",
            selector=selector, owners=list(owners))
        self.selector = selector
        self.owners = list(owners)


class MessageNotUnderstood(BatosError, AttributeError):
    """A receiver does not understand a message.

    Also an :class:`AttributeError`, so ``hasattr`` and ``getattr(..., default)``
    keep working on prototypes.
    """

    def __init__(self, receiver: Any, selector: str, arguments: Sequence[Any] = (),
                 description: str | None = None) -> None:
        self.receiver = receiver
        self.selector = selector
        self.arguments = list(arguments)
        if description is None:
            description = _describe(receiver)
        super().__init__(f"{description} does not understand #{selector}",
                         selector=selector)


#: how an error names a receiver; the language installs its printString
#: (``batos.lang``), since this module imports nothing from batos
describe_receiver: Callable[[Any], str] = repr


def _describe(receiver: Any) -> str:
    try:
        return describe_receiver(receiver)
    except Exception:  # printing must never mask the real error
        return repr(receiver)


class MethodDefinitionError(BatosError):
    """Source given for a method was rejected (syntax, shape, guardian)."""

    def __init__(self, message: str, report: Any = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.report = report


class AuditRejected(MethodDefinitionError):
    """The guardian's audit rejected a method; ``report`` holds the findings."""


class StorageRejected(BatosError):
    """A value that must not be pickled into the image reached a slot."""


class UnsafeImageError(ImageError):
    """An image record names a class batos does not load (it could run code); nothing ran."""


class CapabilityError(BatosError):
    """Method code used something it holds no capability for (the Python API of an
    object, another object's slots, a private selector, a method's internals)."""


class LimitExceeded(BatosError):
    """A runtime limit (time, recursion, memory) was exceeded; the transaction was aborted."""


class Interrupted(BatosError):
    """The user interrupted a running statement; the transaction was aborted."""


# --- the language ------------------------------------------------------------

class SourceError(BatosError):
    """An error that points at a place in BST source (file:line:col with a caret)."""

    def __init__(self, message: str, *, source: str = "", line: int = 0, column: int = 0,
                 filename: str = "<input>") -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        self.column = column
        self.filename = filename
        #: the BST call chain, outermost first: ``(filename, line, column, code)`` per
        #: activation, the failing place last (set by ``batos.lang.evaluate``)
        self.stack: list[tuple[str, int, int, str]] = []

    def source_line(self) -> str:
        lines = self.source.splitlines()
        if 1 <= self.line <= len(lines):
            return lines[self.line - 1]
        return ""

    def location(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}"

    def pretty(self) -> str:
        """``file:line:col: message`` then the source line and a caret."""
        text = f"{self.location()}: {self.message}"
        line = self.source_line()
        if line:
            pad = "".join(c if c == "\t" else " " for c in line[: max(self.column - 1, 0)])
            caret = pad + "^"
            text += f"\n  {line}\n  {caret}"
        chain = self.call_chain()
        if chain:
            text += "\nBST call chain (innermost last):"
            width = max(len(where) for where, _ in chain)
            text += "".join(f"\n  {where.ljust(width)}  {code}" for where, code in chain)
        return text

    def call_chain(self) -> list[tuple[str, str]]:
        """``(file:line:col, code)`` per BST activation, outermost first, the failing
        place last; empty when the error happened in the text evaluated (its blocks
        included): the caret says it all then."""
        stack = getattr(self, "stack", None) or []
        if len({frame[0] for frame in stack}) < 2:
            return []
        chain = [(f"{file}:{line}:{col}", " ".join(code.split())) for file, line, col, code
                 in stack]
        if len(chain) > 12:     # deep recursion: the outer calls and the innermost ones
            chain[3:-8] = [("...", f"({len(chain) - 11} more activations)")]
        return chain


class BSTSyntaxError(SourceError):
    """BST source could not be parsed."""


class NameNotFound(SourceError):
    """A variable name is not bound anywhere; suggestions are in the message."""


class BSTRuntimeError(SourceError):
    """An error raised while evaluating BST, with the position of the failing send."""

    def __init__(self, message: str, *, cause: BaseException | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


# --- the model -----------------------------------------------------------------

class ModelError(BatosError):
    """The model is missing, corrupt or cannot be loaded; the message says how to fix it."""


class GenerationFailed(BatosError):
    """doesNotUnderstand_ could not produce a working method after its retries."""
