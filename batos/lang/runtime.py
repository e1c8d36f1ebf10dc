"""Run-time support for compiled BST: name resolution, arithmetic fallbacks,
non-local return, method definition and mapping errors back to BST source.

Compiled code calls the small functions here by the names in :data:`HELPERS`.
"""
from __future__ import annotations

import difflib
import threading
import weakref
from typing import Any, Iterable

from batos.errors import (BatosError, BSTRuntimeError, Interrupted, LimitExceeded,
                          MessageNotUnderstood, NameNotFound, SourceError)
from batos.image.method import Method
from batos.image.proto import Proto
from batos.lang.primitives import send

_MISSING = object()


class NonLocalReturn(BaseException):
    """``^value`` inside a block: unwinds to the activation ``home`` that made the block.

    A BaseException so that handlers for ordinary errors never swallow it.
    """

    __slots__ = ("value", "home")

    def __init__(self, value: Any, home: object) -> None:
        self.value = value
        self.home = home


class Home:
    """A unique token per method/script activation that contains ``^`` inside blocks."""

    __slots__ = ()


# --- units: compiled source texts, for mapping Python lines back to BST ------------------

class Unit:
    """One compiled BST text: its source, BST filename and Python-line → (line, col) table."""

    __slots__ = ("source", "filename", "positions", "pyname", "__weakref__")

    def __init__(self, source: str, filename: str, positions: list[tuple[int, int]],
                 pyname: str) -> None:
        self.source = source
        self.filename = filename
        self.positions = positions
        self.pyname = pyname

    def position(self, pyline: int) -> tuple[int, int]:
        if 1 <= pyline <= len(self.positions):
            return self.positions[pyline - 1]
        return (1, 1)


UNITS: "weakref.WeakValueDictionary[str, Unit]" = weakref.WeakValueDictionary()


def locate(tb: Any) -> tuple[Unit, int, int] | None:
    """The innermost BST position in a traceback: (unit, line, column)."""
    found = None
    while tb is not None:
        unit = UNITS.get(tb.tb_frame.f_code.co_filename)
        if unit is not None:
            found = (unit, tb.tb_lineno)
        tb = tb.tb_next
    if found is None:
        return None
    line, col = found[0].position(found[1])
    return found[0], line, col


def attach_call_chain(err: BaseException, tb: Any) -> None:
    """Record on ``err`` (a positioned SourceError) the BST activations its traceback
    ``tb`` passed through, outermost first, ending at the failing place.

    A method re-raises a positioned error from its handler, so a frame may appear
    twice in ``tb``: the deeper entry (the call site) is the one kept.
    """
    if not isinstance(err, SourceError) or not err.line:
        return
    frames: dict[int, tuple[Unit, int]] = {}
    while tb is not None:
        unit = UNITS.get(tb.tb_frame.f_code.co_filename)
        if unit is not None:
            frames[id(tb.tb_frame)] = (unit, tb.tb_lineno)   # insertion order: outer first
        tb = tb.tb_next
    chain: list[tuple[str, int, int, str]] = []
    sources: dict[int, list[str]] = {}
    for unit, pyline in list(frames.values())[:-1]:   # the last one is the failing place
        line, col = unit.position(pyline)
        lines = sources.get(id(unit))
        if lines is None:
            lines = sources[id(unit)] = unit.source.splitlines()
        code = lines[line - 1] if 1 <= line <= len(lines) else ""
        chain.append((unit.filename, line, col, code))
    chain.append((err.filename, err.line, err.column, err.source_line()))
    err.stack = chain


_POSITIONED: dict[type, type] = {}


def _positioned_class(cls: type) -> type:
    """``BSTRuntimeError`` combined with ``cls`` (so ``except cls`` still catches it)."""
    combined = _POSITIONED.get(cls)
    if combined is None:
        combined = type(cls.__name__, (BSTRuntimeError, cls),
                        {"__module__": cls.__module__, "exit_code": getattr(cls, "exit_code", 1),
                         "__qualname__": cls.__qualname__, "__str__": BatosError.__str__})
        _POSITIONED[cls] = combined
    return combined


def wrap_error(exc: BaseException) -> BaseException:
    """``exc`` with the BST position of the failing send (file, line, column, caret).

    Source errors that already have a position, runtime limits, interrupts and
    non-local returns come back unchanged.
    """
    if isinstance(exc, (LimitExceeded, Interrupted)) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, SourceError) and exc.line:
        return exc
    where = locate(exc.__traceback__)
    if where is None:
        return exc
    unit, line, col = where
    pos: dict[str, Any] = dict(source=unit.source, line=line, column=col,
                               filename=unit.filename)
    if isinstance(exc, SourceError):
        exc.source, exc.line, exc.column, exc.filename = unit.source, line, col, unit.filename
        return exc
    if isinstance(exc, BatosError):
        try:
            cls = _positioned_class(type(exc))
            new = cls.__new__(cls, *exc.args)
            new.__dict__.update(exc.__dict__)
        except TypeError:  # a class that cannot be combined: keep the message only
            return BSTRuntimeError(exc.message, cause=exc, **pos)
        new.cause = exc
        for key, value in pos.items():
            setattr(new, key, value)
        return new
    if isinstance(exc, RecursionError):
        message = "recursion too deep (maximum recursion depth exceeded)"
    else:
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return BSTRuntimeError(message, cause=exc, **pos)


