"""The BST compiler: AST → Python source → code objects (cached by source text).

Each BST expression is flattened into one Python statement per send, so every
generated line maps to the BST line and column of its send (``Unit.positions``).
Temporaries and arguments become Python locals (closure cells when blocks share
them); blocks become nested ``def``s wrapped in ``Block``. Like real Smalltalk
compilers, ``ifTrue:``-family, ``and:``/``or:``, ``whileTrue:``-family, ``to:do:``,
``to:by:do:``, ``timesRepeat:``, ``repeat`` and ``ifNil:``-family with literal block
arguments are inlined, and ``+ - * < > <= >= = ~=`` take a fast path on ``int``s.
Everything else goes through the one send path, :func:`batos.lang.primitives.send`.
"""
from __future__ import annotations

import itertools
import linecache
import weakref
from collections import OrderedDict
from typing import Any, Callable

from batos.errors import MethodDefinitionError
from batos.lang import nodes as n
from batos.lang.block import Block
from batos.lang.parser import parse, parse_method
from batos.lang.runtime import HELPERS, UNITS, Unit
from batos.lang.inline import InlineMixin, interval
from batos.lang.scope import Atom, PyFunc, Scope

_SERIAL = itertools.count(1)

FAST_OPS = {"+": ("+", "_add"), "-": ("-", "_sub"), "*": ("*", "_mul"), "<": ("<", "_lt"),
            ">": (">", "_gt"), "<=": ("<=", "_le"), ">=": (">=", "_ge"), "=": ("==", "_eq"),
            "~=": ("!=", "_ne")}


