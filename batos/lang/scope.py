"""The compiler's operands and scopes (shared by :mod:`batos.lang.compiler` and the
inlined control structures of :mod:`batos.lang.inline`)."""
from __future__ import annotations

import itertools
from typing import NamedTuple


class Atom(NamedTuple):
    """A compiled operand: Python expression text; ``var`` if a later send may change it."""

    text: str
    var: bool = False


class PyFunc:
    """One generated Python function (home activation or real block)."""

    def __init__(self, is_home: bool) -> None:
        self.is_home = is_home
        self.nonlocals: set[str] = set()
        self.temps = itertools.count(1)


class Scope:
    """A BST scope: names → Python names; inlined blocks share their PyFunc."""

    def __init__(self, parent: "Scope | None", func: PyFunc) -> None:
        self.parent = parent
        self.func = func
        self.vars: dict[str, str] = {}
        self.params: set[str] = set()   # arguments: read-only, as in Smalltalk-80

    def is_param(self, name: str) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return name in scope.params
            scope = scope.parent
        return False

    def resolve(self, name: str) -> tuple[str, PyFunc] | None:
        scope: Scope | None = self
        while scope is not None:
            py = scope.vars.get(name)
            if py is not None:
                return py, scope.func
            scope = scope.parent
        return None


__all__ = ["Atom", "PyFunc", "Scope"]
