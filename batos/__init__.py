"""batos: a Smalltalk-style live-object REPL over a persistent ZODB image.

Public API (contract)::

    import batos
    with batos.open_image("x.fs") as image:
        genesis = image.globals["genesis"]
        ...
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from batos import errors
from batos.errors import BatosError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from batos.image.image import Image
    from batos.image.proto import Proto


def open_image(path: Any = None, read_only: bool = False) -> "Image":
    """Open the image at ``path`` (default ``$BATOS_IMAGE`` or ``./live_image.fs``),
    creating and awakening it when missing."""
    import batos.lang  # noqa: F401  (installs BST as the image's language)
    from batos.image.image import open_image as _open
    return _open(path, read_only=read_only)


def __getattr__(name: str) -> Any:
    # Lazy: importing batos stays cheap (no ZODB until an image is opened).
    if name == "Image":
        from batos.image.image import Image
        return Image
    if name == "Proto":
        from batos.image.proto import Proto
        return Proto
    if name == "Method":
        from batos.image.method import Method
        return Method
    raise AttributeError(name)


__all__ = ["open_image", "Image", "Proto", "Method", "errors", "BatosError", "__version__"]