class Compiler(InlineMixin):
    """Generates the Python source of one unit (a script or a method)."""

    def __init__(self, source: str, filename: str, method: bool) -> None:
        self.source = source
        self.filename = filename
        self.method = method
        self.lines: list[Any] = []     # str, or a PyFunc placeholder for its nonlocal line
        self.positions: list[tuple[int, int]] = []
        self.indent = 0
        self.cur = (1, 1)
        self.consts: dict[str, Any] = {}
        self.used: set[str] = set()
        self.blocks = itertools.count(1)
        self.fallback_depth = 0
        self.func = PyFunc(True)
        self.scope = Scope(None, self.func)

    # -- emitting ------------------------------------------------------------------------
    def emit(self, text: str, node: Any = None) -> None:
        self.lines.append("    " * self.indent + text)
        self.positions.append((node.line, node.column) if node is not None else self.cur)

    def suite_end(self, mark: int) -> None:
        """Close an indented suite: Python needs at least one statement in it."""
        if len(self.lines) == mark:
            self.emit("pass")
        self.indent -= 1

    def temp(self) -> str:
        return f"_t{next(self.func.temps)}"

    def fresh(self, name: str) -> str:
        base = "v_" + (name if name.isascii() else "u" + name.encode("utf-8").hex())
        py = base
        k = 1
        while py in self.used:
            k += 1
            py = f"{base}_{k}"
        self.used.add(py)
        return py

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def literal(self, value: Any) -> str:
        t = type(value)
        if value is None or t is bool or t is str:
            return repr(value)
        if t is int:
            return f"({value})" if value < 0 else repr(value)
        if t is float and value == value and value not in (float("inf"), float("-inf")):
            return f"({value!r})"
        return self.const(value)

    def render(self) -> str:
        out = []
        for line in self.lines:
            if isinstance(line, tuple):
                indent, func = line
                out.append(indent + (f"nonlocal {', '.join(sorted(func.nonlocals))}"
                                     if func.nonlocals else "pass"))
            else:
                out.append(line)
        return "\n".join(out) + "\n"

    # -- units ---------------------------------------------------------------------------------
    def declare(self, names: list[str], scope: Scope) -> None:
        for name in names:
            py = self.fresh(name)
            scope.vars[name] = py
            self.emit(f"{py} = None")

    def home_prologue(self, body: list[n.Node]) -> bool:
        needs_home = has_block_return(body)
        if needs_home:
            self.emit("_hm = _Home()")
        return needs_home

    def home_epilogue(self, needs_home: bool, wrap: bool) -> None:
        if needs_home:
            self.emit("except _nlr as _e:")
            self.emit("    if _e.home is not _hm: raise")
            self.emit("    return _e.value")
        if wrap:
            self.emit("except Exception as _e:")
            self.emit("    raise _wrap(_e) from None")

    def compile_script(self, seq: n.Sequence) -> None:
        self.cur = (seq.line, seq.column)
        self.emit("def _main(_ctx):")
        self.indent += 1
        self.emit("_self = None")
        self.declare(seq.temps, self.scope)
        needs_home = self.home_prologue(seq.statements)
        if needs_home:
            self.emit("try:")
            self.indent += 1
        mark = len(self.lines)
        result = self.statements(seq.statements)
        if result is not None:
            self.emit(f"return {result.text}")
        if needs_home:
            self.suite_end(mark)
            self.home_epilogue(needs_home, wrap=False)
        self.indent -= 1

    def compile_method(self, node: n.MethodNode) -> None:
        self.cur = (node.line, node.column)
        params = []
        for p in node.params:
            py = self.fresh(p)
            self.scope.vars[p] = py
            self.scope.params.add(p)
            params.append(py)
        self.emit(f"def _method(_self{''.join(', ' + p for p in params)}):")
        self.indent += 1
        needs_home = self.home_prologue(node.body)
        self.declare(node.temps, self.scope)
        self.emit("try:")
        self.indent += 1
        mark = len(self.lines)
        result = self.statements(node.body, value=False)
        if result is None and not (node.body and isinstance(node.body[-1], n.Return)):
            self.emit("return _self")
        self.suite_end(mark)
        self.home_epilogue(needs_home, wrap=True)
        self.indent -= 1

    # -- statements -------------------------------------------------------------------------------
    def statements(self, stmts: list[n.Node], target: str | None = None,
                   value: bool = True) -> Atom | None:
        """Compile a statement list; the last one's value goes to ``target`` (or is
        returned as an Atom when ``value``). None after a final ``^``."""
        if not stmts:
            if target is not None:
                self.emit(f"{target} = None")
                return Atom(target, True)
            return Atom("None") if value else None
        for stmt in stmts[:-1]:
            self.statement(stmt)
        last = stmts[-1]
        if isinstance(last, n.Return):
            self.statement(last)
            return None
        if not value and target is None:
            self.statement(last)
            return None
        return self.expr(last, target)

    def statement(self, stmt: n.Node) -> None:
        if isinstance(stmt, n.Return):
            atom = self.expr(stmt.value)
            self.cur = (stmt.line, stmt.column)
            if self.func.is_home:
                self.emit(f"return {atom.text}", stmt)
            else:
                self.emit(f"raise _nlr({atom.text}, _hm)", stmt)
        else:
            self.expr(stmt)

    # -- expressions -----------------------------------------------------------------------------
    def assign_to(self, target: str | None, atom: Atom) -> Atom:
        if target is None or target == atom.text:
            return atom
        self.emit(f"{target} = {atom.text}")
        return Atom(target, True)

    def expr(self, node: n.Node, target: str | None = None) -> Atom:
        self.cur = (node.line, node.column)
        if isinstance(node, n.Literal):
            return self.assign_to(target, Atom(self.literal(node.value)))
        if isinstance(node, n.Variable):
            return self.assign_to(target, self.variable(node))
        if isinstance(node, n.Send):
            return self.send(node, target)
        if isinstance(node, n.Assign):
            return self.assign(node, target)
        if isinstance(node, n.Cascade):
            return self.cascade(node, target)
        if isinstance(node, n.Block):
            t = target or self.temp()
            name = self.block_function(node)
            src = self.const(self.source[node.start:node.end])
            self.emit(f"{t} = _Block({name}, {len(node.params)}, {src})", node)
            return Atom(t, target is not None)
        if isinstance(node, n.LiteralArray):
            t = target or self.temp()
            self.emit(f"{t} = _arr({self.const(node.items)})", node)
            return Atom(t, target is not None)
        if isinstance(node, n.BraceArray):
            atoms = self.operands(node.items)
            t = target or self.temp()
            self.emit(f"{t} = [{', '.join(a.text for a in atoms)}]", node)
            return Atom(t, target is not None)
        if isinstance(node, n.MethodDef):
            # check the body now, in the script's coordinates, so errors stop the whole
            # script before anything runs (defining compiles the stored source again)
            Compiler(self.source, self.filename, method=True).compile_method(n.MethodNode(
                node.line, node.column, node.start, node.end, node.selector, node.params,
                node.temps, node.body))
            rcv = self.expr(node.receiver)
            t = target or self.temp()
            self.emit(f"{t} = _define({rcv.text}, {node.selector!r}, "
                      f"{self.const(node.source)})", node)
            return Atom(t, target is not None)
        raise TypeError(f"cannot compile {type(node).__name__}")  # pragma: no cover

    def variable(self, node: n.Variable) -> Atom:
        name = node.name
        if name in ("self", "super"):
            return Atom("_self")
        found = self.scope.resolve(name)
        if found is not None:
            return Atom(found[0], True)
        t = self.temp()
        near = self.near_locals(name)
        if self.method:
            self.emit(f"{t} = _mname(_self, {name!r}{near})", node)
        else:
            self.emit(f"{t} = _ctx.lookup({name!r}{near})", node)
        return Atom(t)

    def near_locals(self, name: str) -> str:
        """``, <const>`` naming visible temporaries close to ``name`` (for the
        did-you-mean of an unknown name), or nothing."""
        import difflib
        visible: set[str] = set()
        scope: Scope | None = self.scope
        while scope is not None:
            visible.update(scope.vars)
            scope = scope.parent
        close = difflib.get_close_matches(name, sorted(visible), n=3, cutoff=0.7)
        return f", {self.const(tuple(close))}" if close else ""

    def assign(self, node: n.Assign, target: str | None) -> Atom:
        if self.scope.is_param(node.name):
            from batos.errors import BSTSyntaxError
            raise BSTSyntaxError(f"cannot assign to argument '{node.name}'", source=self.source,
                                 line=node.line, column=node.column, filename=self.filename)
        found = self.scope.resolve(node.name)
        if found is not None:
            py, func = found
            if func is not self.func:
                self.func.nonlocals.add(py)
            atom = self.expr(node.value, py)
            return self.assign_to(target, Atom(py, True))
        atom = self.expr(node.value)
        if atom.var:  # keep the value, not the variable, as this expression's result
            t = self.temp()
            self.emit(f"{t} = {atom.text}")
            atom = Atom(t)
        if self.method:
            self.emit(f"_massign(_self, {node.name!r}, {atom.text})", node)
        else:
            self.emit(f"_ctx.assign({node.name!r}, {atom.text})", node)
        return self.assign_to(target, atom)

    def operands(self, nodes: list[n.Node]) -> list[Atom]:
        """Evaluate ``nodes`` left to right; a variable operand is copied when a later
        operand could change it."""
        atoms: list[Atom] = []
        for i, node in enumerate(nodes):
            atom = self.expr(node)
            if atom.var and any(is_complex(m) for m in nodes[i + 1:]):
                t = self.temp()
                self.emit(f"{t} = {atom.text}")
                atom = Atom(t)
            atoms.append(atom)
        return atoms

    def send(self, node: n.Send, target: str | None) -> Atom:
        if not (isinstance(node.receiver, n.Variable) and node.receiver.name == "super"):
            inlined = self.try_inline(node, target)
            if inlined is not None:
                return inlined
        atoms = self.operands([node.receiver, *node.args])
        rcv, args = atoms[0].text, [a.text for a in atoms[1:]]
        t = target or self.temp()
        sel = node.selector
        if isinstance(node.receiver, n.Variable) and node.receiver.name == "super":
            self.emit(f"{t} = _super(_self, {sel!r}, ({''.join(a + ', ' for a in args)}))", node)
        elif sel in FAST_OPS:
            op, fn = FAST_OPS[sel]
            a = args[0]
            check = (f"type({rcv}) is int" if _int_literal(a) else
                     f"type({a}) is int" if _int_literal(rcv) else
                     f"type({rcv}) is int is type({a})")
            self.emit(f"{t} = {rcv} {op} {a} if {check} else {fn}({rcv}, {a})", node)
        else:
            self.emit(f"{t} = _send({rcv}, {sel!r}, ({''.join(a + ', ' for a in args)}))", node)
        return Atom(t, target is not None)

    def cascade(self, node: n.Cascade, target: str | None) -> Atom:
        is_super = isinstance(node.receiver, n.Variable) and node.receiver.name == "super"
        rcv = self.expr(node.receiver)
        if rcv.var:
            t0 = self.temp()
            self.emit(f"{t0} = {rcv.text}")
            rcv = Atom(t0)
        result = Atom("None")
        for i, msg in enumerate(node.messages):
            last = i == len(node.messages) - 1
            chain = [msg, *msg.then]
            current = rcv.text
            for j, m in enumerate(chain):
                atoms = self.operands(m.args)
                args = "".join(a.text + ", " for a in atoms)
                t = target if (last and j == len(chain) - 1 and target) else self.temp()
                if is_super and j == 0:
                    self.emit(f"{t} = _super(_self, {m.selector!r}, ({args}))", m)
                else:
                    self.emit(f"{t} = _send({current}, {m.selector!r}, ({args}))", m)
                current = t
            result = Atom(current, target is not None and current == target)
        return result

    # -- blocks --------------------------------------------------------------------------
    def block_function(self, node: n.Block) -> str:
        """Emit ``def _bN(params)`` for a real (non-inlined) block; return its name."""
        name = f"_b{next(self.blocks)}"
        outer_scope, outer_func = self.scope, self.func
        func = PyFunc(False)
        scope = Scope(outer_scope, func)
        params = []
        for p in node.params:
            py = self.fresh(p)
            scope.vars[p] = py
            scope.params.add(p)
            params.append(py)
        self.emit(f"def {name}({', '.join(params)}):", node)
        self.indent += 1
        self.lines.append(("    " * self.indent, func))
        self.positions.append(self.cur)
        self.scope, self.func = scope, func
        try:
            self.declare(node.temps, scope)
            result = self.statements(node.body)
            if result is not None:
                self.emit(f"return {result.text}")
        finally:
            self.scope, self.func = outer_scope, outer_func
            self.indent -= 1
        return name


