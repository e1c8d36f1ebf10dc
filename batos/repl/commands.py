"""Meta commands (``:help``, ``:inspect``, ``:source`` ...) and their registry.

Other subsystems add or replace commands with :func:`register_command`; a
command is ``fn(session, arg) -> bool | None`` (``False`` marks a failure, for
the pipe mode's exit code). Modules named in :data:`PROVIDERS` (and entry points
in the ``batos.repl_commands`` group) are imported when the first command runs,
so ``:trace``, ``:persona`` and ``:log`` are filled in by the subsystems that own
them; until then they say so.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

#: the REPL session a command receives (:class:`batos.repl.session.ReplSession`, named
#: only: the session imports this module to run commands)
ReplSession = Any

__all__ = ["Command", "register_command", "commands", "run_command", "PROVIDERS"]

CommandFn = Callable[["ReplSession", str], Optional[bool]]


@dataclass(frozen=True)
class Command:
    """A registered meta command."""

    name: str
    fn: CommandFn
    help: str
    usage: str
    aliases: tuple[str, ...] = ()
    builtin: bool = False


_REGISTRY: dict[str, Command] = {}
_ALIASES: dict[str, str] = {}
_providers_loaded = False

# Subsystems that register commands: "module" (registers on import) or "module:function"
# (called with no arguments). Missing modules are skipped.
PROVIDERS: list[str] = ["batos.repl.mind_commands", "batos.repl.guardian_commands",
                        "batos.repl.past_commands", "batos.repl.contract_commands",
                        "batos.repl.heartbeat_commands"]


def register_command(name: str, fn: CommandFn, help: str, usage: str | None = None,
                     aliases: tuple[str, ...] = ()) -> Command:
    """Add (or replace) the meta command ``:name``."""
    name = name.lstrip(":")
    command = Command(name, fn, help, usage or f":{name}", tuple(aliases))
    _REGISTRY[name] = command
    for alias in aliases:
        _ALIASES[alias] = name
    return command


def _builtin(name: str, help: str, usage: str | None = None,
             aliases: tuple[str, ...] = ()) -> Callable[[CommandFn], CommandFn]:
    def deco(fn: CommandFn) -> CommandFn:
        command = register_command(name, fn, help, usage, aliases)
        _REGISTRY[name] = dataclasses.replace(command, builtin=True)
        return fn
    return deco


def load_providers() -> None:
    """Import the subsystems that contribute commands (once)."""
    global _providers_loaded
    if _providers_loaded:
        return
    _providers_loaded = True
    for ref in PROVIDERS:
        module, _, function = ref.partition(":")
        try:
            if importlib.util.find_spec(module) is not None:
                loaded = importlib.import_module(module)
                if function:
                    getattr(loaded, function)()
        except Exception:  # a broken provider must not take the REPL down
            import logging
            logging.getLogger("batos.repl").exception("loading REPL commands from %s", module)
    try:
        from importlib.metadata import entry_points
        for ep in entry_points(group="batos.repl_commands"):
            try:
                ep.load()
            except Exception:
                import logging
                logging.getLogger("batos.repl").exception("loading REPL commands %s", ep)
    except Exception:
        pass


def commands() -> list[Command]:
    """Every registered command, by name."""
    load_providers()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def find(name: str) -> Command | None:
    load_providers()
    name = _ALIASES.get(name, name)
    return _REGISTRY.get(name)


def run_command(session: "ReplSession", text: str) -> bool:
    """Run ``:name args``; unknown names get suggestions. True unless it failed."""
    name, _, arg = text.strip()[1:].partition(" ")
    command = find(name.strip())
    if command is None:
        close = difflib.get_close_matches(name, [c.name for c in commands()], n=2)
        hint = f" (did you mean {', '.join(':' + c for c in close)}?)" if close else ""
        session.print(f"unknown command :{name}{hint}; :help lists the commands")
        return False
    try:
        result = command.fn(session, arg.strip())
    except KeyboardInterrupt:
        session.image.abort()
        session.print("interrupted; rolled back")
        return False
    except Exception as exc:
        session.show_error(exc, arg)
        return False
    return result is not False


# --- helpers --------------------------------------------------------------------------

_SELECTOR = re.compile(r"#?([A-Za-z_][A-Za-z0-9_]*:?)+$|#?[+\-*/\\<>=~@%|&?,]+$")


def _split_last(arg: str, what: str) -> tuple[str, str]:
    """``'counter at:put:'`` → ``('counter', 'at:put:')``."""
    parts = arg.rsplit(None, 1)
    if len(parts) != 2 or not _SELECTOR.match(parts[1]):
        raise _Usage(what)
    return parts[0], parts[1].lstrip("#")


def _Usage(usage: str) -> Exception:  # noqa: N802 - reads like the exception it builds
    from batos.errors import UsageError
    return UsageError(f"usage: {usage}")


def _method_of(session: "ReplSession", expr: str, selector: str) -> tuple[str, Any]:
    """(owner description, Method) for ``expr``'s ``selector``; raises with suggestions."""
    from batos.errors import BatosError
    from batos.image.proto import Proto, name_to_selector, selector_to_name

    def find_method(value: Any) -> tuple[str, Any]:
        if not isinstance(value, Proto):
            from batos.repl.render import preview
            raise BatosError(f"{preview(value)} is not a prototype; its protocol is built in "
                             "and has no stored source")
        found = value.lookup(selector_to_name(selector))
        if found is None or not hasattr(found[1], "source"):
            names = [name_to_selector(i.name, i.name.count("_") if i.name.endswith("_") else 0)
                     for i in value.slots() if i.kind == "method"]
            close = difflib.get_close_matches(selector, names, n=3)
            hint = f" (did you mean {', '.join('#' + c for c in close)}?)" if close else ""
            raise BatosError(f"{value._display()} has no method #{selector}{hint}")
        owner, method = found
        method.source  # noqa: B018 - read it while the transaction is still open
        return owner._display(), method

    return session.peek(expr, find_method)


