"""The one safe one-line printString that every view of image values uses.

The REPL's values and tables, the inspector, the ``--dry-run`` change report and the
mission brief all show a value as one short line. It lives in the image layer, the
lowest that can own it: the printString itself belongs to the language above, reached
through the image's language hooks (:mod:`batos.image.language`), and the escaping to
the guardian below (:func:`batos.guardian.hygiene.printable`), so nothing here imports
upward and every layer from image up can use it.
"""
from __future__ import annotations

from typing import Any

from batos.guardian.hygiene import printable
from batos.image import language

__all__ = ["safe_print_string", "one_line"]


def safe_print_string(value: Any) -> str:
    """``value``'s printString for a view that must never fail: else its ``repr``, else
    ``<unprintable: Type>``."""
    try:
        return language.print_string(value)
    except Exception:  # noqa: BLE001 - a view shows broken objects too
        try:
            return repr(value)
        except Exception:  # noqa: BLE001
            return f"<unprintable: {type(value).__name__}>"


def one_line(value: Any, width: int | None = 60) -> str:
    """:func:`safe_print_string` on one line: whitespace folded, control characters and
    escapes shown visibly, cut to ``width`` characters with ``…`` (None: not cut)."""
    text = printable(" ".join(safe_print_string(value).split()), newlines=False)
    return text if width is None or len(text) <= width else text[: max(width - 1, 0)] + "…"
