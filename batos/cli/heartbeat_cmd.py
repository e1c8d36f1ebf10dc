"""``batos heartbeat IMAGE``, ``batos mind status``, ``batos mind ether``.

Thin: the heartbeat runner and the measurements live in :mod:`batos.mind.heartbeat`,
:mod:`batos.mind.cem` and :mod:`batos.mind.ether`; the views in :mod:`batos.render.mind`.
``heartbeat`` runs confined (:mod:`batos.guardian.confine`) with a forked
:mod:`batos.cli.forge_launcher` for forge runs. ``mind seed`` / ``mind curriculum`` read
and write the curriculum through :mod:`batos.mind.curriculum_file`.
``mind status``, ``mind ether`` and ``mind curriculum`` only read, so they open the
image read-only (they work while a REPL or the heartbeat holds it).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import ImageOpt, JsonOpt, console, emit_json, handle_errors, open_cli_image


def _forge_available() -> bool:
    """Whether the forge extra (torch, transformers, peft) is installed."""
    try:
        from batos.forge import missing_modules
        return not missing_modules()
    except Exception:  # noqa: BLE001 - no forge module at all
        return False


def _forge_log() -> Path:
    from batos.llm.models import cache_dir
    return cache_dir().parent / "heartbeat-forge.log"


def _forge_spawner(image: Path, say: Callable[[str], Any]) -> Any:
    """Unconfined: a function that starts ``batos forge train PERSONA`` niced and
    detached, or None when the forge extra is not installed."""
    if not _forge_available():
        return None
    from batos.cli.forge_launcher import forge_argv, start

    def spawn(persona: str) -> None:
        log = _forge_log()
        start(forge_argv(str(image))(persona), log)
        say(f"heartbeat: started a forge run for {persona} (log: {log})")
    return spawn


def _will_confine(image: Any) -> bool:
    """The console script (not CliRunner/tests) with confinement not switched off."""
    from batos.cli import common
    from batos.guardian.confine import enabled
    return common._CONFINE_ARMED and enabled(image)


def _confine(image_path: Path, say: Callable[[str], Any]) -> tuple[Any, Any]:
    """Confine this process for its beats (model-written code runs in them): first fork
    the forge launcher (when the forge extra is installed), then seccomp + Landlock with
    write access to the image's files. Answers (launcher or None, spawner or None); does
    nothing (None, None) when confinement is off or this is not the console script."""
    from batos.cli.common import confine_statements
    from batos.image.storage import shared_address
    from batos.mind.personas import persona_names
    with open_cli_image(image_path, read_only=True) as im:   # works while another holds it
        if not _will_confine(im):
            return None, None
        personas = persona_names(im) if _forge_available() else []
        launcher = None
        if personas:
            from batos.cli.forge_launcher import ForgeLauncher, forge_argv
            launcher = ForgeLauncher(personas, forge_argv(str(image_path)), _forge_log())
        rw: list[str] = []
        if shared_address(image_path) is None:
            # the image's folder, not its files: another process (the forge incarnating
            # an adapter, a REPL) replaces IMAGE.index by a rename, and a Landlock rule
            # on the old file would refuse the next beat's open of the new one
            rw = [str(image_path.resolve().parent)]
        confine_statements(im, rw=rw, say=say)
    if launcher is None:
        return None, None

    def spawn(persona: str) -> None:
        answer = launcher.request(persona)
        if answer.startswith("started"):
            say(f"heartbeat: started a forge run for {persona} ({answer.split()[-1]}; "
                f"log: {_forge_log()})")
        else:
            say(f"heartbeat: no forge run for {persona}: {answer}")
    return launcher, spawn


def _opener(image_path: Path) -> Callable[[], Any]:
    def open_for_beat() -> Any:
        from batos.guardian.confine import adapt_storage
        image = open_cli_image(image_path)
        adapt_storage(image)    # confined: the index is saved in place (no new files)
        return image
    return open_for_beat


@handle_errors
def heartbeat_cmd(
        image_path: Annotated[Path, typer.Argument(
            metavar="IMAGE", help="the image file, or zeo://HOST:PORT of a `batos serve`")],
        every: Annotated[float, typer.Option("--every", help="seconds between beats")] = 60.0,
        once: Annotated[bool, typer.Option("--once", help="one beat, then exit")] = False,
        budget: Annotated[Optional[float], typer.Option(
            "--budget", help="CPU minutes per hour the heartbeat may spend "
                             "(default: the heartbeat_budget setting, 10)")] = None,
        as_json: JsonOpt = False) -> None:
    """Beat: measure the CEM, record it, and send improveCognition when it stagnates.

    Opens the image for each beat only; waits while another process holds it.
    SIGTERM or Ctrl-C stop it between beats. Runs confined (no exec, files limited;
    BATOS_CONFINE=off: not); a forked launcher starts forge runs."""
    from batos.errors import BatosError, ImageError
    from batos.image.storage import shared_address
    from batos.mind.heartbeat import Heartbeat
    from batos.settings import setting
    if every < 0:
        raise BatosError("--every must be 0 or more seconds")
    if shared_address(image_path) is None and not image_path.is_file():
        raise ImageError(f"no image at {image_path}; nothing was created")
    minutes = float(setting("heartbeat_budget", flag=budget))
    if minutes <= 0:
        raise BatosError("--budget must be a positive number of CPU minutes per hour")

    def say(text: str) -> None:
        from batos.guardian.hygiene import printable
        sys.stderr.write(printable(text) + "\n")
        sys.stderr.flush()

    from batos.guardian.confine import applied
    launcher, spawn = _confine(image_path, say)
    confined = applied()
    if launcher is None and (confined is None or not confined.seccomp):
        spawn = _forge_spawner(image_path, say)   # exec still works here
    try:
        runner = Heartbeat(_opener(image_path), every=every, budget=minutes,
                           once=once, say=say, spawn_forge=spawn)
        records = runner.run()
    finally:
        if launcher is not None:
            launcher.close()
    if runner.stopped_by:
        say(f"heartbeat: stopped by {runner.stopped_by} after {len(records)} beat(s)")
    if as_json:
        emit_json({"ok": True, "beats": records, "stopped_by": runner.stopped_by})


@handle_errors
def status_cmd(image: ImageOpt = None, as_json: JsonOpt = False,
               beats: Annotated[int, typer.Option("--beats", "-n",
                                                  help="beats shown in the history")] = 40) -> None:
    """The Composite Entropy Metric now: its four parts, what moved each, their history."""
    from batos.mind import cem
    from batos.mind.heartbeat import beats as beat_records
    from batos.render.mind import render_history, render_status
    with open_cli_image(image, read_only=True) as im:
        measure = cem.measure(im)
        history = beat_records(im, max(beats, 1))
    if as_json:
        emit_json({**measure.to_json(), "beats": history, "plot": render_history(history)})
    else:
        console().print(render_status(measure, history))


@handle_errors
def ether_cmd(image: ImageOpt = None, as_json: JsonOpt = False,
              limit: Annotated[int, typer.Option("--limit", "-n", help="trails shown")] = 20) -> None:
    """The strongest trails in the digital ether (pheromones of outcomes, decaying)."""
    from batos.mind import ether
    from batos.render.mind import render_ether
    with open_cli_image(image, read_only=True) as im:
        trails = ether.trails(im, limit=max(limit, 1))
        summary = dict(ether.summary(im))
        half = ether.half_life(im)
    if as_json:
        emit_json({"summary": summary, "half_life": half, "trails": [p.to_json() for p in trails]})
    else:
        console().print(render_ether(trails, summary, half_life=half))


@handle_errors
def curriculum_cmd(
        image_path: Annotated[Optional[Path], typer.Argument(
            metavar="IMAGE", help="the image (default: --image, $BATOS_IMAGE, ./live_image.fs)")]
        = None,
        image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """The heartbeat's curriculum: seeded intents with their tries, and those the log adds."""
    from batos.mind.curriculum_file import listing
    with open_cli_image(image_path or image, read_only=True) as im:
        rows = listing(im)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("the curriculum is empty: queue intents with `batos mind seed FILE`")
        return
    from rich.table import Table
    from batos.guardian.hygiene import printable
    table = Table(title=f"curriculum: {len(rows)} intent(s)", title_justify="left")
    for col in ("receiver", "selector", "args", "examples", "tries", "status", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(printable(r["receiver"]), "#" + printable(r["selector"]),
                      printable(" ".join(r["args"])), printable(r["examples"]),
                      str(r["tries"]), r["status"], printable(r["source"]))
    console().print(table)


@handle_errors
def seed_cmd(
        file: Annotated[Path, typer.Argument(
            metavar="FILE", help="JSON list of intents, or JSON Lines: {\"receiver\": GLOBAL, "
                                 "\"selector\": SEL, \"args\": [\"3\"], \"examples\": \"{3 -> 6}\"}")],
        image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Queue curriculum intents for the heartbeat (all checked first; one transaction)."""
    from batos.mind.curriculum_file import read_intents, seed
    with open_cli_image(image) as im:
        result = seed(im, read_intents(file, im))
    if as_json:
        emit_json({"ok": True, **result})
        return
    text = f"seeded {result['seeded']} intent(s); {result['queued']} queued"
    if result["skipped"]:
        text += f" ({result['skipped']} already queued, skipped)"
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add ``heartbeat`` and the ``mind`` group (``status``, ``ether``, ``curriculum``,
    ``seed``) to ``app``."""
    app.command("heartbeat")(heartbeat_cmd)
    mind = typer.Typer(name="mind", help="The image's self-measurement: CEM, digital ether.",
                       no_args_is_help=True)
    mind.command("status")(status_cmd)
    mind.command("ether")(ether_cmd)
    mind.command("curriculum")(curriculum_cmd)
    mind.command("seed")(seed_cmd)
    app.add_typer(mind, name="mind")


__all__ = ["register"]
