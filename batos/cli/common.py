"""Shared plumbing for the command modules: options, image opening, error mapping.

Every command is thin: it parses options, calls the core, prints, and maps a
:class:`BatosError` to its exit code (1 user error, 2 usage, 3 image unavailable).
Heavy modules (ZODB, rich, llama_cpp) are imported inside functions only.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import typer
from typing_extensions import Annotated

ImageOpt = Annotated[Optional[Path], typer.Option(
    "--image", "-i", help="image file (default: $BATOS_IMAGE or ./live_image.fs)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
NoSaveOpt = Annotated[bool, typer.Option("--no-save", help="run, then roll everything back")]
ReadOnlyOpt = Annotated[bool, typer.Option(
    "--read-only", help="open the image read-only (works while another process holds it)")]
PersonaOpt = Annotated[Optional[str], typer.Option(
    "--persona", help="persona that writes missing methods (BRICK, ROBIN, BABS, ALFRED)")]

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False, no_color: bool = False):
    """A rich Console honouring NO_COLOR / --no-color and non-TTY output."""
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    color = not (no_color or os.environ.get("NO_COLOR")) and stream.isatty()
    return Console(file=stream, color_system="auto" if color else None,
                   force_terminal=color, highlight=color, soft_wrap=not stream.isatty())


def open_cli_image(path: Optional[Path], read_only: bool = False):
    """Open the image for a command (resolving the default path)."""
    from batos.image.image import open_image
    return open_image(path, read_only=read_only)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_json"):
        return obj.to_json()
    return repr(obj)


def error_text(exc: BaseException) -> str:
    """The user-facing text of an error (file:line:col and a caret for source errors)."""
    from batos.errors import SourceError
    if isinstance(exc, SourceError):
        return exc.pretty()
    return str(exc)


def fail(exc: BaseException, *, as_json: bool = False) -> "typer.Exit":
    """Print ``exc`` on stderr (or as JSON on stdout) and return the Exit to raise."""
    from batos.errors import BatosError
    code = exc.exit_code if isinstance(exc, BatosError) else 1
    if as_json:
        emit_json({"ok": False, "error": type(exc).__name__, "message": error_text(exc)})
    else:
        sys.stderr.write(f"error: {error_text(exc)}\n")
    return typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Map BatosError to its exit code and Ctrl-C to 130, never a traceback."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from batos.errors import BatosError
        try:
            return fn(*args, **kwargs)
        except BatosError as exc:
            raise fail(exc, as_json=bool(kwargs.get("as_json"))) from None
        except KeyboardInterrupt:
            sys.stderr.write("interrupted; nothing was saved\n")
            raise typer.Exit(130) from None
    return wrapper  # type: ignore[return-value]
