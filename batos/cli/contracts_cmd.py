"""``batos verify [OBJ]``: run every contract in the image, the image's own test suite."""
from __future__ import annotations

from typing import Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import ImageOpt, JsonOpt, emit_json, handle_errors, open_cli_image


@handle_errors
def verify_contracts_cmd(
        obj: Annotated[Optional[str], typer.Argument(
            help="a global naming one object (default: every contract)")] = None,
        image: ImageOpt = None, as_json: JsonOpt = False) -> None:
    """Run every contract (each example a send in a savepoint, rolled back) and show
    a table of passed / failed / erred; exit 1 when any fails or errs."""
    from batos.errors import BatosError
    from batos.image.proto import Proto
    from batos.lang.contracts import verify
    with open_cli_image(image, read_only=True) as im:
        target = None
        if obj:
            target = im.globals.get(obj)
            if not isinstance(target, Proto):
                raise BatosError(f"no prototype named {obj!r} in the image's globals")
        report = im.execute(lambda: verify(im, target), note="verify", save=False)
    if as_json:
        emit_json([o.__dict__ for o in report.outcomes])
    elif not report.outcomes:
        typer.echo("no contracts" + (f" on {obj}" if obj else " in the image"))
    else:
        from rich.console import Console
        Console().print(report)
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_contracts_cmd)
