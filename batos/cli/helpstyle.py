"""``--help`` pages in the ecosystem's usual style, whatever typer release is installed.

Recent typer releases print ``<bool>`` after every flag, ``<str>``/``<path>`` types
and ``{script}`` for a required argument in the usage line. :func:`apply` makes the
help read as typer and click have long rendered it: ``Usage: batos run [OPTIONS]
SCRIPT``, ``TEXT``/``PATH``/``INTEGER``/``FLOAT`` types, nothing after a flag. On a
typer without those hooks it changes nothing.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["apply", "classic_type"]

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN",
          "path": "PATH", "file": "FILE", "directory": "DIRECTORY", "range": "RANGE"}


def classic_type(label: str) -> str:
    """``<list[Path]>`` → ``PATH...``, ``<str>`` → ``TEXT``, ``<a|b>`` → ``[a|b]``."""
    inner = label[1:-1] if label.startswith("<") and label.endswith(">") else label
    suffix = ""
    listed = re.fullmatch(r"list\[(.*)\]", inner)
    if listed:
        inner, suffix = listed.group(1), "..."
    if "|" in inner:
        return f"[{inner}]{suffix}"
    return " ".join(_NAMES.get(word.lower(), word.upper()) for word in inner.split()) + suffix


def _option_type(self: Any, ctx: Any) -> str | None:
    if self.metavar is not None:
        return str(self.metavar)
    if getattr(self, "is_flag", False) or getattr(self, "count", False):
        return None                         # a flag takes no value: show no type
    shown = classic_type(str(self.display_type(ctx)))
    return shown + "..." if self.nargs != 1 and not shown.endswith("...") else shown


def _argument_type(self: Any, ctx: Any) -> str | None:
    if self.metavar is not None:
        return None                         # the metavar is the name column already
    return classic_type(str(self.display_type(ctx)))


def _argument_usage(self: Any) -> str:
    name = self.metavar if self.metavar is not None else str(self.name).upper()
    name = name if self.required else f"[{name}]"
    return name + "..." if self.nargs != 1 else name


def apply() -> bool:
    """Patch typer's help hooks (once); False when this typer has none to patch."""
    try:
        from typer.core import TyperArgument, TyperOption
    except ImportError:
        return False
    hooks = (hasattr(TyperOption, "display_type_rich") and hasattr(TyperOption, "display_type")
             and hasattr(TyperArgument, "_usage_display_name")
             and hasattr(TyperArgument, "display_type_rich"))
    if not hooks:
        return False
    TyperOption.display_type_rich = _option_type          # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type      # type: ignore[method-assign]
    TyperArgument._usage_display_name = _argument_usage   # type: ignore[method-assign]
    return True
