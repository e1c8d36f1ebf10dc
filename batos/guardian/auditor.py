"""``audit``: run every static rule over one method's source and build a report."""
from __future__ import annotations

import ast
import string
from typing import Any

from batos.guardian import covenant
from batos.guardian.covenant import flatten
from batos.guardian.bombs import (BOMB_WIDTH, Big, bomb_message, fold, huge_format,
                                 huge_percent, nested_spec, percent_stars)
from batos.guardian.report import AuditReport, make_finding
from batos.guardian.rules import (ALLOWED_MODULES, AUDIT_RULES, DUNDER_RE,
                                  DYNAMIC_FORBIDDEN, FIELD_ATTR_RE, FORBIDDEN_BUILTINS,
                                  NAME_FUNCS, SEVERITY_WARNING, ZODB_NAMES)
from batos.guardian.static import (_FORMAT_ATTRS, _NAME_SINK_ATTRS,
                                   _finding, _def_time_findings, _suspicious, bad_name,
                                   floor_findings, fold_str, nfkc_findings, norm,
                                   shape_findings, type_call)

VERSION = "1.0"
#: longer sources are rejected unread (a method is a page, not a program)
MAX_SOURCE = 100_000


class _Auditor(ast.NodeVisitor):
    """Walks the whole tree once; findings accumulate in ``self.findings``."""

    def __init__(self) -> None:
        self.findings: list[dict[str, Any]] = []
        self.modules: dict[str, str] = {}                 # local name -> module
        self.from_names: dict[str, tuple[str, str]] = {}  # local name -> (module, name)
        self.locals: set[str] = set()
        self.called: set[int] = set()                     # ids of Name nodes used as call.func
        self.reported_strings: set[int] = set()

    def add(self, rule: str, node: ast.AST | None, message: str, **kw: Any) -> None:
        self.findings.append(_finding(rule, node, message, **kw))

    # -- bookkeeping ---------------------------------------------------------
    def collect(self, by_type: dict[type, list[Any]]) -> None:
        """Local names and imports (flow-insensitive, whole function)."""
        func, local = self.func, self.locals
        for n in by_type.get(ast.Name, ()):
            if type(n.ctx) is not ast.Load:
                local.add(n.id)
        local.update(n.arg for n in by_type.get(ast.arg, ()))
        for n in by_type.get(ast.Import, ()):
            for a in n.names:
                if a.name in ALLOWED_MODULES:
                    self.modules[a.asname or a.name] = a.name
        for n in by_type.get(ast.ImportFrom, ()):
            if n.module in ALLOWED_MODULES:
                for a in n.names:
                    self.from_names[a.asname or a.name] = (n.module, a.name)
        for t in _NAMED_BINDERS:
            for n in by_type.get(t, ()):
                if n is not func and n.name:
                    local.add(n.name)
        for n in by_type.get(ast.Assign, ()):  # m = math: the alias reaches the module
            if type(n.value) is ast.Name and n.value.id in self.modules:
                for t in n.targets:
                    if type(t) is ast.Name:
                        self.modules[t.id] = self.modules[n.value.id]

    # -- one flat pass over every node ---------------------------------------------
    def run(self, tree: ast.Module, func: ast.FunctionDef) -> dict[type, list[Any]]:
        """Check every node once; returns the nodes grouped by type for the covenant."""
        self.func = func
        by_type: dict[type, list[Any]] = {}
        for n in flatten(tree):
            bucket = by_type.get(type(n))
            if bucket is None:
                by_type[type(n)] = [n]
            else:
                bucket.append(n)
        calls = by_type.get(ast.Call, ())
        self.called = {id(n.func) for n in calls}
        for holder in [tree, *by_type.get(ast.FunctionDef, ())]:  # docstrings are inert
            first = holder.body[0] if holder.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                self.reported_strings.add(id(first.value))
        self.collect(by_type)
        self._finally_walk(func.body, False, False)
        for t, fields in _IDENT_FIELDS_BY_TYPE.items():
            for node in by_type.get(t, ()):
                for fld in fields:
                    value = getattr(node, fld)
                    if value and "__" in value and (value.startswith("__")
                                                    or DUNDER_RE.search(value)):
                        self.add("G205", node, f"dunder name {value!r} is forbidden")
        for t in (ast.BinOp, ast.Call):
            for node in by_type.get(t, ()):
                msg = bomb_message(node)
                if msg:
                    self.add("G501", node, msg)
        for t, name in _DISPATCH.items():  # Call first: it marks strings it reported
            nodes = by_type.get(t)
            if nodes:
                handler = getattr(self, name)
                for node in nodes:
                    handler(node)
        return by_type

    def generic_visit(self, node: ast.AST) -> None:
        """Children are reached by the flat pass, not by recursion."""

    def _finally_walk(self, stmts: list[ast.stmt], in_finally: bool, loop_inside: bool) -> None:
        """G108: return anywhere in finally, break/continue aimed out of a finally."""
        for st in stmts:
            if in_finally and (isinstance(st, ast.Return) or not loop_inside
                               and isinstance(st, (ast.Break, ast.Continue))):
                self.add("G108", st, f"{type(st).__name__.lower()} inside finally "
                         "would swallow the guardian's limits")
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._finally_walk(st.body, False, False)
            elif isinstance(st, (ast.For, ast.AsyncFor, ast.While)):
                self._finally_walk(st.body, in_finally, in_finally)
                self._finally_walk(st.orelse, in_finally, loop_inside)
            elif isinstance(st, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                for block in (st.body, st.orelse, *[h.body for h in st.handlers]):
                    self._finally_walk(block, in_finally, loop_inside)
                self._finally_walk(st.finalbody, True, False)
            elif isinstance(st, ast.Match):
                for case in st.cases:
                    self._finally_walk(case.body, in_finally, loop_inside)
            elif isinstance(st, (ast.If, ast.With, ast.AsyncWith)):
                self._finally_walk(st.body, in_finally, loop_inside)
                self._finally_walk(getattr(st, "orelse", []), in_finally, loop_inside)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        text = v if isinstance(v, str) else v.decode("latin-1") if isinstance(v, bytes) else None
        if text is not None and id(node) not in self.reported_strings:
            t = norm(text)
            m = DUNDER_RE.search(t)
            if m:
                self.add("G205", node, f"dunder name {m.group()!r} inside a string")

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name in FORBIDDEN_BUILTINS:
            self.add("G201", node, f"use of {name} is forbidden")
        elif name in ZODB_NAMES:
            self.add("G208", node, f"{name!r} is a ZODB internal")
        elif name in self.from_names and self.from_names[name][1] in _NAME_SINK_ATTRS \
                and id(node) not in self.called:
            self.add("G203", node, f"{name} may only be called directly, with literal names")
        elif name in NAME_FUNCS and id(node) not in self.called and name not in self.locals:
            self.add("G203", node, f"{name} may only be called directly, "
                     "with a literal attribute name")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        base = node.value
        is_self = isinstance(base, ast.Name) and base.id == "self"
        if attr == "_p_changed" and is_self:
            pass
        elif DUNDER_RE.fullmatch(attr) or attr.startswith("__"):
            pass  # reported by the flat pass as G205
        elif attr in ZODB_NAMES:
            self.add("G208", node, f"{attr!r} is a ZODB internal")
        elif attr.startswith("_"):
            self.add("G204", node, f"private attribute {attr!r} is off limits "
                     "(only self._p_changed)")
        else:
            why = bad_name(attr)
            if why:
                self.add("G206", node, why)
        if attr in _NAME_SINK_ATTRS and id(node) not in self.called:
            self.add("G203", node, f"{attr} may only be called directly, with literal names")
        if attr in _FORMAT_ATTRS and not (isinstance(base, ast.Constant)
                                           and isinstance(base.value, str)):
            self.add("G207", node, f".{attr} may only be used on a literal format string "
                     "(use an f-string)")
        if isinstance(base, ast.Name) and base.id in self.modules:
            self._check_module_attr(node, self.modules[base.id], attr)

    def _check_module_attr(self, node: ast.AST, module: str, attr: str) -> None:
        from batos.guardian.sandbox import public_names
        if attr not in public_names(module):
            self.add("G402", node, f"{module}.{attr} is not a public name of {module}; "
                     "methods reach modules only through their documented API")

    # -- definitions ----------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is not self.func:
            self.findings.extend(_def_time_findings(node))

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.findings.extend(_def_time_findings(node))

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.add("G107", node, "methods may not define coroutines (async def)")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.add("G105", node, "class definitions are forbidden")

    def _generator(self, node: ast.AST) -> None:
        self.add("G107", node, "methods may not be generators or coroutines "
                 "(yield/await); return a list instead")

    visit_Yield = visit_YieldFrom = visit_Await = _generator

    def visit_Global(self, node: ast.AST) -> None:
        self.add("G106", node, "global and nonlocal are forbidden")

    visit_Nonlocal = visit_Global

    # -- imports ------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.name not in ALLOWED_MODULES:
                self.add("G111", node, f"import of {a.name!r} is not allowed "
                         f"(allowed: {', '.join(sorted(ALLOWED_MODULES))})")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        from batos.guardian.sandbox import public_names
        if node.level or node.module not in ALLOWED_MODULES:
            self.add("G111", node, f"import from {node.module or '.'!r} is not allowed")
        else:
            for a in node.names:
                if a.name == "*" or a.name not in public_names(node.module):
                    self.add("G112", node, f"{node.module}.{a.name} is not a public name "
                             "methods may import")

    # -- control flow that could swallow the limits ---------------------------------
    def visit_Try(self, node: ast.Try) -> None:
        for h in node.handlers:
            if h.type is None:
                self.add("G108", h, "a bare except would swallow the guardian's limits; "
                         "catch Exception instead")

    def visit_TryStar(self, node: ast.AST) -> None:
        self.add("G109", node, "except* (exception groups) is forbidden: a handler "
                 "for part of a group lets the rest of a limit breach be swallowed")

    def visit_While(self, node: ast.While) -> None:
        test = node.test
        if isinstance(test, ast.Constant) and test.value and not any(
                isinstance(n, (ast.Break, ast.Return, ast.Raise)) for n in ast.walk(node)):
            self.add("G502", node, "while loop with a constant condition and no "
                     "break/return/raise never ends")

    # -- calls ------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        sink = None
        if isinstance(f, ast.Name):
            if f.id in NAME_FUNCS and f.id not in self.locals:
                self._name_call(node, f.id)
            elif f.id == "type" and len(node.args) + len(node.keywords) > 1:
                self.add("G202", node, "three-argument type() creates classes and is forbidden")
            elif f.id == "format" and len(node.args) == 2:
                if _spec_bomb(node.args[1]):
                    self.add("G501", node, "format() to a huge width or precision")
            if f.id in self.from_names and self.from_names[f.id][1] in _NAME_SINK_ATTRS:
                sink = self.from_names[f.id][1]
        elif isinstance(f, ast.Attribute):
            if f.attr in ("format", "format_map") and isinstance(f.value, ast.Constant) \
                    and isinstance(f.value.value, str):
                self._format_fields(f.value)
                if f.attr == "format" and nested_spec(f.value.value) and _big_arg(node):
                    self.add("G501", node, "str.format with a huge width or precision "
                             "argument")
            if f.attr in _NAME_SINK_ATTRS:
                sink = f.attr
            if f.attr in ("send", "perform") and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) \
                    and norm(node.args[0].value).startswith("_"):
                self.add("G204", node, f"sending the private selector "
                         f"{node.args[0].value!r} is off limits")
        if type_call(f):
            self.add("G202", node, "calling what type() answers constructs objects or "
                     "classes; name the type instead")
        if sink:
            for a in node.args[:1] if sink == "methodcaller" else node.args:
                self._literal_name(node, a, f"operator.{sink}")
            if not node.args:
                self.add("G203", node, f"operator.{sink} needs literal names")
        self._obfuscation(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            why = bad_name(attr)
            if why:
                self.add("G206", node, f"class pattern reads attribute {attr!r}: {why}")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        for v in node.values:
            spec = getattr(v, "format_spec", None)
            if spec is not None and _spec_bomb(spec):
                self.add("G501", node, "f-string to a huge width or precision")

    def _loop_target(self, target: ast.AST, node: ast.AST) -> None:
        for n in ast.walk(target):
            if isinstance(n, (ast.Attribute, ast.Subscript)):
                self.add("G401", node, "loop, comprehension and with targets must be "
                         "plain names")
                return

    def visit_For(self, node: ast.For) -> None:
        self._loop_target(node.target, node if hasattr(node, "lineno") else node.target)

    visit_AsyncFor = visit_comprehension = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        if node.optional_vars is not None:
            self._loop_target(node.optional_vars, node.context_expr)

    def _name_call(self, node: ast.Call, fname: str) -> None:
        if len(node.args) < 2 or node.keywords and fname != "getattr":
            self.add("G203", node, f"{fname} needs an object and a literal name")
            return
        self._literal_name(node, node.args[1], fname)
        target, name = node.args[0], node.args[1]
        if isinstance(target, ast.Name) and target.id in self.modules \
                and isinstance(name, ast.Constant) and isinstance(name.value, str):
            self._check_module_attr(node, self.modules[target.id], name.value)
        if fname in ("setattr", "delattr"):
            self._assign_root(node.args[0], node, f"{fname} on")

    def _literal_name(self, call: ast.Call, arg: ast.AST, what: str) -> None:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            self.add("G203", call, f"{what} with a computed name is forbidden "
                     "(use a literal attribute name)")
            return
        for part in arg.value.split("."):
            why = bad_name(part)
            if why is None and norm(part) in DYNAMIC_FORBIDDEN:
                why = (f"{part!r} may not be reached by name: the format mini-language "
                       "walks attributes (use an f-string)")
                self.add("G207", call, f"{what}: {why}")
                self.reported_strings.add(id(arg))
                continue
            if why:
                self.reported_strings.add(id(arg))
                self.add("G203", call, f"{what}: {why}")

    def _format_fields(self, node: ast.Constant) -> None:
        fields: list[str] = []
        specs = [node.value]
        while specs and len(fields) < 1000:
            try:
                parsed = list(string.Formatter().parse(specs.pop()))
            except ValueError:
                continue
            for _, fld, spec, _ in parsed:
                if fld:
                    fields.append(fld)
                if spec:
                    if huge_format(spec):
                        self.add("G501", node, "format spec to a huge width or precision")
                    if "{" in spec:
                        specs.append(spec)  # nested fields: '{0:{1.attr}}'

        for fld in fields:
            for attr in FIELD_ATTR_RE.findall(fld):
                why = bad_name(attr)
                if why:
                    self.add("G207", node, f"format field {{{fld}}} reaches an attribute: {why}")

    def _obfuscation(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            return
        text = fold_str(node)
        if text is not None and len(text) >= 2:
            word = _suspicious(text)
            if word is not None:
                self.add("G210", node, f"a string is assembled at run time into "
                         f"{word[:40]!r} (obfuscated name)")

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, (ast.Add, ast.Mod, ast.Mult)):
            self._obfuscation(node)
        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, (str, bytes)):
            text = node.left.value
            text = text.decode("latin-1") if isinstance(text, bytes) else text
            if huge_percent(text) or percent_stars(text) and _big_arg(node):
                self.add("G501", node, "%-format to a huge width or precision")

    # -- assignments (reach) ------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        for t in node.targets:
            self._target(t, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            if isinstance(t, ast.Attribute) and t.attr == "_p_changed":
                self.add("G303", node, "self._p_changed may not be deleted")
            self._target(t, node)

    def _target(self, t: ast.AST, stmt: ast.stmt) -> None:
        if isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                self._target(e, stmt)
        elif isinstance(t, ast.Starred):
            self._target(t.value, stmt)
        elif isinstance(t, (ast.Attribute, ast.Subscript)):
            if isinstance(t, ast.Attribute) and t.attr == "_p_changed" \
                    and isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                value = getattr(stmt, "value", None)
                if not (isinstance(stmt, ast.Assign) and isinstance(value, ast.Constant)
                        and value.value is True):
                    self.add("G303", stmt, "self._p_changed may only be set to True")
            self._assign_root(t.value, stmt, "assignment to")

    def _assign_root(self, expr: ast.AST, stmt: ast.AST, what: str) -> None:
        root = expr
        while True:
            if isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            elif isinstance(root, ast.Call) and isinstance(root.func, ast.Attribute):
                root = root.func.value
            elif isinstance(root, ast.Call) and isinstance(root.func, ast.Name):
                root = root.func
                break
            else:
                break
        if isinstance(root, ast.Name):
            if root.id in self.modules or root.id in self.from_names:
                self.add("G401", stmt, f"{what} module {root.id!r}: methods may not "
                         "rebind anything in a module")
                return
            if root.id == "self" or root.id in self.locals:
                return
            self.add("G401", stmt, f"{what} {root.id!r}, which is neither self "
                     "nor a local value")
            return
        self.add("G401", stmt, f"{what} a computed object; methods may only change "
                 "self and local values")


_DISPATCH: dict[type, str] = {ast.Call: "visit_Call"}
_DISPATCH.update({
    getattr(ast, name[6:]): name for name in dir(_Auditor)
    if name.startswith("visit_") and isinstance(getattr(ast, name[6:], None), type)})
_NAMED_BINDERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ExceptHandler, ast.MatchAs,
                  ast.MatchStar)