def _int_literal(text: str) -> bool:
    return text.lstrip("(-").rstrip(")").isdigit()


def is_complex(node: n.Node) -> bool:
    """Whether evaluating ``node`` could run code that changes a variable."""
    return not isinstance(node, (n.Literal, n.LiteralArray, n.Variable, n.Block))


def has_block_return(body: list[n.Node]) -> bool:
    """Whether a ``^`` occurs inside some block in ``body`` (needs a home token)."""
    def walk(node: n.Node, in_block: bool) -> bool:
        if isinstance(node, n.Return) and in_block:
            return True
        inner = in_block or isinstance(node, n.Block)
        return any(walk(c, inner) for c in n.children(node))
    return any(walk(s, False) for s in body)


# --- building code objects ---------------------------------------------------------------------

def build(comp: Compiler, entry: str) -> Callable[..., Any]:
    """Compile the generated source and return the entry function."""
    text = comp.render()
    pyname = f"<bst-{next(_SERIAL)}>"
    unit = Unit(comp.source, comp.filename, comp.positions, pyname)
    UNITS[pyname] = unit
    linecache.cache[pyname] = (len(text), None, text.splitlines(True), pyname)
    weakref.finalize(unit, linecache.cache.pop, pyname, None)  # tracebacks show the Python
    namespace: dict[str, Any] = dict(HELPERS)
    namespace.update(comp.consts)
    namespace["_Block"] = Block
    namespace["_interval"] = interval
    namespace["__unit__"] = unit
    namespace["__builtins__"] = {"type": type, "int": int, "range": range, "Exception": Exception}
    exec(compile(text, pyname, "exec"), namespace)
    fn = namespace[entry]
    fn.__bst_unit__ = unit
    return fn


