"""``batos log``: the generation log kept in the image, and its real deletion."""
from __future__ import annotations

from typing import Any, Optional

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
    from batos.mind import genlog
    with open_cli_image(image, read_only=read_only) as im:
        rows = genlog.entries(im, limit)
        if as_json:
            emit_json([{"id": i, "kind": type(r).__name__,
                        **(r.to_json(full=full) if isinstance(r, genlog.GenerationRecord)
                           else r.to_json())} for i, r in rows])
            return
        if not rows:
            typer.echo("no generations logged yet")
        from batos.guardian.hygiene import printable  # model text: escapes shown, not obeyed
        for i, rec in rows:
            typer.echo(printable(genlog.record_line(i, rec), newlines=False))
            if full:
                typer.echo(printable(full_detail(rec)))


def _section(title: str, text: str) -> list[str]:
    text = str(text or "").rstrip()
    if not text:
        return []
    return [f"      {title}:"] + [f"        {line}" for line in text.splitlines()]


def full_detail(rec: Any) -> str:
    """``--full``: under a record's line, why it failed (the guardian's or the run's
    reason), the prompt the model was given, its output and the code taken from it; for
    a final failure, each attempt's reason and code."""
    from batos.mind import genlog
    lines: list[str] = []
    if isinstance(rec, genlog.GenerationRecord):
        lines += _section("reason", rec.error)
        lines += _section("prompt", rec.prompt)
        if rec.output and rec.output.strip() != rec.code.strip():
            lines += _section("output", rec.output)
        lines += _section("code", rec.code)
    else:
        for number, attempt in enumerate(getattr(rec, "attempts", []), 1):
            attempt = attempt if isinstance(attempt, dict) else {"error": str(attempt)}
            lines += _section(f"attempt {number} reason", attempt.get("error", ""))
            lines += _section(f"attempt {number} code", attempt.get("code", ""))
    return "\n".join(lines)


@log_app.command("rm")
@handle_errors
def log_rm(ids: Annotated[Optional[list[int]], typer.Argument(help="record ids")] = None,
           all_: Annotated[bool, typer.Option("--all", help="delete every record")] = False,
           image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Delete records for real: remove them, then pack so old revisions leave the file."""
    from batos.errors import UsageError
    from batos.mind import genlog
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
