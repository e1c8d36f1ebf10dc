"""``batos image info|history|undo|pack|verify|backup|upgrade``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import (ImageOpt, JsonOpt, ReadOnlyOpt, console, emit_json,
                              handle_errors, open_cli_image)

image_app = typer.Typer(help="Look after the image: info, history, undo, pack, verify, backup, "
                        "upgrade.",
                        no_args_is_help=True)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    from rich.table import Table
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*[str(c) for c in row])
    return table


@image_app.command("info")
@handle_errors
def info_cmd(image: ImageOpt = None, as_json: JsonOpt = False, read_only: ReadOnlyOpt = False) -> None:
    """Objects, size and recent transactions."""
    with open_cli_image(image, read_only=read_only) as im:
        data = im.info()
    from batos.guardian.confine import describe
    data["confine"] = describe()  # what statements run under (eval/send/run/repl)
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(f"image   {data['path']}{'  (read-only)' if data['read_only'] else ''}")
    out.print(f"size    {data['size_bytes']:,} bytes (+ {data['blob_bytes']:,} in blobs)")
    out.print(f"objects {data['objects']:,}")
    out.print(f"globals {', '.join(data['globals'])}")
    out.print(f"confine {data['confine']}", markup=False, highlight=False)
    out.print(_table("recent transactions", ["id", "when", "note"],
                     [[r["id"], r["when"], r["note"]] for r in data["recent"]]))


@image_app.command("history")
@handle_errors
def history_cmd(image: ImageOpt = None, limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
                as_json: JsonOpt = False, read_only: ReadOnlyOpt = False) -> None:
    """The transaction log, newest first (ids for `batos image undo`)."""
    from batos.image.history import packed_before
    with open_cli_image(image, read_only=read_only) as im:
        rows = im.history(limit)
        packed = packed_before(im)
    if as_json:
        emit_json(rows)
        return
    console().print(_table("history", ["id", "when", "note"],
                           [[r["id"], r["when"], r["note"]] for r in rows]))
    if packed is not None and len(rows) < limit:
        import time
        typer.echo(f"history before {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(packed))} "
                   "is gone: `batos image pack` removed it (it cannot be listed or undone)")


@image_app.command("undo")
@handle_errors
def undo_cmd(txn: Annotated[Optional[str], typer.Argument(
                 help="transaction id from `batos image history` (default: the latest)")] = None,
             image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Undo one transaction (as a new transaction); the latest one by default, like :undo."""
    from batos.image.history import latest_undoable
    with open_cli_image(image) as im:
        data = im.undo(txn or latest_undoable(im))
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"undone {data['undone']} ({data['note']})")


@image_app.command("pack")
@handle_errors
def pack_cmd(image: ImageOpt = None,
             days: Annotated[float, typer.Option("--days", help="keep this many days of history")] = 0.0,
             as_json: JsonOpt = False) -> None:
    """Drop old history and unreachable objects."""
    with open_cli_image(image) as im:
        data = im.pack(days)
    if as_json:
        emit_json(data)
    else:
        by = f" (by {data['packed_by']})" if data.get("packed_by") else ""
        typer.echo(f"packed: {data['before_bytes']:,} → {data['after_bytes']:,} bytes{by}")


@image_app.command("verify")
@handle_errors
def verify_cmd(image: ImageOpt = None, as_json: JsonOpt = False, read_only: ReadOnlyOpt = False) -> None:
    """Check the file with ZODB's fstest and fsrefs; exit 1 on problems."""
    with open_cli_image(image, read_only=read_only) as im:
        data = im.verify()
    if as_json:
        emit_json(data)
    elif data["ok"]:
        typer.echo(f"ok: {data['path']} passed {', '.join(data['checks'])}")
    else:
        for problem in data["problems"]:
            typer.echo(problem, err=True)
    if not data["ok"]:
        raise typer.Exit(1)


@image_app.command("upgrade")
@handle_errors
def upgrade_cmd(image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Rewrite module paths an older batos stored (classes, primitives) to today's, in one
    transaction with a note. Every writable open does this too; run again, it does nothing."""
    from batos.guardian.renames import FORMAT
    with open_cli_image(image) as im:
        report = im.upgraded
        path = str(im.path)
    data = {"path": path, "format": FORMAT, "upgraded": report is not None,
            "from_format": report.old_format if report else FORMAT,
            "records": report.records if report else 0,
            "classes": report.classes if report else {},
            "primitives": report.primitives if report else {}}
    if as_json:
        emit_json(data)
    elif report is None:
        typer.echo(f"ok: {path} is image format {FORMAT}; nothing to upgrade")
    else:
        typer.echo(f"upgraded: {path}: {report.note()}")
        for old, new in {**report.classes, **report.primitives}.items():
            typer.echo(f"  {old} → {new}")


@image_app.command("backup")
@handle_errors
def backup_cmd(dest: Annotated[Path, typer.Argument(help="backup directory (repozo repository)")],
               image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Back up with repozo (incremental after the first) plus the blobs."""
    with open_cli_image(image) as im:
        data = im.backup(dest)
    if as_json:
        emit_json(data)
    else:
        typer.echo(f"backed up to {data['dest']} ({len(data['files'])} files, "
                   f"{data['blobs_copied']} new blobs); restore: {data['restore']}")


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")


__all__ = ["register", "Optional"]
