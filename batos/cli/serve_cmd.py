"""``batos serve IMAGE``: share one image between many batos processes over ZEO."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

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
    model_server: Annotated[Optional[str], typer.Option(
        "--model-server", metavar="URL",
        help="a llama.cpp server (llama-server) every client generates through, with "
             "per-request LoRA; stored in the image (without it: removed)")] = None,
) -> None:
    """Run a ZEO server over IMAGE; clients open it as zeo://HOST:PORT (SIGTERM/Ctrl-C stops)."""
    import batos.lang  # noqa: F401  (the awakening runs BST)
    from batos.cli.common import image_path_policy
    from batos.errors import UsageError
    from batos.image.zeoserver import advertise, check_model_server, serve
    if model_server is not None:
        model_server = check_model_server(model_server)
        if read_only:
            raise UsageError("--model-server is stored in the image, which --read-only "
                             "leaves unchanged: serve it writable once with --model-server")
    target = image_path_policy(image, named_new=True)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def prepare(path: Path) -> None:  # awakening and upgrade, once, before clients come
        from batos.image.image import open_image
        with open_image(path) as im:
            advertise(im, model_server)
        if model_server and not _answers(model_server):
            say(f"batos serve: warning: no llama.cpp server answers at {model_server} yet; "
                "clients' generations fail until one does")

    serve(target, host=host, port=port, read_only=read_only, say=say, prepare_image=prepare,
          model_server=model_server)


def _answers(url: str) -> bool:
    """Whether something answers llama-server's ``/props`` at ``url`` (2 s)."""
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/props", timeout=2.0) as reply:
            return 200 <= reply.status < 300
    except Exception:  # noqa: BLE001  (any failure: not answering)
        return False


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