def block_cannot_return(exc: NonLocalReturn) -> BSTRuntimeError:
    """The error for ``^`` in a block whose home activation has already returned."""
    where = locate(exc.__traceback__)
    err = BSTRuntimeError("block cannot return: the method or statement that created it "
                          "has already returned")
    if where is not None:
        unit, err.line, err.column = where
        err.source, err.filename = unit.source, unit.filename
    return err


# --- the evaluation context ------------------------------------------------------------------

_BUILTINS: "weakref.WeakKeyDictionary[Any, dict[str, Any]]" = weakref.WeakKeyDictionary()
_NO_IMAGE_BUILTINS: dict[str, Any] | None = None


def builtins_for(image: Any) -> dict[str, Any]:
    """``batos.lang.globals.builtin_globals(image)``, built once per image (and once for
    code evaluated without an image)."""
    global _NO_IMAGE_BUILTINS
    if image is None:
        if _NO_IMAGE_BUILTINS is None:
            from batos.lang.globals import builtin_globals
            _NO_IMAGE_BUILTINS = builtin_globals(None)
        return _NO_IMAGE_BUILTINS
    table = _BUILTINS.get(image)
    if table is None:
        from batos.lang.globals import builtin_globals
        table = builtin_globals(image)
        _BUILTINS[image] = table
    return table


class Context:
    """Where free names resolve: the workspace, then image globals, then builtins."""

    __slots__ = ("image", "workspace", "_builtins")

    def __init__(self, image: Any, workspace: dict[str, Any] | None) -> None:
        self.image = image
        self.workspace = workspace if workspace is not None else {}
        self._builtins: dict[str, Any] | None = None

    @property
    def builtins(self) -> dict[str, Any]:
        if self._builtins is None:
            self._builtins = builtins_for(self.image)
        return self._builtins

    def globals(self) -> Any:
        return self.image.globals if self.image is not None else {}

    def lookup(self, name: str, extra: Iterable[str] = ()) -> Any:
        """The value of free name ``name``; NameNotFound with suggestions if unbound."""
        ws = self.workspace
        if name in ws:
            return ws[name]
        value = self.globals().get(name, _MISSING)
        if value is not _MISSING:
            return value
        value = self.builtins.get(name, _MISSING)
        if value is not _MISSING:
            return value
        raise self.not_found(name, extra)

    def assign(self, name: str, value: Any) -> Any:
        """Top-level assignment: workspace variable, existing global, or a new workspace
        variable (playground style)."""
        ws = self.workspace
        if name not in ws:
            g = self.globals()
            if name in g:
                g[name] = value
                return value
            if name in self.builtins:
                raise BSTRuntimeError(f"cannot assign to {name!r}: it is a builtin global")
        ws[name] = value
        return value

    def candidates(self) -> list[str]:
        names = list(self.workspace) + list(self.globals()) + list(self.builtins)
        return names

    def not_found(self, name: str, extra: Iterable[str] = ()) -> NameNotFound:
        return unknown_name(name, list(extra) + self.candidates())


def unknown_name(name: str, candidates: list[str], verb: str = "unknown name") -> NameNotFound:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.7)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return NameNotFound(f"{verb} {name!r}{hint}")


class _Stack(threading.local):
    def __init__(self) -> None:
        self.items: list[Context] = []


_STACK = _Stack()


def current_context(receiver: Any = None) -> Context:
    """The innermost running evaluation's context; for methods called from Python,
    one over the receiver's image (found through its ZODB connection)."""
    items = _STACK.items
    if items:
        return items[-1]
    from batos.image.image import image_of
    image = image_of(receiver)
    return Context(image, image.workspace if image is not None else {})


def push_context(ctx: Context) -> None:
    _STACK.items.append(ctx)


def pop_context() -> None:
    _STACK.items.pop()


# --- names inside methods ----------------------------------------------------------------------

def method_name(receiver: Any, name: str, near: Iterable[str] = ()) -> Any:
    """Read free ``name`` in a method: the receiver's data/parent slot (own or inherited),
    then the workspace, image globals and builtins."""
    if isinstance(receiver, Proto):
        value = receiver._slots.get(name, _MISSING)
        if value is _MISSING:
            found = receiver.lookup(name)
            if found is not None:
                value = found[1]
        if value is not _MISSING and type(value) is not Method:
            return value
    ctx = current_context(receiver)
    extra = receiver.slot_names() if isinstance(receiver, Proto) else []
    return ctx.lookup(name, [*near, *extra])


