"""``batos serve IMAGE``: share one image between many batos processes over ZEO."""
from __future__ import annotations

import sys
from pathlib import Path

import typer
from typing_extensions import Annotated

from batos.cli.common import handle_errors


@handle_errors
def serve_cmd(
    image: Annotated[Path, typer.Argument(help="the image file (.fs) to serve")],
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free port)")] = 8100,
    read_only: Annotated[bool, typer.Option("--read-only",
                                            help="serve without allowing writes")] = False,
) -> None:
    """Run a ZEO server over IMAGE; clients open it as zeo://HOST:PORT (SIGTERM/Ctrl-C stops)."""
    import batos.lang  # noqa: F401  (the awakening runs BST)
    from batos.cli.common import image_path_policy
    from batos.image.zeoserver import serve
    target = image_path_policy(image, named_new=True)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def prepare(path: Path) -> None:  # awakening and upgrade, once, before clients come
        from batos.image.image import open_image
        open_image(path).close()

    serve(target, host=host, port=port, read_only=read_only, say=say, prepare_image=prepare)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
