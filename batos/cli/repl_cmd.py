"""``batos repl``: the interactive REPL (or, with stdin not a TTY, the pipe mode)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import AdoptOpt, CreateOpt, ImageOpt, PersonaOpt, ReadOnlyOpt, handle_errors


def register(app: typer.Typer) -> None:
    """Add the ``repl`` command to the batos app."""

    @app.command("repl")
    @handle_errors
    def repl(
        image_arg: Annotated[Optional[Path], typer.Argument(
            metavar="[IMAGE]", help="image file (same as --image)")] = None,
        image: ImageOpt = None,
        read_only: ReadOnlyOpt = False,
        no_color: Annotated[bool, typer.Option("--no-color", help="no colours (also $NO_COLOR)")] = False,
        vi: Annotated[bool, typer.Option("--vi", help="vi editing keys (default: Emacs)")] = False,
        verbose: Annotated[bool, typer.Option(
            "--verbose", "-v", help="say which config, history and image files are used")] = False,
        persona: PersonaOpt = None,
        create: CreateOpt = False, adopt: AdoptOpt = False,
    ) -> None:
        """Talk to the image: each statement is one transaction.

        With stdin not a terminal, evaluates each statement and prints one line per
        statement (its printString or ERROR: message); exit 1 if any failed. A statement
        may span lines while a bracket, string or comment is open; statements separated
        by '.' on one line are one unit, printing the last value.

        A statement stuck in C past its hard deadline (twice the time limit) ends the
        REPL's process with nothing committed: the REPL restarts on the same image
        (pipe mode: prints ERROR and exits 1). BATOS_SUPERVISE=0: no supervisor.
        """
        from batos.errors import UsageError
        if image_arg is not None and image is not None and image_arg != image:
            raise UsageError(f"two images given: {image_arg} and --image {image}")
        import sys
        from batos.repl.app import run_repl
        from batos.repl.supervisor import supervised  # restarts after a hard deadline
        code = supervised(lambda: run_repl(
            image or image_arg, read_only=read_only, no_color=no_color, vi=vi,
            verbose=verbose, persona=persona, create=create, adopt=adopt,
            named_new=image_arg is not None), interactive=sys.stdin.isatty())
        raise typer.Exit(code)