def method_assign(receiver: Any, name: str, value: Any) -> Any:
    """Assign free ``name`` in a method: a data slot of the receiver (written as its own
    slot), else a workspace variable or an existing global."""
    if isinstance(receiver, Proto):
        slots = receiver._slots
        current = slots.get(name, _MISSING)
        if current is _MISSING:
            found = receiver.lookup(name)
            current = found[1] if found is not None else _MISSING
        if current is not _MISSING and type(current) is not Method:
            receiver.set_slot(name, value)
            return value
    ctx = current_context(receiver)
    if name in ctx.workspace:
        ctx.workspace[name] = value
        return value
    g = ctx.globals()
    if name in g:
        g[name] = value
        return value
    extra = receiver.slot_names() if isinstance(receiver, Proto) else []
    raise unknown_name(name, extra + ctx.candidates(), "cannot assign to unknown name")


def super_send(receiver: Any, selector: str, args: tuple[Any, ...]) -> Any:
    """``super selector``: look the method up in the receiver's parents only."""
    from batos.image.proto import selector_to_name
    name = selector_to_name(selector)
    if isinstance(receiver, Proto):
        for parent in receiver.parents():
            found = parent.lookup(name)
            if found is not None:
                value = found[1]
                if type(value) is Method:
                    return value.function(receiver, *args)
                if not args:
                    return value
    raise MessageNotUnderstood(receiver, selector, args)


# --- arithmetic fallbacks (the int fast path is inlined by the compiler) ------------------------

def _num(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    return (ta is float or ta is int) and (tb is float or tb is int)


def op_add(a: Any, b: Any) -> Any:
    return a + b if _num(a, b) else send(a, "+", (b,))


def op_sub(a: Any, b: Any) -> Any:
    return a - b if _num(a, b) else send(a, "-", (b,))


def op_mul(a: Any, b: Any) -> Any:
    return a * b if _num(a, b) else send(a, "*", (b,))


def op_lt(a: Any, b: Any) -> Any:
    return a < b if _num(a, b) else send(a, "<", (b,))


def op_gt(a: Any, b: Any) -> Any:
    return a > b if _num(a, b) else send(a, ">", (b,))


def op_le(a: Any, b: Any) -> Any:
    return a <= b if _num(a, b) else send(a, "<=", (b,))


def op_ge(a: Any, b: Any) -> Any:
    return a >= b if _num(a, b) else send(a, ">=", (b,))


def op_eq(a: Any, b: Any) -> Any:
    return a == b if _num(a, b) else send(a, "=", (b,))


def op_ne(a: Any, b: Any) -> Any:
    return a != b if _num(a, b) else send(a, "~=", (b,))


# --- control-structure support --------------------------------------------------------------------

class NonBooleanReceiver(BatosError):
    """An inlined conditional or loop got a receiver that is not a boolean."""


def must_be_boolean(value: Any, selector: str) -> Any:
    """Raised when an inlined ``ifTrue:``/``and:``/``whileTrue:`` meets a non-boolean."""
    from batos.lang.printing import print_string
    raise NonBooleanReceiver(f"{print_string(value)} is not a boolean: #{selector} needs "
                             "true or false")


def loop_count(value: Any) -> int:
    """The repeat count of an inlined ``timesRepeat:``."""
    if type(value) is int:
        return value
    from batos.lang.printing import print_string
    raise NonBooleanReceiver(f"{print_string(value)} is not an integer: #timesRepeat: needs one")


def literal_array(items: tuple[Any, ...]) -> list[Any]:
    """A fresh Array (Python list) from a literal array's frozen items."""
    return [literal_array(x) if type(x) is tuple else x for x in items]


def define_method(receiver: Any, selector: str, source: str) -> Any:
    """``receiver >> pattern [ body ]``: install a BST method; answers the selector."""
    from batos.lang.values import Symbol
    if not isinstance(receiver, Proto):
        from batos.lang.printing import print_string
        raise BSTRuntimeError(f"cannot define #{selector} on {print_string(receiver)}: "
                              "methods are defined on prototypes")
    from batos.guardian.capability import require_human
    require_human(f"define methods (#{selector})")
    receiver.define(selector, source, language="bst")
    from batos.lang.contracts import warn_if_broken
    warn_if_broken(receiver, selector)  # installed anyway, like a red test
    return Symbol(selector)


HELPERS: dict[str, Any] = {
    "_send": send, "_nlr": NonLocalReturn, "_Home": Home, "_mname": method_name,
    "_massign": method_assign, "_super": super_send, "_add": op_add, "_sub": op_sub,
    "_mul": op_mul, "_lt": op_lt, "_gt": op_gt, "_le": op_le, "_ge": op_ge, "_eq": op_eq,
    "_ne": op_ne, "_nonbool": must_be_boolean, "_times": loop_count, "_arr": literal_array,
    "_define": define_method, "_wrap": wrap_error,
}