# --- built-in commands ------------------------------------------------------------------

@_builtin("help", "this help", ":help [COMMAND]", aliases=("h", "?"))
def _help(session: "ReplSession", arg: str) -> None:
    from batos.repl.render import help_table
    if arg:
        command = find(arg.lstrip(":"))
        if command is None:
            session.print(f"unknown command :{arg.lstrip(':')}")
            return False  # type: ignore[return-value]
        session.print(f"{command.usage}\n  {command.help}")
        return None
    session.print(help_table((c.name, c.usage, c.help) for c in commands()))
    return None


@_builtin("inspect", "slot inspector (owner, kind, value of each slot); a trailing slot name "
          "follows that slot", ":inspect EXPR [SLOT]", aliases=("i",))
def _inspect(session: "ReplSession", arg: str) -> Optional[bool]:
    if not arg:
        raise _Usage(":inspect EXPR [SLOT]")
    from batos.image.proto import Proto

    parts = arg.rsplit(None, 1)
    if len(parts) == 2 and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\*?", parts[1])
                            or _SELECTOR.match(parts[1])):
        expr, slot = parts[0], parts[1].lstrip("#")   # a keyword selector names its slot
        from batos.image.proto import selector_to_name

        def follow(value: Any) -> bool:
            if not isinstance(value, Proto):
                return False
            found = value.lookup(slot) or value.lookup(selector_to_name(slot))
            if found is None:
                return False
            owner, target = found
            _show_object(session, target, title=f"{value._display()} . {slot}",
                         owner=owner._display(), selector=slot)
            return True

        try:
            if session.peek(expr, follow):
                return None
        except Exception:
            pass  # not "EXPR SLOT": inspect the whole text as one expression
    session.peek(arg, lambda value: _show_object(session, value))
    return None


def _show_object(session: "ReplSession", value: Any, *, title: str | None = None,
                 owner: str = "", selector: str = "") -> None:
    from batos.image.method import Method
    from batos.repl.render import method_view, slot_table
    if isinstance(value, Method):
        session.print(method_view(owner, getattr(value, "selector", selector), value))
        return
    try:
        from batos.render.inspector import Inspector
        view: Any = Inspector(value)
    except ImportError:
        view = slot_table(value)
    if title:
        session.print(title, style="bold")
    session.print(view)