_IDENT_FIELDS_BY_TYPE: dict[type, tuple[str, ...]] = {
    ast.Name: ("id",), ast.Attribute: ("attr",), ast.arg: ("arg",),
    ast.FunctionDef: ("name",), ast.AsyncFunctionDef: ("name",), ast.ClassDef: ("name",),
    ast.alias: ("name", "asname"), ast.keyword: ("arg",), ast.ImportFrom: ("module",),
    ast.ExceptHandler: ("name",), ast.MatchAs: ("name",), ast.MatchStar: ("name",)}


def _huge(v: object) -> bool:
    return isinstance(v, Big) or isinstance(v, int) and not isinstance(v, bool) \
        and abs(v) > BOMB_WIDTH


def _spec_bomb(spec: ast.AST) -> bool:
    """A format spec (literal, folded string or f-string spec) asking for a huge width."""
    if isinstance(spec, ast.JoinedStr):
        parts: list[str] = []
        for v in spec.values:
            if isinstance(v, ast.FormattedValue):
                if _spec_bomb(v.value):
                    return True
                folded = fold(v.value)
                if _huge(folded):
                    return True
                parts.append(str(folded) if isinstance(folded, (int, str)) else "")
            elif isinstance(v, ast.Constant):
                parts.append(str(v.value))
        return huge_format("".join(parts))
    text = fold_str(spec)
    return bool(text) and huge_format(text)  # type: ignore[arg-type]


