"""The core protocol of Python values, one module per type family.

Each module fills selector tables (``selector -> fn(receiver, *args)``) with the
:func:`prim` decorator; :mod:`batos.lang.primitives` chains them per Python type.
"""
from __future__ import annotations

from typing import Any, Callable

Table = dict[str, Callable[..., Any]]


def prim(table: Table, *selectors: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function in ``table`` under each selector."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for selector in selectors:
            table[selector] = fn
        return fn
    return register


__all__ = ["Table", "prim"]
