"""The guardian's rule catalogue and the allow-lists the rules consult.

Every finding carries one of these rule ids; ``RULES`` maps id -> one-line title.
Kept free of heavy imports: this module is loaded whenever the guardian is.
"""
from __future__ import annotations

import re

RULES: dict[str, str] = {
    # shape
    "G001": "source must parse as Python",
    "G101": "exactly one top-level def (a docstring may precede it)",
    "G102": "the first parameter must be self, and self is never rebound",
    "G103": "decorators are forbidden",
    "G104": "default values must be immutable literals (they run at definition time "
            "and are shared by every call)",
    "G105": "class creation of any kind is forbidden",
    "G106": "global and nonlocal are forbidden",
    "G107": "methods may not be generators or coroutines",
    "G108": "handlers must not swallow the guardian's limits",
    "G109": "except* (exception groups) is forbidden",
    # imports
    "G110": "imports only inside the method",
    "G111": "imports only from the allow-list",
    "G112": "from-imports only of public names",
    # security
    "G201": "forbidden builtin (eval, exec, open, __import__, ...)",
    "G202": "type() may only be asked, never called with three arguments or its answer called",
    "G203": "getattr/setattr/delattr/hasattr need a literal, public name",
    "G204": "attributes starting with _ are private (only self._p_changed)",
    "G205": "dunder names are forbidden, strings included",
    "G206": "frames, code objects, globals and MRO walks are off limits",
    "G207": "str.format attribute access, computed format strings, format reached by name",
    "G208": "ZODB internals (transaction, _p_jar, _p_oid, _slots)",
    "G210": "obfuscated names (chr/ord arithmetic, fromhex, codecs)",
    "G211": "identifier spelled with compatibility characters (NFKC)",
    # covenant
    "G301": "Persistence Covenant: set self._p_changed = True after mutating self",
    "G302": "covenant repaired by appending self._p_changed = True",
    "G303": "self._p_changed may only be set to True",
    # reach
    "G401": "assign only to attributes/items of self or local values",
    "G402": "allowed modules only through their public names",
    # resources
    "G501": "static resource bomb (huge power, repetition or allocation)",
    "G502": "loop that can never end",
}

AUDIT_RULES: list[str] = sorted(RULES)

#: modules a method may import, exactly the issue's allow-list
ALLOWED_MODULES: frozenset[str] = frozenset({
    "math", "statistics", "datetime", "json", "re", "itertools", "functools",
    "collections", "string", "textwrap", "decimal", "fractions", "operator",
    "heapq", "bisect", "random",
})

#: public names withheld from the module proxies (class factories, shared
#: mutable state, code generation or attribute walks by name)
WITHHELD: dict[str, frozenset[str]] = {
    "collections": frozenset({"namedtuple"}),
    "functools": frozenset({"update_wrapper", "wraps", "WRAPPER_ASSIGNMENTS",
                            "WRAPPER_UPDATES", "singledispatch",
                            "singledispatchmethod", "cached_property",
                            "partialmethod", "total_ordering"}),
    "string": frozenset({"Formatter"}),
    "decimal": frozenset({"getcontext", "setcontext", "localcontext", "Context",
                          "DefaultContext", "BasicContext", "ExtendedContext",
                          "HAVE_THREADS", "HAVE_CONTEXTVAR"}),
    "random": frozenset({"SystemRandom"}),
}

#: builtins no method may name at all
FORBIDDEN_BUILTINS: frozenset[str] = frozenset({
    "eval", "exec", "compile", "__import__", "open", "input", "breakpoint",
    "globals", "locals", "vars", "memoryview", "dir", "help", "exit", "quit",
    "copyright", "credits", "license", "super", "object", "classmethod",
    "staticmethod", "property", "__build_class__", "__loader__", "__spec__",
    "__builtins__", "BaseException", "KeyboardInterrupt", "SystemExit",
    "GeneratorExit", "aiter", "anext",
})

NAME_FUNCS: frozenset[str] = frozenset({"getattr", "setattr", "delattr", "hasattr"})

#: attribute names a method may spell as syntax (on a literal receiver, checked) but
#: never reach by name (getattr, hasattr, attrgetter, methodcaller): the format
#: mini-language walks attributes of its arguments
DYNAMIC_FORBIDDEN: frozenset[str] = frozenset({"format", "format_map", "vformat"})

#: attributes that reach frames, code, globals, the MRO or interpreter internals
FORBIDDEN_ATTRS: frozenset[str] = frozenset({
    "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace",
    "f_lasti", "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code",
    "cr_await", "cr_origin", "ag_frame", "ag_code", "ag_await", "tb_frame",
    "tb_next", "tb_lasti", "co_code", "co_consts", "co_names", "co_varnames",
    "func_globals", "func_code", "func_closure", "cell_contents", "mro",
    "im_func", "im_self", "im_class", "with_traceback",
})

#: ZODB and transaction internals
ZODB_NAMES: frozenset[str] = frozenset({
    "transaction", "transaction_manager", "_p_jar", "_p_oid", "_p_serial",
    "_p_state", "_p_activate", "_p_deactivate", "_p_invalidate", "_slots",
    "ZODB", "persistent", "BTrees",
})

#: methods that mutate their receiver (lists, dicts, sets, deques, counters)
MUTATING_METHODS: frozenset[str] = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
    "setdefault", "add", "discard", "sort", "reverse", "appendleft",
    "extendleft", "popleft", "rotate", "difference_update",
    "intersection_update", "symmetric_difference_update", "subtract",
})

#: module functions that mutate their first argument
MUTATING_FUNCS: dict[str, frozenset[str]] = {
    "heapq": frozenset({"heappush", "heappop", "heapify", "heappushpop", "heapreplace"}),
    "bisect": frozenset({"insort", "insort_left", "insort_right"}),
    "random": frozenset({"shuffle"}),
    "operator": frozenset({"setitem", "delitem", "iadd", "iconcat", "ior", "iand",
                           "ixor", "isub"}),
}

DUNDER_RE = re.compile(r"__[A-Za-z0-9]\w*__")
FIELD_ATTR_RE = re.compile(r"\.([^.\[\]!:]*)")

SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"
