"""Who is calling: the capability boundary between method code and batos's own code.

A method (Python or BST, human or generated) holds references, and a reference is
a capability to *send messages* and nothing else.  Python methods can spell
attributes, so the Python API of prototypes and methods (``define``, ``method``,
``lookup``, ``parents``, ``set_slot`` on another object, ``Method.function`` …) asks
who is calling before it acts: stack inspection, as in Java's and .NET's security
managers.  The nearest frame that decides is

* method code (frames whose globals are a sandbox namespace, ``__name__ ==
  "batos.method"``): untrusted, the API refuses;
* batos's own code (a module under ``batos.``): trusted, batos acts for itself —
  the doesNotUnderstand_ cycle installing a method, a primitive cloning;
* anything else (the standard library, C code, the guardian's deputies such as
  the guarded ``getattr``): not a decision, look further up — so ``json.dumps(x,
  default=methodcaller('define', ...))`` is still the method's doing.

A reference obtained by any path (a slot, a container, a primitive's answer) is
therefore harmless: the check is at the use, not at the acquisition.  The cost is
paid only by the guarded API (one frame walk that usually stops at the first
frame), never by a message send.
"""
from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from batos.errors import CapabilityError

#: ``__name__`` of every Python method's globals (see ``guardian.sandbox``)
SANDBOX_NAME = "batos.method"
#: batos modules that act on a method's behalf with the method's arguments
DEPUTIES = frozenset({"batos.guardian.sandbox"})


def _decider(frame: FrameType | None) -> FrameType | None:
    """The nearest frame at or above ``frame`` that is method code or batos code."""
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name == SANDBOX_NAME:
            return frame
        if name is not None and name[:6] == "batos." and name not in DEPUTIES:
            return None
        frame = frame.f_back
    return None


def refuse(what: str) -> CapabilityError:
    """The error for an API a method may not use."""
    return CapabilityError(
        f"guardian: a method may not {what}; inside the image an object is reached only "
        "by sending it messages (define and inspect methods at the REPL, in a script or "
        "through the Python API)")


def require_trusted(what: str, depth: int = 1) -> None:
    """Raise CapabilityError when our caller's caller is method code."""
    if _decider(sys._getframe(depth + 1)) is not None:
        raise refuse(what)


def may_write(target: Any, depth: int = 1) -> bool:
    """Whether our caller's caller may write ``target``'s slots: batos code may; a
    method may write its own receiver's (``self``) slots and those of the objects in
    its custody (:func:`in_custody`)."""
    frame = _decider(sys._getframe(depth + 1))
    if frame is None:
        return True
    receiver = frame.f_locals.get("self")
    return receiver is target or in_custody(receiver, target)


