"""Contracts and corrections at the REPL: ``:verify [OBJ]``, ``:fix``, ``:edit``.

``:fix [OBJ] SELECTOR words…`` regenerates a method with a hint (``OBJ fix: #SELECTOR
hint: '…'``); ``:edit [OBJ] SELECTOR`` opens ``$VISUAL``/``$EDITOR`` on its source
(through the prompt's editor support, which the confinement routes through its
helper) and installs the saved text after the guardian's audit. Without OBJ, the
global that holds SELECTOR as its own method is meant (it must be the only one).
:data:`batos.repl.commands.PROVIDERS` loads this module.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from batos.errors import BatosError, UsageError

_SEL = re.compile(r"#?([A-Za-z_][A-Za-z0-9_]*:?)+$|#?[-+*/\\<>=~@%|&?,]+$")


def register_repl_commands() -> bool:
    from batos.repl.commands import register_command
    register_command("verify", repl_verify,
                     "run every contract in the image (or OBJ's), rolled back; a table",
                     ":verify [OBJ]")
    register_command("fix", repl_fix, "regenerate a method with a hint of what you meant",
                     ":fix [OBJ] SELECTOR what you meant")
    register_command("edit", repl_edit, "edit a method's source in $EDITOR; audited on save",
                     ":edit [OBJ] SELECTOR")
    return True


def repl_verify(session: Any, arg: str = "") -> bool:
    """``:verify [OBJ]``: the contracts' table; False (a failure) when any breaks."""
    from batos.image.proto import Proto
    from batos.lang.contracts import verify
    image = session.image
    expr = (arg or "").strip()

    def run(value: Any) -> Any:
        if expr and not isinstance(value, Proto):
            raise BatosError(f"{expr} is not a prototype; it has no contracts")
        return verify(image, value if expr else None)

    report = session.peek(expr or "nil", run, present=True)
    if not report.outcomes:
        session.print("no contracts" + (f" on {expr}" if expr else " in the image"))
        return True
    session.print(report)
    return report.ok


def _holder(session: Any, selector: str) -> str:
    """The one global whose own slots hold a method for ``selector``."""
    from batos.image.method import Method
    from batos.image.proto import Proto, selector_to_name
    name = selector_to_name(selector)
    found = [g for g, v in session.image.globals.items()
             if isinstance(v, Proto) and isinstance(v.own_slots().get(name), Method)
             and g not in ("traits", "pLLM")]
    if len(found) != 1:
        which = ", ".join(sorted(found)) or "none"
        raise BatosError(f"which object's #{selector}? globals holding it: {which}; "
                         "name it first")
    return found[0]


def _target(session: Any, words: list[str], usage: str) -> tuple[str, str, list[str]]:
    """(object expression, selector, remaining words) from a command's words."""
    if not words:
        raise UsageError(f"usage: {usage}")
    if len(words) >= 2 and _SEL.match(words[1]) and words[0] in session.image.globals \
            and not (_SEL.match(words[0]) and words[0].endswith(":")):
        return words[0], words[1].lstrip("#"), words[2:]
    selector = words[0].lstrip("#")
    if not _SEL.match(selector):
        raise UsageError(f"usage: {usage}")
    return _holder(session, selector), selector, words[1:]


def _bst_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def repl_fix(session: Any, arg: str = "") -> bool:
    """``:fix [OBJ] SELECTOR words…``: ``OBJ fix: #SELECTOR hint: 'words…'``."""
    usage = ":fix [OBJ] SELECTOR what you meant"
    obj, selector, rest = _target(session, (arg or "").split(), usage)
    if not rest:
        raise UsageError(f"usage: {usage}")
    return session.run_statement(f"{obj} fix: #{selector} hint: {_bst_string(' '.join(rest))}")


def _open_editor(session: Any, path: Path) -> bool:
    """Run the editor on ``path``: the prompt's (confinement-aware) editor, else
    ``$VISUAL``/``$EDITOR``."""
    prompt = getattr(session, "prompt_session", None)
    opener = getattr(getattr(prompt, "default_buffer", None), "_open_file_in_editor", None)
    if callable(opener):
        return bool(opener(str(path)))
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise BatosError("set $EDITOR (or $VISUAL) to edit methods")
    import shlex
    return subprocess.call(shlex.split(editor) + [str(path)]) == 0


def repl_edit(session: Any, arg: str = "") -> bool:
    """``:edit [OBJ] SELECTOR``: edit, audit and install the method's source."""
    from batos.repl.commands import _method_of
    obj, selector, _ = _target(session, (arg or "").split(), ":edit [OBJ] SELECTOR")
    _, method = _method_of(session, obj, selector)
    if getattr(method, "language", "") == "primitive":
        raise BatosError(f"#{selector} is a primitive: batos code, not editable source")
    old = method.source
    from batos.guardian.confine import cache_root
    folder = cache_root() / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="batos-edit-", suffix=".py", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(old)
        if not _open_editor(session, path):
            session.print("the editor failed; nothing was changed")
            return False
        new = path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
    if new.strip() == old.strip():
        session.print("unchanged")
        return True
    image = session.image

    def action() -> str:
        from batos.mind.contracts import edit_method
        with session.transcript():
            edit_method(image.globals[obj], selector, new)
        return f"{obj} >> #{selector} edited"

    try:
        shown = image.execute(action, note=f":edit {obj} #{selector}")
    except Exception as exc:  # the audit's rejection (or any error): nothing changed
        session.show_error(exc, new)
        return False
    session.print(shown)
    return True


register_repl_commands()