def _big_arg(node: ast.AST) -> bool:
    """True if a visible constant argument is a huge number (``'%*d' % (10**10, x)``,
    ``'{:{}}'.format(x, 10**10)``)."""
    if isinstance(node, ast.BinOp):
        items = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
    elif isinstance(node, ast.Call):
        items = [*node.args, *[k.value for k in node.keywords]]
    else:
        return False
    return any(_huge(fold(i)) for i in items)


def _selector_name(selector: str) -> str | None:
    name = selector.replace(":", "_")
    return name if name.isidentifier() else None


def audit_source(source: str, *, selector: str | None = None, repair: bool = False,
                 version: str = VERSION) -> AuditReport:
    """Audit one method's source; never raises on bad source."""
    def done(verdict: str, findings: list[dict[str, Any]], text: str = source,
             original: str | None = None) -> AuditReport:
        return AuditReport(verdict=verdict, findings=findings, rules_checked=AUDIT_RULES,
                           source=text, guardian_version=version, selector=selector)
    if not isinstance(source, str):
        return done("rejected", [make_finding("G001", "source must be text")], "")
    if len(source) > MAX_SOURCE:
        return done("rejected", [make_finding(
            "G101", f"method source is {len(source):,} characters; the limit is "
            f"{MAX_SOURCE:,}", 1, 1)])
    try:
        tree = ast.parse(source, "<method>")
    except SyntaxError as exc:
        return done("rejected", [make_finding("G001", f"syntax error: {exc.msg}",
                                              exc.lineno or 0, exc.offset or 0)])
    except (ValueError, MemoryError, RecursionError) as exc:
        return done("rejected", [make_finding("G001", f"cannot parse: {exc}")])
    findings = shape_findings(tree) + nfkc_findings(source)
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    if func is None:
        return done("rejected", findings)
    if selector:
        expected = _selector_name(selector)
        if expected and expected != func.name:
            findings.append(_finding("G101", func, f"the def is named {func.name!r} but the "
                                     f"selector #{selector} needs {expected!r}"))
    a = _Auditor()
    try:
        by_type = a.run(tree, func)
        exits = covenant.analyse(func, a.modules, a.from_names, by_type)
    except RecursionError:
        return done("rejected", [make_finding("G001", "source nests too deeply to audit")])
    findings += a.findings
    seen = {(f["line"], f["col"]) for f in findings}
    findings += [f for f in floor_findings(tree) if (f["line"], f["col"]) not in seen]
    if not exits:
        return done("rejected" if findings else "accepted", _dedupe(findings))
    if not repair or findings:
        cols: dict[int, int] = {}
        for n in ast.walk(func):
            if isinstance(n, ast.stmt):
                cols[n.lineno] = min(cols.get(n.lineno, 10**6), n.col_offset + 1)
        for ex in exits:
            where = (f"returns at line {ex.node.lineno}" if ex.kind == "return"
                     else "ends")
            findings.append(make_finding(
                "G301", f"self is changed at line {ex.mutation_line} but the method {where} "
                "without self._p_changed = True", ex.mutation_line,
                cols.get(ex.mutation_line, 1)))
        return done("rejected", _dedupe(findings))
    fixed = covenant.repair_source(source, func, exits)
    if fixed is None or not audit_source(fixed, selector=selector).accepted:
        fixed = covenant.repair_tree(tree, func, exits)
    again = audit_source(fixed, selector=selector, version=version)
    if not again.accepted:
        return again
    warnings = [make_finding(
        "G302", "self._p_changed = True added " + (
            f"before the return at line {ex.node.lineno}" if ex.kind == "return"
            else "at the end") + f" (self changed at line {ex.mutation_line})",
        ex.mutation_line, 1, severity=SEVERITY_WARNING) for ex in exits]
    return done("repaired", warnings, fixed)


def definition_source(source: str) -> str:
    """The text ``define`` audits and stores: dedented, surrounding blank lines gone."""
    import textwrap
    return textwrap.dedent(source).strip("\n") + "\n"


def audit_definition(source: str, *, selector: str | None = None,
                     repair: bool = False) -> AuditReport:
    """The one audit a Python method definition passes, shared by ``define``
    (``Method.create``) and ``batos audit FILE``: the source is dedented as
    ``define`` stores it, then every static rule runs, including the floor
    ``compile_method`` enforces; with no selector the def's own name is used."""
    if not isinstance(source, str):
        return audit_source(source, selector=selector, repair=repair)
    return audit_source(definition_source(source), selector=selector, repair=repair)


def _dedupe(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for f in findings:
        key = (f["rule"], f["line"], f["col"], f["message"])
        if key not in seen:
            seen.add(key)
            out.append(f)
    return sorted(out, key=lambda f: (f["line"], f["col"]))
