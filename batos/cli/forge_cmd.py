"""``batos forge dataset|train``: persona LoRA adapters from the image's verified work."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import ImageOpt, JsonOpt, console, emit_json, handle_errors

forge_app = typer.Typer(help="Forge persona LoRA adapters from the image's verified work.",
                        no_args_is_help=True)


def _require_extra() -> None:
    """Exit 2 with the install line when torch/transformers/peft are missing."""
    from batos.forge import INSTALL_HINT, missing_modules
    missing = missing_modules()
    if missing:
        sys.stderr.write(f"error: {', '.join(missing)} not installed: {INSTALL_HINT}\n")
        raise typer.Exit(2)


@forge_app.command("dataset")
@handle_errors
def dataset_cmd(
        persona: Annotated[Optional[str], typer.Argument(
            help="BRICK, ROBIN, BABS, ALFRED (default: every persona)")] = None,
        image: ImageOpt = None, as_json: JsonOpt = False,
        jsonl: Annotated[Optional[Path], typer.Option(
            "--jsonl", help="write the examples to FILE, one JSON object a line")] = None) -> None:
    """List the golden dataset (counts per persona and source) or export it."""
    from batos.cli.common import open_cli_image
    from batos.forge import dataset as ds
    with open_cli_image(image, read_only=True) as im:
        if persona:
            from batos.mind.personas import find_persona
            find_persona(im, persona)  # a clear error for an unknown name
        data = ds.build(im, persona)
    if jsonl is not None:
        n = data.write_jsonl(jsonl)
        typer.echo(f"{n} examples written to {jsonl}", err=as_json)
    if as_json:
        emit_json(data.to_json())
        return
    from batos.render.forge import render_dataset
    console().print(render_dataset(data.counts(), data.dropped, ds.SOURCES, ds.ENOUGH))


@forge_app.command("train")
@handle_errors
def train_cmd(
        persona: Annotated[str, typer.Argument(help="BRICK, ROBIN, BABS, ALFRED")],
        image: ImageOpt = None, as_json: JsonOpt = False,
        base: Annotated[Optional[str], typer.Option(
            "--base", help="base GGUF model (default: the model generation uses)")] = None,
        dataset: Annotated[Optional[Path], typer.Option(
            "--dataset", help="train on this JSONL (from `forge dataset --jsonl`)")] = None,
        rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
        alpha: Annotated[float, typer.Option(help="LoRA alpha (scale alpha/rank)")] = 16.0,
        targets: Annotated[str, typer.Option(
            help="projections to adapt (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,"
                 "down_proj)")] = "q_proj,v_proj",
        layers: Annotated[int, typer.Option(help="adapt the top N layers (0: all)")] = 8,
        steps: Annotated[int, typer.Option(help="optimizer steps, one example each")] = 100,
        lr: Annotated[float, typer.Option(help="learning rate")] = 2e-4,
        max_tokens: Annotated[int, typer.Option(help="tokens per example (prompt cut "
                                                     "from the left)")] = 1024,
        threads: Annotated[int, typer.Option(help="torch threads (0: all cores)")] = 0,
        holdout: Annotated[float, typer.Option(help="share of the dataset held out "
                                                    "for evaluation")] = 0.2,
        no_eval: Annotated[bool, typer.Option("--no-eval", help="skip the evaluation "
                                              "(then only --force incarnates)")] = False,
        eval_max_tokens: Annotated[Optional[int], typer.Option(
            help="tokens per generated method in the evaluation")] = None,
        force: Annotated[bool, typer.Option("--force", help="incarnate even when the "
                                            "adapter is worse than the base")] = False) -> None:
    """Train PERSONA's LoRA adapter (niced subprocess, resumable), audit it, evaluate
    base vs adapter and incarnate it in the image when it is not worse."""
    _require_extra()
    from batos.cli.common import image_path_policy
    from batos.errors import BatosError
    from batos.forge.lora_gguf import MODULE_TO_GGUF
    from batos.forge.pipeline import forge
    wanted = [t.strip() for t in targets.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in MODULE_TO_GGUF]
    if unknown or not wanted or rank < 1 or steps < 1 or not 0 <= holdout < 1:
        raise BatosError("bad options: " + (f"unknown targets {unknown}" if unknown else
                                            "rank and steps must be ≥ 1, holdout in [0, 1)"))
    path = image_path_policy(image)
    model = base or _base_model()
    options = {"rank": rank, "alpha": alpha, "targets": wanted, "layers": layers,
               "steps": steps, "lr": lr, "max_tokens": max_tokens, "threads": threads}
    err = console(stderr=True)
    progress, on_event = _progress(err, quiet=as_json)
    try:
        with progress:
            out = forge(path, persona, base=model, options=options,
                        dataset_file=str(dataset) if dataset else None, holdout=holdout,
                        evaluate=not no_eval, force=force, eval_max_tokens=eval_max_tokens,
                        on_event=on_event, say=lambda m: err.print(m))
    except KeyboardInterrupt:
        raise BatosError("interrupted; run the same command again to resume") from None
    if as_json:
        emit_json(out)
    else:
        from batos.render.forge import render_forge_result
        console().print(render_forge_result(out))
    if not out["incarnated"]:
        raise typer.Exit(1)


def _base_model() -> str:
    from batos.errors import BatosError
    from batos.mind.adapters import base_model
    model = base_model()
    if not model:
        raise BatosError("no base model to train on: pass --base MODEL.gguf")
    return model


def _progress(err: Any, quiet: bool) -> tuple[Any, Any]:
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)
    progress = Progress(TextColumn("[bold]forge[/]"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]}"),
                        TextColumn("{task.fields[tps]} tok/s"),
                        TextColumn("ETA {task.fields[eta]}"), TimeElapsedColumn(),
                        console=err, disable=quiet)
    task: dict[str, Any] = {}

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "step":
            if "id" not in task:
                task["id"] = progress.add_task("train", total=event["steps"], loss="-",
                                               tps="-", eta="-")
            eta = int(event.get("eta", 0))
            progress.update(task["id"], completed=event["step"], loss=f"{event['loss']:.3f}",
                            tps=f"{event['tokens_per_s']:.0f}",
                            eta=f"{eta // 60}:{eta % 60:02d}")
        elif kind == "resumed" and not quiet:
            progress.console.print(f"resuming at step {event['step']}")
        elif kind == "loaded" and not quiet:
            progress.console.print(f"base model loaded in {event['seconds']} s")
        elif kind == "fresh" and not quiet:
            progress.console.print(f"starting afresh: {event['reason']}")
    return progress, on_event


def register(app: typer.Typer) -> None:
    app.add_typer(forge_app, name="forge")
