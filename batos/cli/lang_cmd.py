"""``batos eval``, ``batos send``, ``batos run`` and ``batos inspect``: one transaction each.

Kept light on purpose: nothing heavier than the image and the language is imported
on the ``eval``/``send`` path (rich only for ``inspect`` and the ``--dry-run`` report).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from typing_extensions import Annotated

from batos.cli.common import (AdoptOpt, CandidatesOpt, CreateOpt, ImageOpt, JsonOpt, NoSaveOpt,
                              PersonaOpt, ReadOnlyOpt, emit_json, handle_errors, open_cli_image)
from batos.cli.past_cmd import WhenOpt


@contextlib.contextmanager
def _open(image: Optional[Path], read_only: bool, persona: Optional[str], *,
          create: bool = False, adopt: bool = False,
          timeout: Optional[float] = None, candidates: Optional[int] = None) -> Iterator[Any]:
    """The image, open for the command, with its flags (``--persona``, ``--timeout``,
    ``--candidates``) set at the flag level of :mod:`batos.settings` until it closes."""
    from batos.settings import overriding
    im = open_cli_image(image, read_only=read_only, create=create, adopt=adopt)
    with im, overriding(persona=persona, timeout=timeout, candidates=candidates):
        from batos.cli.common import confine_statements
        confine_statements(im)  # no exec, files limited, from here on (guardian.confine)
        yield im


def _evaluate(im: Any, source: str, *, note: str, save: bool, filename: str) -> Any:
    """Evaluate ``source`` as one transaction; answer (value, printString)."""
    holder: dict[str, Any] = {}

    def action() -> Any:
        value = im.evaluate(source, workspace={}, filename=filename)
        from batos.lang.prose import is_prose  # an ask: answer is shown as text
        # print inside: the objects are still live
        holder["print"] = value if is_prose(value) else im.print_string(value)
        return value

    value = im.execute(action, note=note, save=save)
    return value, holder["print"]


@contextlib.contextmanager
def _past_view(im: Any, at: Optional[str]) -> Iterator[Any]:
    """The read-only view of ``im`` as of ``at`` (batos.image.past), or None without one."""
    if at is None:
        yield None
        return
    from batos.image import past
    with past.open_at(im, at) as view:
        yield view


def _evaluate_at(im: Any, source: str, at: str) -> Any:
    """Evaluate ``source`` in the image as of ``at`` (read-only; nothing is saved);
    answer (value, printString)."""
    holder: dict[str, Any] = {}
    with _past_view(im, at) as view:
        def action() -> Any:
            value = view.evaluate(source)
            from batos.lang.prose import is_prose
            holder["print"] = value if is_prose(value) else view.print_string(value)
            return value
        value = im.execute(action, note=f"eval --at {at} {source}", save=False)
    return value, holder["print"]


def printable(text: str) -> str:
    """A printString as the terminal may see it (escapes shown, see guardian.hygiene)."""
    from batos.guardian.hygiene import printable as _printable
    return _printable(text)


def _value_json(value: Any, printed: str) -> dict[str, Any]:
    data: dict[str, Any] = {"ok": True, "printString": printed}
    if value is None or isinstance(value, (bool, int, float, str)):
        data["value"] = value
    return data


def send_source(receiver: str, message: list[str]) -> str:
    """``batos send counter at: 3 put: 4`` → ``counter at: 3 put: 4``.

    Arguments are joined as typed; one that the shell unquoted (``greet: Hello world``)
    is re-quoted as a BST string when it contains spaces, so the expression stays
    one message.
    """
    parts = [receiver]
    for i, word in enumerate(message):
        after_keyword = i > 0 and message[i - 1].endswith(":")
        if after_keyword and (" " in word or "\n" in word) and not _looks_quoted(word):
            word = "'" + word.replace("'", "''") + "'"
        parts.append(word)
    return " ".join(parts)


def _looks_quoted(word: str) -> bool:
    w = word.strip()
    return (w.startswith("'") and w.endswith("'")) or w.startswith(("(", "[", "{", "#("))


def register(app: typer.Typer) -> None:
    """Add ``eval``, ``send``, ``run`` and ``inspect`` to the batos app."""

    @app.command("eval")
    @handle_errors
    def eval_cmd(
        expression: Annotated[str, typer.Argument(help="BST source, e.g. '3 + 4'")],
        image: ImageOpt = None, as_json: JsonOpt = False, no_save: NoSaveOpt = False,
        read_only: ReadOnlyOpt = False, persona: PersonaOpt = None,
        create: CreateOpt = False, adopt: AdoptOpt = False, at: WhenOpt = None,
        candidates: CandidatesOpt = None,
    ) -> None:
        """Evaluate an expression (one transaction) and print its printString; with --at,
        in a read-only view of the image as it was then (a write is refused: exit 1)."""
        with _open(image, read_only, persona, create=create, adopt=adopt,
                   candidates=candidates) as im:
            if at is not None:
                value, printed = _evaluate_at(im, expression, at)
            else:
                value, printed = _evaluate(im, expression, note=f"eval {expression}",
                                           save=not no_save, filename="<eval>")
        if as_json:
            emit_json(_value_json(value, printed))
        else:
            sys.stdout.write(printable(printed) + "\n")

    @app.command("send", context_settings={"ignore_unknown_options": True})
    @handle_errors
    def send_cmd(
        receiver: Annotated[str, typer.Argument(help="a global or workspace name")],
        message: Annotated[Optional[list[str]], typer.Argument(
            help="the message, e.g. `display_yourself` or `at: 3 put: 4`")] = None,
        image: ImageOpt = None, as_json: JsonOpt = False, no_save: NoSaveOpt = False,
        read_only: ReadOnlyOpt = False, persona: PersonaOpt = None,
        create: CreateOpt = False, adopt: AdoptOpt = False,
        candidates: CandidatesOpt = None,
    ) -> None:
        """Send a message (joined into one expression) and print the result."""
        from batos.errors import UsageError
        if not message:
            raise UsageError("send needs a message: batos send RECEIVER MESSAGE...")
        source = send_source(receiver, list(message))
        with _open(image, read_only, persona, create=create, adopt=adopt,
                   candidates=candidates) as im:
            value, printed = _evaluate(im, source, note=f"send {source}", save=not no_save,
                                       filename="<send>")
        if as_json:
            emit_json(_value_json(value, printed))
        else:
            sys.stdout.write(printable(printed) + "\n")

    @app.command("run")
    @handle_errors
    def run_cmd(
        script: Annotated[Path, typer.Argument(help="a .bst migration script")],
        image: ImageOpt = None, as_json: JsonOpt = False, no_save: NoSaveOpt = False,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="run, roll back, and print what would have changed")] = False,
        timeout: Annotated[Optional[float], typer.Option(
            "--timeout", help="wall-clock limit in seconds for the whole script "
                              "(default: $BATOS_TIMEOUT, else 5; 0: none)")] = None,
        persona: PersonaOpt = None,
        create: CreateOpt = False, adopt: AdoptOpt = False,
        candidates: CandidatesOpt = None,
    ) -> None:
        """Run a script as ONE transaction: any error rolls the whole script back."""
        from batos.errors import UsageError
        try:
            source = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {script}: {exc}") from None
        with _open(image, False, persona, create=create, adopt=adopt, timeout=timeout,
                   candidates=candidates) as im:
            report = run_script(im, source, filename=str(script), dry_run=dry_run,
                                save=not (no_save or dry_run))
        if as_json:
            emit_json({"ok": True, "printString": report["print"], "dry_run": dry_run,
                       "changes": report["changes"], "saved": report["saved"],
                       "transaction": report["transaction"]})
            return
        if dry_run:
            sys.stdout.write(printable(format_changes(report["changes"])))
        elif report["saved"]:  # stdout stays the script's own output (Transcript)
            sys.stderr.write(printable(format_commit(report)))

    @app.command("inspect")
    @handle_errors
    def inspect_cmd(
        target: Annotated[str, typer.Argument(help="a global name or a BST expression")],
        image: ImageOpt = None, as_json: JsonOpt = False,
        read_only: ReadOnlyOpt = False, at: WhenOpt = None,
    ) -> None:
        """Render the slot inspector of an object (nothing is saved); with --at, the
        object as it was then."""
        from batos.cli.common import console
        from batos.render.inspector import Inspector, inspect_data
        with _open(image, read_only, None) as im, _past_view(im, at) as view:
            def action() -> Any:
                if view is not None:
                    value = view.evaluate(target)
                else:
                    value = im.evaluate(target, workspace={}, filename="<inspect>")
                if as_json:
                    return inspect_data(value)
                if view is not None:
                    from batos.render.past import when_line
                    console().print(when_line(view.when))
                console().print(Inspector(value))
                return None
            data = im.execute(action, note=f"inspect {target}", save=False)
        if as_json:
            emit_json(data)


_FAST_FLAGS = {"--json": "as_json", "--no-save": "no_save", "--read-only": "read_only"}


def fast_path(argv: list[str]) -> int | None:
    """Run ``eval EXPR`` / ``send RECEIVER MESSAGE...`` without typer's option machinery.

    This typer coerces every parameter through pydantic adapters (about 0.1 s of
    imports, more than ZODB itself), which dominates a cold ``batos eval``. Only the
    plain forms are handled here — ``-i/--image PATH``, ``--json``, ``--no-save``,
    ``--read-only`` — with exactly the typer commands' output and exit codes; anything
    else (help, other options, no arguments) answers None so typer takes over.
    """
    if not argv or argv[0] not in ("eval", "send"):
        return None
    command, rest = argv[0], argv[1:]
    opts: dict[str, Any] = {"image": None, "as_json": False, "no_save": False,
                            "read_only": False}
    words: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-i", "--image"):
            if i + 1 >= len(rest):
                return None
            opts["image"] = Path(rest[i + 1])
            i += 2
            continue
        if arg.startswith("--image="):
            opts["image"] = Path(arg.partition("=")[2])
        elif arg in _FAST_FLAGS:
            opts[_FAST_FLAGS[arg]] = True
        elif arg == "--" or (arg.startswith("-") and not _negative_number(arg)):
            return None
        else:
            words.append(arg)
        i += 1
    if (command == "eval" and len(words) != 1) or (command == "send" and len(words) < 2):
        return None
    from batos.errors import BatosError
    try:
        if command == "eval":
            source, note, filename = words[0], f"eval {words[0]}", "<eval>"
        else:
            source = send_source(words[0], words[1:])
            note, filename = f"send {source}", "<send>"
        with _open(opts["image"], opts["read_only"], None) as im:
            value, printed = _evaluate(im, source, note=note, save=not opts["no_save"],
                                       filename=filename)
    except BatosError as exc:
        from batos.cli.common import fail
        return fail(exc, as_json=opts["as_json"]).exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; nothing was saved\n")
        return 130
    if opts["as_json"]:
        emit_json(_value_json(value, printed))
    else:
        sys.stdout.write(printable(printed) + "\n")
    return 0


def _negative_number(arg: str) -> bool:
    return len(arg) > 1 and arg[0] == "-" and (arg[1].isdigit() or arg[1] == ".")


def run_script(im: Any, source: str, *, filename: str, dry_run: bool = False,
               save: bool = True) -> dict[str, Any]:
    """Run ``source`` as one transaction (Transcript goes to stdout as it runs).

    Answers ``print`` (the last value's printString), ``changes`` (for dry runs) and
    ``saved``.
    """
    holder: dict[str, Any] = {"changes": []}

    def action() -> Any:
        value = im.evaluate(source, workspace={}, filename=filename)
        holder["print"] = im.print_string(value)
        if dry_run or save:
            holder["changes"] = im.changes()
        return value

    try:
        im.execute(action, note=f"run {Path(filename).name}", save=save)
    finally:
        from batos.lang.transcript import transcript
        transcript().flush()
    holder["saved"] = save
    holder["transaction"] = None
    if save and holder["changes"]:
        latest = im.history(1)
        holder["transaction"] = latest[0]["id"] if latest else None
    return holder


def format_commit(report: dict[str, Any]) -> str:
    """What a saved ``batos run`` committed: objects, slots and the transaction."""
    changes = report.get("changes") or []
    if not changes:
        return "committed nothing: the script changed no object\n"
    counts = {kind: sum(len(c.get(kind, [])) for c in changes)
              for kind in ("added", "changed", "removed")}
    new = sum(1 for c in changes if c.get("new"))
    slots = sum(counts.values())
    parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    objects = f"{len(changes)} object{'s' if len(changes) != 1 else ''}"
    if new:
        objects += f" ({new} new)"
    txn = report.get("transaction")
    where = f" in transaction {txn} (undo: batos image undo {txn})" if txn else ""
    return (f"committed {objects}, {slots} slot{'s' if slots != 1 else ''}"
            f"{' (' + parts + ')' if parts else ''}{where}\n")


def format_changes(changes: list[dict[str, Any]]) -> str:
    """The ``--dry-run`` report: per object, the slots added, changed and removed."""
    if not changes:
        return "dry run: no changes (nothing was saved)\n"
    lines = [f"dry run: {len(changes)} object(s) would change (nothing was saved)"]
    for entry in changes:
        status = " (new)" if entry.get("new") else ""
        lines.append(f"  {entry['object']}{status}")
        for kind, mark in (("added", "+"), ("changed", "~"), ("removed", "-")):
            for slot in entry.get(kind, []):
                text = f"    {mark} {slot['slot']}"
                if "value" in slot:
                    text += f": {slot['value']}"
                if "was" in slot:
                    text += f" (was {slot['was']})"
                lines.append(text)
    return "\n".join(lines) + "\n"