def in_method() -> bool:
    """Whether any method (Python or BST) is running on this thread's stack.

    Redefining methods and re-parenting objects are human acts (REPL, scripts, the
    Python API) and the generation cycle's, never a method's."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        g = frame.f_globals
        if g.get("__name__") == SANDBOX_NAME:
            return True
        unit = g.get("__unit__")
        if unit is not None and str(getattr(unit, "filename", "")).startswith("<method"):
            return True
        frame = frame.f_back
    return False


def require_human(what: str) -> None:
    """Raise CapabilityError when a method (Python or BST) is anywhere on the stack."""
    if in_method():
        raise CapabilityError(
            f"guardian: a method may not {what}; that is a human act (the REPL, "
            "`batos run`, the Python API) or the generation cycle's")


# -- custody: the objects a method may change besides its receiver ----------------------------

def _hook(obj: Any, name: str) -> Any:
    return getattr(type(obj), name, None)


def in_custody(receiver: Any, target: Any) -> bool:
    """Whether a method running on ``receiver`` may change ``target``, another object:
    composition — ``receiver`` holds ``target`` in one of its own slots, directly or
    as an element of a collection there (a bank its accounts, a store its items).
    System objects (genesis, traits …) are in no method's custody, and an object
    merely passed as an argument is not either: send it a message."""
    system = _hook(target, "_batos_system")
    if system is None or system(target):
        return False
    holds = _hook(receiver, "_batos_holds")
    return holds is not None and holds(receiver, target)


# -- who sent this message ---------------------------------------------------------------------

#: batos modules that carry a send from its sender to its receiver
_MACHINERY = ("batos.lang.", "batos.image.proto")


def sender(depth: int = 1) -> tuple[bool, Any]:
    """``(from_a_method, its receiver)`` for the message being answered by our caller.

    Walks up past the send machinery (the BST runtime, ``Proto.send``, primitives),
    library frames and the guardian's deputies to the code that sent it: a Python or
    BST method (its ``self``), or anything else (a statement typed by a human, a
    script, batos's own code: ``(False, None)``)."""
    frame: FrameType | None = sys._getframe(depth + 1)
    while frame is not None:
        g = frame.f_globals
        name = g.get("__name__")
        if name == SANDBOX_NAME:
            return True, frame.f_locals.get("self")
        unit = g.get("__unit__")
        if unit is not None:
            if str(getattr(unit, "filename", "")).startswith("<method"):
                return True, frame.f_locals.get("_self")
            return False, None
        if name is not None and name[:6] == "batos." and name not in DEPUTIES \
                and not name.startswith(_MACHINERY):
            return False, None
        frame = frame.f_back
    return False, None


def foreign_sender(target: Any, depth: int = 1) -> bool:
    """Whether the message our caller answers was sent by a method of another object
    that does not have ``target`` in its custody (:func:`in_custody`)."""
    from_method, receiver = sender(depth + 1)
    return from_method and receiver is not target and not in_custody(receiver, target)


# -- read-only views of another object's containers -----------------------------------------

def _read_only(self: Any, *args: Any, **kw: Any) -> Any:
    raise CapabilityError(
        f"guardian: this {self._batos_what} belongs to another object and is read-only "
        "here; a method may change only its own receiver's slots (send the owner a "
        "message that changes it, or copy it first)")


class ReadOnlyList(tuple):
    """What a method sees of another object's list or ordered collection."""

    _batos_what = "collection"

    def __getattr__(self, name: str) -> Any:
        if name in ("append", "extend", "insert", "remove", "pop", "clear", "sort",
                    "reverse", "add", "addAll", "addFirst", "removeFirst", "removeLast"):
            return lambda *a, **k: _read_only(self)
        raise AttributeError(name)

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only


class ReadOnlyDict(dict):
    """What a method sees of another object's dictionary."""

    _batos_what = "dictionary"
    __setitem__ = __delitem__ = __ior__ = _read_only
    update = pop = popitem = clear = setdefault = _read_only


class ReadOnlySet(frozenset):
    """What a method sees of another object's set."""

    _batos_what = "set"

    def __getattr__(self, name: str) -> Any:
        if name in ("add", "discard", "remove", "pop", "clear", "update",
                    "difference_update", "intersection_update",
                    "symmetric_difference_update"):
            return lambda *a, **k: _read_only(self)
        raise AttributeError(name)


READ_ONLY_VIEWS = (ReadOnlyList, ReadOnlyDict, ReadOnlySet)


def read_only_view(value: Any) -> Any:
    """A read-only snapshot of a persistent container (lists, dicts, sets)."""
    from collections.abc import Mapping, Set
    if isinstance(value, Mapping):
        return ReadOnlyDict(value)
    if isinstance(value, Set):
        return ReadOnlySet(value)
    return ReadOnlyList(value)


def plain_copy(value: Any) -> Any:
    """A view stored in a slot becomes a plain container of its own (a copy)."""
    if isinstance(value, ReadOnlyDict):
        return dict(value)
    if isinstance(value, ReadOnlySet):
        return set(value)
    return list(value)
