"""The mind's REPL meta commands: ``:trace [ID|last|list]`` and ``:persona [NAME]``.

The REPL owns its commands; :data:`batos.repl.commands.PROVIDERS` loads this module.
"""
from __future__ import annotations

from typing import Any

from batos.mind.trace import get_trace, list_traces


def register_repl_commands() -> bool:
    """Register ``:trace [ID|last|list]`` and ``:persona [NAME]`` (True)."""
    from batos.repl.commands import register_command
    register_command("trace", repl_trace,
                     "the last cognitive cycle's trace (states, personas, tokens, verdicts)",
                     ":trace [ID|last|list]")
    register_command("persona", repl_persona,
                     "show the personas, or choose the one that writes missing methods",
                     ":persona [NAME]")
    return True


def repl_trace(session: Any, arg: str = "") -> None:
    """``:trace [ID|last|list]``: print a trace (a BatosError is shown by the REPL)."""
    word = (arg or "").strip() or "last"
    if word == "list":
        from batos.render.trace import render_trace_table
        session.print(render_trace_table(list_traces(session.image, 20)))
        return None
    session.print(get_trace(session.image, word))
    return None


def repl_persona(session: Any, arg: str = "") -> None:
    """``:persona`` lists the personas; ``:persona NAME`` makes NAME write methods."""
    from batos.mind.personas import find_persona, persona_name
    image = session.image
    word = (arg or "").strip()
    if not word:
        from batos.render.persona import render_persona_table
        session.print(render_persona_table(image))
        current = image.options.get("persona")
        if current:
            session.print(f"this session: {current}")
        return None
    name = persona_name(find_persona(image, word))
    image.options["persona"] = name
    session.print(f"{name} writes the missing methods from now on in this session")
    from batos.mind.warmup import warm_persona  # its prompt prefix, evaluated while you type
    warm_persona(image, name)
    return None


register_repl_commands()
