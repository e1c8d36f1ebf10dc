"""Selectors and the Python names they become (``at:put:`` ↔ ``at_put_``).

Below :mod:`batos.image.proto`, :mod:`batos.image.method` and :mod:`batos.image.message`,
which all name methods this way (``proto`` re-exports these).
"""
from __future__ import annotations


_NAME_CACHE: dict[str, str] = {}


def selector_to_name(selector: str) -> str:
    """``at:put:`` → ``at_put_``; unary and binary selectors are unchanged."""
    name = _NAME_CACHE.get(selector)
    if name is None:
        name = selector.replace(":", "_") if selector[:1].isalpha() or selector[:1] == "_" else selector
        if name[:1] != "_":  # Proto.send's fast path relies on never finding a private name
            _NAME_CACHE[selector] = name
    return name


def name_to_selector(name: str, nargs: int) -> str:
    """Best-effort inverse of :func:`selector_to_name` for display."""
    if nargs and name.endswith("_") and name[:1].isalpha():
        return name.replace("_", ":") if name.count("_") == nargs else name[:-1] + ":"
    return name


def is_parent_slot(name: str) -> bool:
    return name.endswith("*")


__all__ = ["selector_to_name", "name_to_selector", "is_parent_slot"]
