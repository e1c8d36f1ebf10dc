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
    "--image", "-i", help="image file, zeo://HOST:PORT of a `batos serve`, or "
                          "postgresql://USER@HOST:PORT/DB (RelStorage) "
                          "(default: $BATOS_IMAGE or ./live_image.fs)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]
NoSaveOpt = Annotated[bool, typer.Option("--no-save", help="run, then roll everything back")]
ReadOnlyOpt = Annotated[bool, typer.Option(
    "--read-only", help="open the image read-only (works while another process holds it)")]
PersonaOpt = Annotated[Optional[str], typer.Option(
    "--persona", help="persona that writes missing methods (BRICK, ROBIN, BABS, ALFRED; "
                      "default: $BATOS_PERSONA, else the image's)")]

CandidatesOpt = Annotated[Optional[int], typer.Option(
    "--candidates", min=1, max=16,
    help="methods a miss decodes together and chooses from (Tree-of-Thought; 1: single-shot; "
         "default: $BATOS_CANDIDATES, else 3)")]

F = TypeVar("F", bound=Callable[..., Any])


def console(stderr: bool = False, no_color: bool = False):
    """A rich Console honouring NO_COLOR / --no-color and non-TTY output."""
    from rich.console import Console
    stream = sys.stderr if stderr else sys.stdout
    color = not (no_color or os.environ.get("NO_COLOR")) and stream.isatty()
    return Console(file=stream, color_system="auto" if color else None,
                   force_terminal=color, highlight=color, soft_wrap=not stream.isatty())


CreateOpt = Annotated[bool, typer.Option(
    "--create", help="create a new image at --image when there is none (else: exit 3)")]
AdoptOpt = Annotated[bool, typer.Option(
    "--adopt", help="turn a ZODB file of another application into a batos image")]


def image_path_policy(path: Optional[Path], *, create: bool = False,
                      named_new: bool = False) -> Path:
    """The image path a command opens, after batos's one creation policy.

    An existing file is opened (``NotAnImageError`` for anything but a FileStorage).
    A missing one is created only where the user asked for a new image: the default
    ``./live_image.fs`` (no ``--image``, no ``$BATOS_IMAGE``), ``named_new`` (``batos repl
    NEW.fs``) in an existing directory, or ``create`` (``--create``, parents included).
    Otherwise :class:`ImageError` (exit 3) and nothing is created: a typo in a path must
    not start a new world.
    """
    from batos.errors import ImageError
    from batos.image.storage import check_image_file, default_image_path
    from batos.image.storage import shared_address
    given = path is not None or bool(os.environ.get("BATOS_IMAGE"))
    target = Path(path) if path is not None else default_image_path()
    if shared_address(target) is not None:  # zeo:// or postgresql://: no file here
        return target
    if check_image_file(target) or target.exists():  # an image, or an empty file to fill
        return target
    if create or not given:
        return target
    parent = target.parent if str(target.parent) else Path(".")
    if named_new and parent.is_dir():
        return target
    if not parent.is_dir():
        raise ImageError(f"no image at {target} (directory {parent} does not exist); nothing "
                         "was created. Check the path, or add --create to start a new image "
                         "there (directories included)")
    raise ImageError(f"no image at {target}; nothing was created. Check the path, or start a "
                     f"new image there with --create or `batos repl {target}`")


def open_cli_image(path: Optional[Path], read_only: bool = False, *, create: bool = False,
                   adopt: bool = False, named_new: bool = False):
    """Open the image for a command (the default path resolved, :func:`image_path_policy`
    applied; ``adopt`` lets a foreign ZODB file become an image)."""
    import batos.lang  # noqa: F401  (installs BST as the image's language)
    from batos.image.image import open_image
    from batos.image.storage import default_image_path
    target = (Path(path) if path is not None else default_image_path()) if read_only \
        else image_path_policy(path, create=create, named_new=named_new)
    if read_only:
        quiet_stale_index()
    return open_image(target, read_only=read_only, adopt=adopt)


def _not_stale_index(record: Any) -> bool:
    return not str(record.msg).startswith("Ignoring index for")


def quiet_stale_index() -> None:
    """ZODB rebuilds a stale ``.index`` in memory and says "Ignoring index for ..." on
    stderr; a read-only look (another process writes the image) need not hear it."""
    import logging
    logger = logging.getLogger("ZODB.FileStorage")
    if _not_stale_index not in logger.filters:
        logger.addFilter(_not_stale_index)


_CONFINE_ARMED = False


def arm_confinement() -> None:
    """Called by the console-script entry only: the process that runs statements gets
    confined (batos.guardian.confine); in-process callers (tests, CliRunner) never do."""
    global _CONFINE_ARMED
    _CONFINE_ARMED = True


def confine_statements(image: Any, *, rw: Any = (), prompt: Any = None,
                       say: Optional[Callable[[str], Any]] = None) -> Any:
    """Confine this process before its first statement (seccomp exec filter, Landlock),
    when armed by the entry point and not disabled by ``BATOS_CONFINE=off``."""
    if not _CONFINE_ARMED:
        return None
    from batos.guardian.confine import confine_cli
    return confine_cli(image, rw=rw, prompt=prompt, say=say)


def emit_json(data: Any) -> None:
    from batos.guardian.hygiene import printable_json  # C1/bidi as \u escapes: same JSON
    text = json.dumps(data, indent=2, default=_json_default, ensure_ascii=False)
    sys.stdout.write(printable_json(text) + "\n")


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
        from batos.guardian.hygiene import printable
        sys.stderr.write(f"error: {printable(error_text(exc))}\n")
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
