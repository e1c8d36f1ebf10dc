"""``batos log``: the generation log kept in the image, and its real deletion."""
from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import ImageOpt, JsonOpt, ReadOnlyOpt, emit_json, handle_errors, open_cli_image

log_app = typer.Typer(help="Every generation (prompt, output, verdict, timings) kept in the image.",
                      invoke_without_command=True)


@log_app.callback(invoke_without_command=True)
@handle_errors
def log_list(ctx: typer.Context, image: ImageOpt = None, as_json: JsonOpt = False,
             read_only: ReadOnlyOpt = False,
             limit: Annotated[int, typer.Option("--limit", "-n")] = 50,
             full: Annotated[bool, typer.Option("--full", help="include prompts and outputs")] = False,
             ) -> None:
    """List generations, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from batos.llm import genlog
    with open_cli_image(image, read_only=read_only) as im:
        rows = genlog.entries(im, limit)
        if as_json:
            emit_json([{"id": i, "kind": type(r).__name__,
                        **(r.to_json(full=full) if isinstance(r, genlog.GenerationRecord)
                           else r.to_json())} for i, r in rows])
            return
        if not rows:
            typer.echo("no generations logged yet")
        for i, rec in rows:
            typer.echo(genlog.record_line(i, rec))
            if full and isinstance(rec, genlog.GenerationRecord):
                typer.echo(rec.code)


@log_app.command("rm")
@handle_errors
def log_rm(ids: Annotated[Optional[list[int]], typer.Argument(help="record ids")] = None,
           all_: Annotated[bool, typer.Option("--all", help="delete every record")] = False,
           image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Delete records for real: remove them, then pack so old revisions leave the file."""
    from batos.errors import UsageError
    from batos.llm import genlog
    if not ids and not all_:
        raise UsageError("give record ids or --all")
    with open_cli_image(image) as im:
        n = genlog.delete(im, None if all_ else ids)
        im.commit(f"log rm {'--all' if all_ else ' '.join(map(str, ids or []))}")
        im.pack(0)
    if as_json:
        emit_json({"deleted": n, "packed": True})
    else:
        typer.echo(f"deleted {n} record(s); image packed")


def register(app: typer.Typer) -> None:
    app.add_typer(log_app, name="log")
