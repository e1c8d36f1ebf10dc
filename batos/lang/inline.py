"""Inlining of control-structure sends whose arguments are literal blocks.

Like the Smalltalk-80 compilers, ``ifTrue:``/``ifFalse:`` (and their two-armed forms),
``and:``/``or:``, ``whileTrue:``/``whileFalse:``/``whileTrue``/``whileFalse``/``repeat``,
``to:do:``/``to:by:do:``, ``timesRepeat:`` and ``ifNil:``/``ifNotNil:`` (and their
two-armed forms) become Python ``if``/``while``/``for`` statements. A conditional
whose receiver is not a boolean falls back to a real send with real blocks (so a
prototype can answer ``ifTrue:``); loops need booleans and numbers.
"""
from __future__ import annotations

from typing import Any

from batos.lang import nodes as n
from batos.lang.scope import Atom, Scope

CONDITIONALS = {"ifTrue:": (True,), "ifFalse:": (False,), "ifTrue:ifFalse:": (True, False),
                "ifFalse:ifTrue:": (False, True)}
LOGICAL = {"and:": True, "or:": False}
WHILES = {"whileTrue:": True, "whileFalse:": False, "whileTrue": True, "whileFalse": False,
          "repeat": None}
NILS = {"ifNil:": ("nil",), "ifNotNil:": ("notnil",), "ifNil:ifNotNil:": ("nil", "notnil"),
        "ifNotNil:ifNil:": ("notnil", "nil")}


def _block(node: n.Node, nargs: int | tuple[int, ...] = 0) -> bool:
    allowed = (nargs,) if isinstance(nargs, int) else nargs
    return isinstance(node, n.Block) and len(node.params) in allowed


def inlinable(node: n.Send) -> bool:
    """Whether ``node`` is a control structure the compiler inlines."""
    sel, args, rcv = node.selector, node.args, node.receiver
    if sel in CONDITIONALS or sel in LOGICAL or sel == "timesRepeat:":
        return all(_block(a) for a in args)
    if sel in WHILES:
        return _block(rcv) and all(_block(a) for a in args)
    if sel == "to:do:":
        return _block(args[1], 1)
    if sel == "to:by:do:":
        return (_block(args[2], 1) and isinstance(args[1], n.Literal)
                and type(args[1].value) in (int, float) and args[1].value != 0)
    if sel in NILS:
        return all(_block(a, 0 if kind == "nil" else (0, 1))
                   for a, kind in zip(args, NILS[sel]))
    return False


def captures(block: n.Block) -> bool:
    """Whether a real block nested in ``block`` uses one of its parameters or temporaries
    (then a loop must give each iteration fresh variables, so it calls a real function)."""
    own = set(block.params) | set(block.temps)
    if not own:
        return False

    def uses(node: n.Node) -> bool:
        if isinstance(node, n.Variable) and node.name in own:
            return True
        if isinstance(node, n.Assign) and node.name in own:
            return True
        return any(uses(c) for c in n.children(node))

    def walk(node: n.Node) -> bool:
        if isinstance(node, n.Block) and uses(node):
            return True
        return any(walk(c) for c in n.children(node))

    return any(walk(s) for s in block.body)


