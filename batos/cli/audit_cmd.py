"""``batos audit FILE... [--json] [--repair]``: guardian verdicts for method files.

Each ``.py`` (or any text) file holds one method; ``.gguf`` files are audited
as LoRA adapters.  Exit status 1 if any file is rejected, else 0.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer


def audit_path(path: Path, repair: bool = False) -> "object":
    """Audit one file: a LoRA adapter (.gguf) or a method's Python source."""
    from batos.guardian import audit_adapter, audit_definition
    if path.suffix.lower() == ".gguf":
        return audit_adapter(path)
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        source = path.read_bytes().decode("utf-8", "replace")
    return audit_definition(source, repair=repair)  # exactly what define applies


def register(app: typer.Typer) -> None:
    """Add the ``audit`` command to ``app``."""

    @app.command("audit")
    def audit_command(
        files: List[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                           help="method source files (.py) or LoRA adapters (.gguf)"),
        as_json: bool = typer.Option(False, "--json", help="print a JSON list of reports"),
        repair: bool = typer.Option(False, "--repair",
                                    help="repair Persistence Covenant violations "
                                         "(the repaired source is printed, files are not changed)"),
    ) -> None:
        """Audit methods with the guardian; exit 1 if any file is rejected."""
        import json

        reports = [(f, audit_path(f, repair)) for f in files]
        rejected = any(not r.accepted for _, r in reports)
        if as_json:
            out = []
            for f, r in reports:
                d = r.to_json()
                d["file"] = str(f)
                out.append(d)
            typer.echo(json.dumps(out, indent=2))
        else:
            from rich.console import Console
            from rich.syntax import Syntax
            console = Console()
            for f, r in reports:
                console.print(f"[bold]{f}[/bold]")
                console.print(r)
                if r.verdict == "repaired":
                    console.print("repaired source:")
                    from batos.guardian.hygiene import printable
                    console.print(Syntax(printable(r.source), "python", theme="ansi_dark",
                                         background_color="default"))
        raise typer.Exit(1 if rejected else 0)
