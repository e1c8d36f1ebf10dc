"""``batos repl``: the interactive REPL (or, with stdin not a TTY, the pipe mode)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Optional, TextIO

import typer
from typing_extensions import Annotated

from batos.cli.common import (AdoptOpt, CandidatesOpt, CreateOpt, ImageOpt, PersonaOpt,
                              ReadOnlyOpt, handle_errors)


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
        candidates: CandidatesOpt = None,
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
        from batos.repl.supervisor import supervised  # restarts after a hard deadline
        code = supervised(lambda: run_repl(
            image or image_arg, read_only=read_only, no_color=no_color, vi=vi,
            verbose=verbose, persona=persona, create=create, adopt=adopt,
            named_new=image_arg is not None, candidates=candidates), interactive=sys.stdin.isatty())
        raise typer.Exit(code)


def _banner(session: Any) -> str:
    from batos import __version__
    image = session.image
    mode = " read-only" if image.read_only else ""
    return (f"batos {__version__} · {image.path}{mode} · one transaction per statement · "
            ":help · Tab completes · Ctrl-D quits")


def run_repl(image_path: Path | None, *, read_only: bool = False, no_color: bool = False,
             vi: bool = False, verbose: bool = False, persona: str | None = None,
             stdin: TextIO | None = None, create: bool = False, adopt: bool = False,
             named_new: bool = False, candidates: int | None = None) -> int:
    """Open the image and run the REPL (interactive on a TTY, else pipe mode); the exit code."""
    from batos.cli.common import confine_statements, open_cli_image
    from batos.cli.common import console as make_console
    from batos.repl.app import build_prompt, interact
    from batos.repl.config import config_path, load_config
    from batos.repl.session import ReplSession, run_batch

    stdin = stdin or sys.stdin
    interactive = stdin.isatty()
    config = load_config()
    if vi:
        config.vi_mode = True
    err = make_console(stderr=True, no_color=no_color)
    if verbose:
        where = config_path()
        said = f"loaded {where}" if config.source else f"no file at {where}; defaults"
        err.print(f"config: {said}", markup=False, highlight=False)
    for warning in config.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)

    color = interactive and not no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    out = make_console(no_color=not color)
    image = open_cli_image(image_path, read_only=read_only, create=create, adopt=adopt,
                           named_new=named_new)
    try:
        session = ReplSession(image, out, config=config, interactive=interactive)
        if verbose:
            err.print(f"image: {image.path}{' (read-only)' if read_only else ''}",
                      markup=False, highlight=False)
        if candidates is not None:
            image.options["candidates"] = candidates
        if persona:
            image.options["persona"] = persona.upper()
            from batos.repl.commands import find
            command = find("persona")
            if command is not None and not command.builtin:  # the personas subsystem's own
                session.console = err if not interactive else out  # pipe: stdout stays clean
                ok = session.handle(f":persona {persona}")
                session.console = out
                if not ok:
                    return 1
        say = (lambda text: err.print(text, markup=False, highlight=False)) if verbose else None
        if not interactive:
            confine_statements(image, say=say)  # guardian.confine: no exec, files limited
            return run_batch(session, stdin)
        from batos.repl.completer import debug_log
        from batos.repl.history import make_history
        debug_log()
        history, described = make_history(config.history_file)
        if verbose or "in memory" in described:
            err.print(described, markup=False, highlight=False)
        prompt = build_prompt(session, history=history, color=color)
        confine_statements(image, rw=[str(getattr(history, "path", ""))], prompt=prompt,
                           say=say)  # $EDITOR keeps working through a helper forked before
        out.print(_banner(session), markup=False, highlight=False, style="dim")
        interact(session, prompt)
        problem = getattr(history, "problem", None)
        if problem:
            err.print(f"history: {problem}", markup=False, highlight=False)
        return 0
    finally:
        image.close()
