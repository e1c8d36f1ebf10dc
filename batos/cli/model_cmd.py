"""``batos model list|info|use|pull``: the models that write methods.

Thin: every command calls :mod:`batos.llm.models` and prints; errors become a
message on stderr and the error's exit code. Nothing here imports llama_cpp.
"""
from __future__ import annotations

from typing import Any, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import JsonOpt, console, emit_json, handle_errors


def _human(n: Optional[int]) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def _params(n: Any) -> str:
    if not isinstance(n, int):
        return "-"
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M" if n >= 1e6 else str(n)


@handle_errors
def list_cmd(as_json: JsonOpt = False) -> None:
    """List the default model and the registered ones (* marks the one in use)."""
    from batos.llm.models import entries_as_dicts, list_models
    entries = list_models()
    if as_json:
        emit_json(entries_as_dicts(entries))
        return
    from rich.table import Table
    table = Table(box=None, pad_edge=False)
    table.add_column("")
    table.add_column("name", overflow="fold")
    table.add_column("size", no_wrap=True)
    table.add_column("path", overflow="fold")
    for e in entries:
        note = "" if e.exists else (" (assembled on first use)" if e.default else " (missing)")
        table.add_row("*" if e.current else "", e.name + (" (default)" if e.default else ""),
                      _human(e.size), e.path + note)
    console().print(table)


@handle_errors
def info_cmd(name: Annotated[Optional[str], typer.Argument(
                 help="model name or path (default: the model in use)")] = None,
             as_json: JsonOpt = False,
             no_hash: Annotated[bool, typer.Option(
                 "--no-hash", help="skip the sha256 (slow the first time on a big file)")
             ] = False) -> None:
    """Show a model's facts: architecture, parameters, quantization, context, sha256."""
    from batos.llm.models import model_info, resolve_model
    info = model_info(resolve_model(name), sha256=not no_hash)
    if as_json:
        emit_json(info)
        return
    shown = dict(info)
    shown["params"] = _params(info.get("params"))
    shown["size"] = _human(info.get("size"))
    shown["chat_template"] = "yes" if info.get("chat_template") else "no"
    width = max(len(k) for k in shown)
    out = console()
    for k, v in shown.items():
        out.print(f"{k:<{width}}  {v if v is not None else '-'}", markup=False)


@handle_errors
def use_cmd(target: Annotated[str, typer.Argument(
                help="a .gguf path or a registered name ('default' for the embedded model)")],
            as_json: JsonOpt = False) -> None:
    """Use this model from now on (BATOS_MODEL still overrides it)."""
    from batos.llm.models import use_model
    path = use_model(target)
    if as_json:
        emit_json({"ok": True, "model": target, "path": str(path)})
    else:
        typer.echo(f"using {path}")


@handle_errors
def pull_cmd(repo: Annotated[str, typer.Argument(help="Hugging Face repo, e.g. Qwen/...-GGUF")],
             filename: Annotated[str, typer.Argument(help="the .gguf file in that repo")],
             name: Annotated[Optional[str], typer.Option(help="register under this name")] = None,
             revision: Annotated[Optional[str], typer.Option(help="branch, tag or commit")] = None,
             use: Annotated[bool, typer.Option("--use", help="also use it from now on")] = False,
             as_json: JsonOpt = False) -> None:
    """Download a GGUF model from Hugging Face into the cache and register it."""
    from batos.llm.models import pull, use_model
    path = pull(repo, filename, revision=revision, name=name)
    if use:
        use_model(str(path) if name is None else name)
    if as_json:
        emit_json({"ok": True, "repo": repo, "file": filename, "path": str(path)})
    else:
        typer.echo(f"downloaded {path}" + (" (now in use)" if use else ""))


def register(app: typer.Typer) -> None:
    """Add the ``model`` sub-app to ``app``."""
    sub = typer.Typer(name="model", help="List, inspect, choose and download models.",
                      no_args_is_help=True)
    sub.command("list")(list_cmd)
    sub.command("info")(info_cmd)
    sub.command("use")(use_cmd)
    sub.command("pull")(pull_cmd)
    app.add_typer(sub, name="model")
