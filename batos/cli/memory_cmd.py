"""``batos ingest PATH...`` and ``batos search 'query'``: the image's knowledge catalog.

Thin: files are found and read here, indexed by :mod:`batos.mind.catalog` in one
transaction (note ``ingest N files``), and results are printed as a rich table or
JSON. Exit codes: 1 user error (a missing path), 3 image unavailable.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import (ImageOpt, JsonOpt, ReadOnlyOpt, console, emit_json,
                              handle_errors, open_cli_image)

GlobOpt = Annotated[Optional[str], typer.Option(
    "--glob", help="only files whose name (or path under a directory) matches, e.g. '*.md'")]
KOpt = Annotated[int, typer.Option("--k", "-k", min=1, help="how many results")]
LevelOpt = Annotated[Optional[str], typer.Option(
    "--level", help="only 'chunk's or only document 'summary's (default: both)")]


def _require_catalog(im: Any) -> Any:
    from batos.errors import BatosError
    from batos.mind.catalog import catalog_of
    cat = catalog_of(im)
    if cat is not None:
        cat.check()
    if cat is None:
        raise BatosError(f"image {im.path} has no catalog yet; open it once without "
                         "--read-only to awaken it")
    return cat


@handle_errors
def ingest_cmd(paths: Annotated[List[Path], typer.Argument(
                   help="files and directories (walked) of text, markdown or code")],
               glob: GlobOpt = None, image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Index files into the image's catalog, in one transaction."""
    from batos.mind.catalog import find_files, ingest_files
    files = find_files(paths, glob)
    with open_cli_image(image) as im:
        cat = _require_catalog(im)
        with _progress(len(files), quiet=as_json) as advance:
            report = im.execute(lambda: ingest_files(cat, files, progress=advance),
                                note=f"ingest {len(files)} files", timeout=None)
    if as_json:
        emit_json({"ok": True, **report})
        return
    typer.echo(f"ingested {_n(report['files'], 'file')} ({_n(report['chunks'], 'chunk')}); "
               f"the catalog holds {_n(report['documents'], 'document')}, "
               f"{_n(report['catalog_chunks'], 'chunk')}")
    _say_skipped(report["skipped"])


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _say_skipped(skipped: list[dict[str, str]], show: int = 20) -> None:
    """On stderr: each file that was not ingested and why (the first ``show``)."""
    from batos.guardian.hygiene import printable
    if not skipped:
        return
    typer.echo(f"skipped {_n(len(skipped), 'file')}:", err=True)
    for item in skipped[:show]:
        typer.echo(printable(f"  {item['path']}: {item['reason']}", newlines=False), err=True)
    if len(skipped) > show:
        typer.echo(f"  ... and {len(skipped) - show} more (--json lists them all)", err=True)


@handle_errors
def search_cmd(query: Annotated[str, typer.Argument(help="natural language; any word matches")],
               k: KOpt = 5, level: LevelOpt = None, image: ImageOpt = None,
               as_json: JsonOpt = False, read_only: ReadOnlyOpt = False) -> None:
    """Search the image's catalog (BM25; a chunk matches any word of the query)."""
    from batos.render.catalog import render_results
    with open_cli_image(image, read_only=read_only) as im:
        results = _require_catalog(im).search(query, k, level=level)
    if as_json:
        emit_json({"query": query, "k": k, "results": results})
    else:
        console().print(render_results(results, query))


class _progress:
    """A progress bar on stderr (nothing when quiet or for a single file)."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.quiet = quiet or total < 2
        self._bar: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return lambda n=1: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        self._bar = Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(),
                             console=console(stderr=True), transient=True)
        self._bar.__enter__()
        task = self._bar.add_task("ingest", total=self.total)
        return lambda n=1: self._bar.advance(task, n)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``search`` to ``app``."""
    app.command("ingest")(ingest_cmd)
    app.command("search")(search_cmd)
