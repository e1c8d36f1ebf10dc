"""``batos persona list|show``, ``batos lora add|list|rm``, ``batos trace [last|ID]``.

Thin: each command opens the image, calls :mod:`batos.mind`, prints a rich view
or JSON, and maps errors to exit codes (1 user error, e.g. an unknown persona
or a rejected adapter; 3 image unavailable). Changes run in one transaction.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import (ImageOpt, JsonOpt, ReadOnlyOpt, console, emit_json, fail,
                              handle_errors, open_cli_image)


# --- persona ----------------------------------------------------------------------------------

@handle_errors
def persona_list_cmd(image: ImageOpt = None, as_json: JsonOpt = False,
                     read_only: ReadOnlyOpt = False) -> None:
    """List the personas (* marks the one that writes missing methods)."""
    from batos.mind.personas import registry
    from batos.render.persona import persona_row, render_persona_table
    with open_cli_image(image, read_only=read_only) as im:
        if as_json:
            emit_json([persona_row(n, p) for n, p in registry(im).items()])
        else:
            console().print(render_persona_table(im))


@handle_errors
def persona_show_cmd(name: Annotated[str, typer.Argument(help="BRICK, ROBIN, BABS, ALFRED ...")],
                     image: ImageOpt = None, as_json: JsonOpt = False,
                     read_only: ReadOnlyOpt = False) -> None:
    """Show a persona's codex: role, voice, system prompt, pillars, cues, adapter."""
    from batos.mind.personas import find_persona, persona_name
    from batos.render.persona import persona_row, render_persona
    with open_cli_image(image, read_only=read_only) as im:
        proto = find_persona(im, name)
        shown = persona_name(proto)
        if as_json:
            row = persona_row(shown, proto)
            found = proto.lookup("pillars")
            row["pillars"] = dict(found[1] or {}) if found else {}
            emit_json(row)
        else:
            console().print(render_persona(shown, proto))


# --- lora ----------------------------------------------------------------------------------------

@handle_errors
def lora_add_cmd(persona: Annotated[str, typer.Argument(help="the persona to give the adapter")],
                 file: Annotated[Path, typer.Argument(help="a LoRA adapter GGUF for the model")],
                 scale: Annotated[Optional[float], typer.Option(
                     "--scale", help="strength when applied (default: keep, else 1.0)")] = None,
                 image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Audit a LoRA GGUF and store it in the image as PERSONA's adapter."""
    from batos.errors import AuditRejected
    from batos.mind.adapters import add_adapter
    with open_cli_image(image) as im:
        try:
            adapter = im.execute(lambda: add_adapter(im, persona, file, scale=scale),
                                 note=f"lora add {persona} {file.name}")
        except AuditRejected as exc:
            if not as_json and exc.report is not None:
                console(stderr=True).print(exc.report)
            raise fail(exc, as_json=as_json) from None
        data = adapter.to_json()
        warnings = [f["message"] for f in adapter.audit.findings if f["severity"] != "error"]
    if as_json:
        emit_json({"ok": True, **data, "warnings": warnings})
        return
    typer.echo(f"{data['persona']} now thinks with {data['name']} "
               f"({data['size']:,} bytes, sha256 {data['sha256'][:12]}, audit {data['verdict']})")
    for w in warnings:
        typer.echo(f"warning: {w}", err=True)


@handle_errors
def lora_list_cmd(image: ImageOpt = None, as_json: JsonOpt = False,
                  read_only: ReadOnlyOpt = False) -> None:
    """List the adapters stored in the image, per persona."""
    from batos.mind.adapters import list_adapters
    from batos.render.adapter import render_adapter_table
    with open_cli_image(image, read_only=read_only) as im:
        rows = list_adapters(im)
        if as_json:
            emit_json([{**a.to_json(), "persona": p, "scale": s} for p, a, s in rows])
        elif not rows:
            typer.echo("no adapters: personas think with the base model "
                       "(add one with `batos lora add PERSONA FILE`)")
        else:
            console().print(render_adapter_table(rows))


@handle_errors
def lora_rm_cmd(persona: Annotated[str, typer.Argument(help="the persona whose adapter goes")],
                image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Detach PERSONA's adapter (its blob is reclaimed by `batos image pack`)."""
    from batos.mind.adapters import remove_adapter
    with open_cli_image(image) as im:
        adapter = im.execute(lambda: remove_adapter(im, persona), note=f"lora rm {persona}")
        data = adapter.to_json()
    if as_json:
        emit_json({"ok": True, "removed": data})
    else:
        typer.echo(f"{data['persona']} no longer uses {data['name']}")


# --- trace ---------------------------------------------------------------------------------------

@handle_errors
def trace_cmd(which: Annotated[str, typer.Argument(
                  help="'last', a trace id, or 'list' for the recent ones")] = "last",
              limit: Annotated[int, typer.Option("--limit", "-n",
                                                 help="rows for 'list'")] = 20,
              timeline: Annotated[bool, typer.Option(
                  "--timeline", help="a table of steps with durations instead of a tree")
              ] = False,
              image: ImageOpt = None, as_json: JsonOpt = False,
              read_only: ReadOnlyOpt = False) -> None:
    """Show a cognitive cycle's trace: states, personas, adapters, tokens, timings, verdict."""
    from batos.mind.trace import get_trace, list_traces
    from batos.render.trace import render_trace_table
    with open_cli_image(image, read_only=read_only) as im:
        if which == "list":
            traces = list_traces(im, limit)
            if as_json:
                emit_json([t.to_json() for t in traces])
            else:
                console().print(render_trace_table(traces))
            return
        trace = get_trace(im, which)
        if as_json:
            emit_json(trace.to_json())
        elif timeline:
            from batos.render.trace import render_timeline
            console().print(render_timeline(trace))
        else:
            console().print(trace)


def register(app: typer.Typer) -> None:
    """Add ``persona``, ``lora`` and ``trace`` to ``app``."""
    persona = typer.Typer(name="persona", help="The personas that think in this image.",
                          no_args_is_help=True)
    persona.command("list")(persona_list_cmd)
    persona.command("show")(persona_show_cmd)
    app.add_typer(persona, name="persona")
    lora = typer.Typer(name="lora", help="Persona LoRA adapters stored in the image.",
                       no_args_is_help=True)
    lora.command("add")(lora_add_cmd)
    lora.command("list")(lora_list_cmd)
    lora.command("rm")(lora_rm_cmd)
    app.add_typer(lora, name="lora")
    app.command("trace")(trace_cmd)


__all__ = ["register"]