class InlineMixin:
    """The inlining half of :class:`batos.lang.compiler.Compiler`."""

    def try_inline(self: Any, node: n.Send, target: str | None) -> "Atom | None":
        if not inlinable(node):
            return None
        sel = node.selector
        if sel in CONDITIONALS:
            return self.inline_conditional(node, target)
        if sel in LOGICAL:
            return self.inline_logical(node, target)
        if sel in WHILES:
            return self.inline_while(node, target)
        if sel in ("to:do:", "to:by:do:"):
            return self.inline_to_do(node, target)
        if sel == "timesRepeat:":
            return self.inline_times_repeat(node, target)
        return self.inline_nil(node, target)

    # -- helpers ----------------------------------------------------------------------------
    def inline_block(self: Any, block: n.Block, target: str | None,
                     binds: tuple[str, ...] = (), preset: dict[str, str] | None = None) -> None:
        """Compile ``block``'s body in place; its value goes to ``target``. Parameters are
        bound to ``binds`` (copied) or named by ``preset`` (already assigned)."""
        outer = self.scope
        scope = Scope(outer, self.func)
        scope.vars.update(preset or {})
        scope.params.update(block.params)
        for name, value in zip(block.params, binds):
            py = self.fresh(name)
            scope.vars[name] = py
            self.emit(f"{py} = {value}", block)
        self.scope = scope
        try:
            self.declare(block.temps, scope)
            self.statements(block.body, target, value=target is not None)
        finally:
            self.scope = outer

    def open_suite(self: Any, header: str, node: n.Node) -> int:
        self.emit(header, node)
        self.indent += 1
        return len(self.lines)

    def fallback(self: Any, node: n.Send, rcv: str, target: str) -> None:
        """The non-boolean path of an inlined conditional: a real send with real blocks
        (one level deep; deeper, a non-boolean is an error)."""
        if self.fallback_depth:
            self.emit(f"{target} = _nonbool({rcv}, {node.selector!r})", node)
            return
        self.fallback_depth += 1
        try:
            args = [self.expr(a).text for a in node.args]
        finally:
            self.fallback_depth -= 1
        self.emit(f"{target} = _send({rcv}, {node.selector!r}, "
                  f"({''.join(a + ', ' for a in args)}))", node)

    def receiver_atom(self: Any, node: n.Send) -> str:
        """The receiver as a Python name (literals are copied: ``3 is True`` warns)."""
        atom = self.expr(node.receiver)
        if not atom.text.isidentifier():
            t = self.temp()
            self.emit(f"{t} = {atom.text}")
            return t
        return atom.text

    # -- the forms ----------------------------------------------------------------------------
    def inline_conditional(self: Any, node: n.Send, target: str | None) -> "Atom":
        c = self.receiver_atom(node)
        t = target or self.temp()
        arms = dict(zip(CONDITIONALS[node.selector], node.args))
        for i, flag in enumerate((True, False)):
            mark = self.open_suite(f"{'if' if i == 0 else 'elif'} {c} is {flag}:", node)
            if flag in arms:
                self.inline_block(arms[flag], t)
            else:
                self.emit(f"{t} = None")
            self.suite_end(mark)
        mark = self.open_suite("else:", node)
        self.fallback(node, c, t)
        self.suite_end(mark)
        return Atom(t, target is not None)

    def inline_logical(self: Any, node: n.Send, target: str | None) -> "Atom":
        is_and = LOGICAL[node.selector]
        c = self.receiver_atom(node)
        t = target or self.temp()
        mark = self.open_suite(f"if {c} is {is_and}:", node)
        self.inline_block(node.args[0], t)
        self.suite_end(mark)
        mark = self.open_suite(f"elif {c} is {not is_and}:", node)
        self.emit(f"{t} = {not is_and}")
        self.suite_end(mark)
        mark = self.open_suite("else:", node)
        self.fallback(node, c, t)
        self.suite_end(mark)
        return Atom(t, target is not None)

    def inline_while(self: Any, node: n.Send, target: str | None) -> "Atom":
        want = WHILES[node.selector]
        cond_block = node.receiver
        mark = self.open_suite("while True:", node)
        if want is None:  # repeat
            self.inline_block(cond_block, None)
        else:
            c = self.temp()
            self.inline_block(cond_block, c)
            inner = self.open_suite(f"if {c} is not {want}:", node)
            inner2 = self.open_suite(f"if {c} is {not want}:", node)
            self.emit("break")
            self.suite_end(inner2)
            self.emit(f"_nonbool({c}, {node.selector!r})", node)
            self.suite_end(inner)
            if node.args:
                self.loop_body(node.args[0], ())
        self.suite_end(mark)
        t = target or self.temp()
        self.emit(f"{t} = None")
        return Atom(t, target is not None)

    def loop_body(self: Any, block: n.Block, binds: tuple[str, ...]) -> None:
        """A loop body: inlined, or called as a real block when closures capture its
        variables (each iteration then gets fresh ones)."""
        if captures(block):
            name = self.block_function(block)
            self.emit(f"{name}({', '.join(binds)})", block)
        else:
            self.inline_block(block, None, binds)

    def inline_to_do(self: Any, node: n.Send, target: str | None) -> "Atom":
        atoms = self.operands([node.receiver, node.args[0]])
        start, stop = atoms[0].text, atoms[1].text
        block = node.args[-1]
        assert isinstance(block, n.Block)
        if node.selector == "to:by:do:":
            step_node = node.args[1]
            assert isinstance(step_node, n.Literal)
            step = step_node.value
        else:
            step = 1
        inline = not captures(block)
        i = self.fresh(block.params[0]) if inline else self.temp()
        if _int_text(start) and _int_text(stop) and type(step) is int:
            end = f"{stop} + 1" if step > 0 else f"{stop} - 1"
            header = f"for {i} in range({start}, {end}{'' if step == 1 else f', {step}'}):"
        else:
            header = f"for {i} in _interval({start}, {stop}, {step!r}):"
        mark = self.open_suite(header, node)
        if inline:
            self.inline_block(block, None, preset={block.params[0]: i})
        else:
            self.loop_body(block, (i,))
        self.suite_end(mark)
        # to:do: answers the receiver
        t = target or self.temp()
        self.emit(f"{t} = {start}")
        return Atom(t, target is not None)

    def inline_times_repeat(self: Any, node: n.Send, target: str | None) -> "Atom":
        c = self.receiver_atom(node)
        mark = self.open_suite(f"for _ in range(_times({c})):", node)
        self.loop_body(node.args[0], ())
        self.suite_end(mark)
        t = target or self.temp()
        self.emit(f"{t} = {c}")
        return Atom(t, target is not None)

    def inline_nil(self: Any, node: n.Send, target: str | None) -> "Atom":
        c = self.temp()
        self.emit(f"{c} = {self.receiver_atom(node)}")
        t = target or self.temp()
        arms = dict(zip(NILS[node.selector], node.args))
        mark = self.open_suite(f"if {c} is None:", node)
        if "nil" in arms:
            self.inline_block(arms["nil"], t)
        else:
            self.emit(f"{t} = None")
        self.suite_end(mark)
        mark = self.open_suite("else:", node)
        if "notnil" in arms:
            block = arms["notnil"]
            assert isinstance(block, n.Block)
            self.inline_block(block, t, (c,) if block.params else ())
        else:
            self.emit(f"{t} = {c}")
        self.suite_end(mark)
        return Atom(t, target is not None)


def _int_text(text: str) -> bool:
    return text.lstrip("(-").rstrip(")").isdigit()


def interval(start: Any, stop: Any, step: Any) -> Any:
    """The values of an inlined ``to:do:`` loop: a range for integers, else by sends."""
    if type(start) is int and type(stop) is int and type(step) is int:
        return range(start, stop + 1 if step > 0 else stop - 1, step)
    return _interval_sends(start, stop, step)


def _interval_sends(start: Any, stop: Any, step: Any) -> Any:
    from batos.lang.runtime import op_add, op_ge, op_le
    cmp = op_le if step > 0 else op_ge
    i = start
    while cmp(i, stop) is True:
        yield i
        i = op_add(i, step)
