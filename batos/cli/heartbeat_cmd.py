"""``batos heartbeat IMAGE``, ``batos mind status``, ``batos mind ether``.

Thin: the heartbeat runner and the measurements live in :mod:`batos.mind.heartbeat`,
:mod:`batos.mind.cem` and :mod:`batos.mind.ether`; the views in :mod:`batos.render.mind`.
``mind status`` and ``mind ether`` only read, so they open the image read-only (they
work while a REPL or the heartbeat holds it).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import ImageOpt, JsonOpt, console, emit_json, handle_errors, open_cli_image


def _forge_available() -> bool:
    """Whether the forge extra is installed (``batos.forge.available()``)."""
    try:
        from batos import forge  # type: ignore[attr-defined]
        return bool(forge.available())
    except Exception:  # noqa: BLE001 - no forge module, or its extra missing
        return False


def _forge_spawner(image: Path) -> Any:
    """A function that starts ``batos forge train PERSONA`` niced and detached, or None
    when the forge extra is not installed."""
    if not _forge_available():
        return None

    def spawn(persona: str) -> None:
        from batos.llm.models import cache_dir
        log = cache_dir().parent / "heartbeat-forge.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            subprocess.Popen(["nice", "-n", "10", sys.executable, "-m", "batos.cli.main", "forge",
                              "train", persona, "--image", str(image)],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        sys.stderr.write(f"heartbeat: started a forge run for {persona} (log: {log})\n")
    return spawn


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
    SIGTERM or Ctrl-C stop it between beats."""
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

    runner = Heartbeat(lambda: open_cli_image(image_path), every=every, budget=minutes,
                       once=once, say=say, spawn_forge=_forge_spawner(image_path))
    records = runner.run()
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


def register(app: typer.Typer) -> None:
    """Add ``heartbeat`` and the ``mind`` group (``status``, ``ether``) to ``app``."""
    app.command("heartbeat")(heartbeat_cmd)
    mind = typer.Typer(name="mind", help="The image's self-measurement: CEM, digital ether.",
                       no_args_is_help=True)
    mind.command("status")(status_cmd)
    mind.command("ether")(ether_cmd)
    app.add_typer(mind, name="mind")


__all__ = ["register"]