_SCRIPTS: "OrderedDict[tuple[str, str], Callable[..., Any]]" = OrderedDict()
_CACHE_SIZE = 512


def compile_script(source: str, filename: str = "<input>") -> Callable[..., Any]:
    """``source`` as a function ``f(context)`` answering its last statement's value."""
    key = (source, filename)
    fn = _SCRIPTS.get(key)
    if fn is not None:
        _SCRIPTS.move_to_end(key)
        return fn
    comp = Compiler(source, filename, method=False)
    comp.compile_script(parse(source, filename))
    fn = build(comp, "_main")
    _SCRIPTS[key] = fn
    if len(_SCRIPTS) > _CACHE_SIZE:
        _SCRIPTS.popitem(last=False)
    return fn


def compile_method(source: str, *, selector: str) -> Callable[..., Any]:
    """A stored BST method (Pharo syntax: pattern, then body) as ``f(self, *args)``.

    A unary method's source may also be just its body (``^count + 1``).
    """
    key = (source, selector)
    fn = _METHODS.get(key)
    if fn is None:
        fn = _compile_method(source, selector)
        _METHODS[key] = fn
        if len(_METHODS) > _CACHE_SIZE:
            _METHODS.popitem(last=False)
    return fn


_METHODS: "OrderedDict[tuple[str, str], Callable[..., Any]]" = OrderedDict()


def _compile_method(source: str, selector: str) -> Callable[..., Any]:
    from batos.errors import BSTSyntaxError
    filename = f"<method #{selector}>"
    unary = selector[:1].isalpha() and ":" not in selector
    try:
        node: n.MethodNode | None = parse_method(source, filename)
    except BSTSyntaxError:
        if not unary:
            raise
        node = None
    if node is None or node.selector != selector:
        if not unary:
            raise MethodDefinitionError(
                f"the method source defines #{node.selector if node else '?'}, not #{selector}")
        body = parse(source, filename)  # a unary method given as just its body
        node = n.MethodNode(body.line, body.column, 0, len(source), selector, [],
                            body.temps, body.statements)
    comp = Compiler(source, filename, method=True)
    comp.compile_method(node)
    return build(comp, "_method")


def python_source(source: str, *, method: bool = False) -> str:
    """The generated Python for ``source`` (for debugging and tests)."""
    comp = Compiler(source, "<input>", method=method)
    if method:
        comp.compile_method(parse_method(source))
    else:
        comp.compile_script(parse(source))
    return comp.render()
