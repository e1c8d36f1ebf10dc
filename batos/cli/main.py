"""The ``batos`` command line: a thin typer app whose commands live in batos/cli/*_cmd.py."""
from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

from batos.cli.helpstyle import apply as _classic_help

_classic_help()  # --help reads "Usage: batos run [OPTIONS] SCRIPT", no <bool> after flags

app = typer.Typer(
    name="batos",
    help="A Smalltalk-style live-object REPL over a persistent image.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes register(app); a module that is not there yet is skipped.
COMMAND_MODULES = (
    "batos.cli.repl_cmd",
    "batos.cli.lang_cmd",
    "batos.cli.image_cmd",
    "batos.cli.audit_cmd",
    "batos.cli.model_cmd",
    "batos.cli.mind_cmd",
    "batos.cli.memory_cmd",
    "batos.cli.log_cmd",
    "batos.cli.past_cmd",
    "batos.cli.serve_cmd",
    "batos.cli.contracts_cmd",
    "batos.cli.forge_cmd",
    "batos.cli.heartbeat_cmd",
)

for _name in COMMAND_MODULES:
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name).register(app)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="print the version and exit",
                                       is_eager=True)) -> None:
    if version:
        from batos import __version__
        typer.echo(f"batos {__version__}")
        raise typer.Exit(0)


def main() -> None:
    """Console-script entry point.

    Plain ``eval``/``send`` one-liners skip typer's option machinery (its pydantic
    adapters cost more than ZODB's import); everything else goes through typer.
    """
    from batos.cli.common import arm_confinement
    arm_confinement()  # statements run confined in this process (BATOS_CONFINE=off: not)
    if sys.argv[1:2] and sys.argv[1] in WATCHED:
        from batos.repl.supervisor import watched
        sys.exit(watched(_run, as_json="--json" in sys.argv[2:]))
    _run()


# one-shot commands that run statements: in a forked child, so that a statement ended at
# its hard deadline (batos.guardian.limits) is reported in one clear line, exit 1
WATCHED = ("eval", "send", "run", "inspect")


def _run() -> None:
    from batos.cli.lang_cmd import fast_path
    code = fast_path(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":
    main()
