"""Objects many tests start from."""
from __future__ import annotations

from typing import Any


def make_counter(image: Any, count: int = 3) -> Any:
    """``counter``, a genesis clone with ``count`` (3), committed."""
    counter = image.globals["genesis"].clone()
    image.globals["counter"] = counter
    counter.set_slot("count", count)
    image.commit("counter")
    return counter
