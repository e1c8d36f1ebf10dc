"""The Persistence Covenant: a method that changes self must flag it afterwards.

``analyse`` runs a small flow analysis over the method body: the
state is the line of the latest unflagged mutation of self (0 when clean);
``self._p_changed = True`` clears it, every ``return`` and the fall-off end
must be clean.  ``repair`` inserts the flag where the analysis needs it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from batos.guardian.rules import MUTATING_FUNCS, MUTATING_METHODS

# flow state: None unreachable; 0 clean; n > 0 dirty since line n


@dataclass
class Exit:
    """A place where the method leaves with an unflagged mutation."""

    kind: str            # "return" or "end"
    node: ast.stmt       # the return, or the last statement of the body
    mutation_line: int
    value_mutates: bool = False


def _join(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _root(expr: ast.AST) -> tuple[ast.AST, int]:
    """Walk down attribute/subscript/method-call chains; return (root, hops)."""
    hops = 0
    while True:
        if isinstance(expr, (ast.Attribute, ast.Subscript)):
            expr, hops = expr.value, hops + 1
        elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            base = expr.func.value
            if expr.func.attr == "copy" or isinstance(base, ast.Name) and base.id == "self":
                return expr, hops  # a copy, or what a helper method returns: not a slot
            expr, hops = expr.func.value, hops + 1
        else:
            return expr, hops


def is_flag(stmt: ast.AST) -> bool:
    """True for ``self._p_changed = True``."""
    return (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and _is_flag_target(stmt.targets[0])
            and isinstance(stmt.value, ast.Constant) and stmt.value.value is True)


def _is_flag_target(t: ast.AST) -> bool:
    return (isinstance(t, ast.Attribute) and t.attr == "_p_changed"
            and isinstance(t.value, ast.Name) and t.value.id == "self")


_SKIP_FIELDS = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "name", "asname",
                          "module", "level", "kind", "conversion", "is_async",
                          "type_comment", "value_str"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def flatten(root: ast.AST) -> list[ast.AST]:
    """Every node under ``root`` (breadth first, without ctx/operator singletons)."""
    out = [root]
    AST = ast.AST
    fields_of = _CHILD_FIELDS
    for n in out:  # the list grows while it is walked
        t = type(n)
        fields = fields_of.get(t)
        if fields is None:
            fields = fields_of[t] = tuple(f for f in t._fields if f not in _SKIP_FIELDS)
        for name in fields:
            v = getattr(n, name, None)
            if type(v) is list:
                for x in v:
                    if isinstance(x, AST):
                        out.append(x)
            elif isinstance(v, AST):
                out.append(v)
    return out


def _span(node: ast.AST) -> tuple[int, int, int, int]:
    return (node.lineno, node.col_offset,  # type: ignore[attr-defined]
            node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]


_CONTAINER_TYPES = frozenset({"list", "dict", "set", "bytearray"})
_ASSIGNS = frozenset({ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete})
_SITE_TYPES = (ast.Attribute, ast.Call, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)
_BINDERS = (ast.Assign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor,
            ast.comprehension, ast.withitem)


@dataclass
class _Analysis:
    func: ast.FunctionDef
    modules: dict[str, str]                 # local name -> module
    from_funcs: dict[str, tuple[str, str]]  # local name -> (module, function)
    by_type: dict[type, list[Any]] = field(default_factory=dict)
    aliases: set[str] = field(default_factory=set)
    exits: list[Exit] = field(default_factory=list)
    loops: list[list[Any]] = field(default_factory=list)
    finally_clears: int = 0
    sites: list[tuple[tuple[int, int], tuple[int, int], int]] = field(default_factory=list)

    # -- what counts as self's state -------------------------------------
    def slot_value(self, expr: ast.AST, allow_self: bool = False) -> bool:
        root, hops = _root(expr)
        if isinstance(root, ast.Name):
            if root.id == "self":
                return hops >= 1 or allow_self
            return root.id in self.aliases
        return False

    def collect_aliases(self) -> None:
        """Names bound (anywhere) to values reached from self are aliases of slots."""
        pairs: list[tuple[ast.AST, ast.AST]] = []
        for node in (n for t in _BINDERS for n in self.by_type.get(t, ())):
            if isinstance(node, ast.Assign):
                pairs.extend((t, node.value) for t in node.targets)
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
                if node.value is not None:
                    pairs.append((node.target, node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                pairs.append((node.target, node.iter))
            elif node.optional_vars is not None:
                pairs.append((node.optional_vars, node.context_expr))
        changed = True
        while changed:
            changed = False
            for target, value in pairs:
                if self.slot_value(value):
                    for n in ast.walk(target):
                        if isinstance(n, ast.Name) and n.id not in self.aliases \
                                and n.id != "self":
                            self.aliases.add(n.id)
                            changed = True

    def collect_sites(self) -> None:
        """Positions of every mutation of self, found in one pass."""
        for n in (n for t in _SITE_TYPES for n in self.by_type.get(t, ())):
            if self._mutates(n):
                start, col, end, end_col = _span(n)
                self.sites.append(((start, col), (end, end_col), start))

    def _mutates(self, n: ast.AST) -> bool:
        t = type(n)
        if t is ast.Attribute:  # self.items.append, called now or passed on (map, ...)
            return n.attr in MUTATING_METHODS and self.slot_value(n.value)
        if t is not ast.Call and t not in _ASSIGNS:
            return False
        if t in _ASSIGNS:
            if isinstance(n, ast.AnnAssign) and n.value is None:
                return False
            targets = n.targets if isinstance(n, (ast.Assign, ast.Delete)) else [n.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, (ast.Attribute, ast.Subscript)) \
                            and not _is_flag_target(sub) \
                            and isinstance(sub.ctx, (ast.Store, ast.Del)) \
                            and self.slot_value(sub.value, allow_self=True):
                        return True
            return False
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Attribute) and f.attr in MUTATING_METHODS and n.args \
                    and isinstance(f.value, ast.Name) and f.value.id in _CONTAINER_TYPES \
                    and self.slot_value(n.args[0]):
                return True  # list.append(self.items, x)
            if n.args and self._mutating_func(f) and self.slot_value(n.args[0]):
                return True
            if isinstance(f, ast.Name) and f.id in ("setattr", "delattr") and n.args \
                    and self.slot_value(n.args[0], allow_self=True):
                return True
        return False

    def mutations(self, first: ast.AST | None, last: ast.AST | None = None) -> list[int]:
        """Lines of the mutations between the start of ``first`` and the end of ``last``."""
        if first is None or not self.sites:
            return []
        lo = _span(first)[:2]
        hi = _span(last or first)[2:]
        return [line for start, end, line in self.sites if start >= lo and end <= hi]

    def _mutating_func(self, f: ast.AST) -> bool:
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            mod = self.modules.get(f.value.id)
            return mod is not None and f.attr in MUTATING_FUNCS.get(mod, ())
        if isinstance(f, ast.Name) and f.id in self.from_funcs:
            mod, name = self.from_funcs[f.id]
            return name in MUTATING_FUNCS.get(mod, ())
        return False

    def _dirty(self, state: int | None, node: ast.AST | None,
               last: ast.AST | None = None) -> int | None:
        if state is None:
            return None
        lines = self.mutations(node, last)
        return max([state, *lines]) if lines else state

    # -- flow -----------------------------------------------------------
    def block(self, stmts: list[ast.stmt], state: int | None) -> int | None:
        for s in stmts:
            if state is None:
                return None
            state = self.stmt(s, state)
        return state

    def stmt(self, s: ast.stmt, state: int) -> int | None:
        if is_flag(s):
            return 0
        if isinstance(s, ast.Return):
            after = self._dirty(state, s.value)
            if after and not self.finally_clears:
                mutates = bool(self.mutations(s.value))
                self.exits.append(Exit("return", s, after, mutates))
            return None
        if isinstance(s, ast.Raise):
            return None
        if isinstance(s, ast.If):
            state = self._dirty(state, s.test)
            return _join(self.block(s.body, state), self.block(s.orelse, state))
        if isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
            head = s.iter if isinstance(s, (ast.For, ast.AsyncFor)) else s.test
            entry = self._dirty(state, head)
            breaks: list[int | None] = []
            for _ in range(2):
                self.loops.append([])
                out = self.block(s.body, entry)
                collected = self.loops.pop()
                conts = [c for c in collected if not isinstance(c, tuple)]
                breaks = [c[1] for c in collected if isinstance(c, tuple)]
                for c in conts:
                    out = _join(out, c)
                entry = _join(entry, out)
                entry = self._dirty(entry, head)
            done = self.block(s.orelse, entry)
            for b in breaks:
                done = _join(done, b)
            return done
        if isinstance(s, ast.Break):
            if self.loops:
                self.loops[-1].append(("break", state))
            return None
        if isinstance(s, ast.Continue):
            if self.loops:
                self.loops[-1].append(state)
            return None
        if isinstance(s, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            clears = any(is_flag(x) for x in s.finalbody)
            self.finally_clears += clears
            body = self.block(s.body, state)
            touched = self._dirty(state, s.body[0], s.body[-1])
            out = self.block(s.orelse, body)
            for h in s.handlers:
                out = _join(out, self.block(h.body, touched))
            self.finally_clears -= clears
            if s.finalbody:
                fin_in = _join(out, touched) if out is not None else None
                return self.block(s.finalbody, fin_in)
            return out
        if isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                state = self._dirty(state, item.context_expr)
            return self.block(s.body, state)
        if isinstance(s, ast.Match):
            state = self._dirty(state, s.subject)
            out: int | None = state
            for case in s.cases:
                out = _join(out, self.block(case.body, state))
            return out
        return self._dirty(state, s)


def analyse(func: ast.FunctionDef, modules: dict[str, str],
            from_funcs: dict[str, tuple[str, str]],
            by_type: dict[type, list[Any]] | None = None) -> list[Exit]:
    """The exits at which ``func`` leaves with an unflagged mutation of self."""
    if by_type is None:
        by_type = {}
        for n in flatten(func):
            by_type.setdefault(type(n), []).append(n)
    a = _Analysis(func, modules, from_funcs, by_type)
    a.collect_aliases()
    a.collect_sites()
    end = a.block(func.body, 0)
    if end:
        a.exits.append(Exit("end", func.body[-1], end))
    unique: dict[int, Exit] = {}  # loop bodies are analysed twice
    for ex in a.exits:
        seen = unique.get(id(ex.node))
        if seen is None or ex.mutation_line > seen.mutation_line:
            unique[id(ex.node)] = ex
    return list(unique.values())


FLAG = "self._p_changed = True"
RESULT = "_batos_result"


def repair_source(source: str, func: ast.FunctionDef, exits: list[Exit]) -> str | None:
    """Insert the flag where ``exits`` need it, editing lines; None if not line-safe."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edits: list[tuple[int, int, list[str]]] = []  # (start, end) 0-based line span
    for ex in exits:
        node = ex.node
        start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        prefix = lines[start][:node.col_offset]
        if prefix.strip():
            return None  # statement shares its line with other code
        indent = prefix
        if ex.kind == "end":
            if node.lineno == func.lineno:
                return None
            body_indent = lines[func.body[0].lineno - 1][:func.body[0].col_offset]
            if body_indent.strip():
                return None
            edits.append((end + 1, end + 1, [body_indent + FLAG + "\n"]))
        elif not ex.value_mutates:
            edits.append((start, start, [indent + FLAG + "\n"]))
        else:
            tail = lines[end][node.end_col_offset:]
            if tail.strip() and not tail.strip().startswith("#"):
                return None
            seg = ast.get_source_segment(source, node)
            if seg is None or not seg.startswith("return"):
                return None
            expr = seg[len("return"):].strip()
            new = [f"{indent}{RESULT} = {expr}\n",
                   f"{indent}{FLAG}\n", f"{indent}return {RESULT}\n"]
            edits.append((start, end + 1, new))
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:end] = new
    return "".join(lines)


class _Repairer(ast.NodeTransformer):
    def __init__(self, exits: list[Exit]) -> None:
        self.returns = {id(e.node): e for e in exits if e.kind == "return"}

    def visit_Return(self, node: ast.Return) -> object:
        ex = self.returns.get(id(node))
        if ex is None:
            return node
        flag = ast.parse(FLAG).body[0]
        if not ex.value_mutates:
            return [flag, node]
        keep = ast.Assign(targets=[ast.Name(RESULT, ast.Store())], value=node.value)
        return [keep, flag, ast.Return(ast.Name(RESULT, ast.Load()))]


def repair_tree(tree: ast.Module, func: ast.FunctionDef, exits: list[Exit]) -> str:
    """Insert the flag by rewriting the AST (comments are lost); returns new source."""
    _Repairer(exits).visit(func)
    if any(e.kind == "end" for e in exits):
        func.body.append(ast.parse(FLAG).body[0])
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