@_builtin("source", "a method's source, highlighted, with its provenance",
          ":source OBJ SELECTOR", aliases=("src",))
def _source(session: "ReplSession", arg: str) -> None:
    from batos.repl.render import method_view
    expr, selector = _split_last(arg, ":source OBJ SELECTOR")
    owner, method = _method_of(session, expr, selector)
    session.print(method_view(owner, getattr(method, "selector", selector), method))
    from batos.render.inspector import contract_lines  # the selector's contract, if any
    for line in session.peek(expr, lambda value: contract_lines(value, selector)):
        session.print(line)


@_builtin("audit", "the guardian's report on a method", ":audit OBJ SELECTOR")
def _audit(session: "ReplSession", arg: str) -> None:
    expr, selector = _split_last(arg, ":audit OBJ SELECTOR")
    owner, method = _method_of(session, expr, selector)
    report = getattr(method, "audit", None)
    if report is None and getattr(method, "language", "python") == "python":
        from batos.guardian import audit
        report = audit(method.source, selector=getattr(method, "selector", selector))
    if report is None:
        language = getattr(method, "language", "?")
        session.print(f"{owner} >> {selector}: no audit report ({language} methods "
                      "are not audited by the guardian)")
        return
    session.print(f"{owner} >> {selector}", style="bold")
    session.print(report if hasattr(report, "__rich__") or hasattr(report, "__rich_console__")
                  else str(report))


@_builtin("history", "the image's recent transactions", ":history [N]")
def _history(session: "ReplSession", arg: str) -> None:
    from batos.repl.render import history_table
    limit = int(arg) if arg.isdigit() else 20
    session.print(history_table(session.image.history(limit)))


@_builtin("undo", "undo a transaction (default: the latest)", ":undo [TXN]")
def _undo(session: "ReplSession", arg: str) -> None:
    from batos.image.history import latest_undoable  # the same default as `batos image undo`
    image = session.image
    txn = arg.strip() or latest_undoable(image)
    result = image.undo(txn)
    image.abort()  # see the undone state
    note = ""
    if isinstance(result, dict):
        note = str(result.get("note") or result.get("description") or "")
    session.print(f"undone {txn}" + (f": {note}" if note else ""))


@_builtin("vars", "workspace variables of this session", ":vars")
def _vars(session: "ReplSession", arg: str) -> None:
    from batos.repl.render import vars_table
    session.print(vars_table(session.image.workspace))


@_builtin("debug", "show Python tracebacks under errors", ":debug on|off")
def _debug(session: "ReplSession", arg: str) -> Optional[bool]:
    if arg in ("on", "off"):
        session.debug = arg == "on"
    elif arg:
        raise _Usage(":debug on|off")
    session.print(f"debug {'on' if session.debug else 'off'}")
    return None


@_builtin("quit", "close the image and leave", ":quit", aliases=("q", "exit"))
def _quit(session: "ReplSession", arg: str) -> None:
    session.done = True


def _placeholder(name: str, message: str, usage: str, help: str) -> None:
    def fn(session: "ReplSession", arg: str) -> None:
        if name == "persona" and arg:
            session.image.options["persona"] = arg.strip().upper()
            session.print(f"personas are not installed yet; {arg.strip().upper()} noted "
                          "for this session")
            return
        session.print(message)
    _builtin(name, help, usage)(fn)


_placeholder("trace", "no traces yet", ":trace [N]",
             "the last doesNotUnderstand_ cycles (states, prompts, audits)")
_placeholder("persona", "no personas yet", ":persona [NAME]",
             "show or switch the persona that writes missing methods")


@_builtin("log", "recent generations by the model (prompt, verdict, timings)", ":log [N]")
def _log(session: "ReplSession", arg: str) -> None:
    try:
        from batos.mind import genlog
    except ImportError:
        session.print("no log entries yet")
        return
    rows = genlog.entries(session.image, int(arg) if arg.isdigit() else 20)
    if not rows:
        session.print("no generations logged yet")
    for ident, record in rows:
        session.print(genlog.record_line(ident, record))
