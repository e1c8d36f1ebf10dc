"""The guardian's REPL meta commands, ``:guardian`` and ``:audit-source`` (the REPL owns
its commands; :data:`batos.repl.commands.PROVIDERS` loads this module)."""
from __future__ import annotations

from typing import Any


def _guardian(session: Any, arg: str) -> None:
    """``:guardian [RULE]`` — the rule catalogue, import allow-list and default limits."""
    from batos.render.rules import rules_table
    session.print(rules_table(arg.strip() or None))


def _audit_source(session: Any, arg: str) -> None:
    """``:audit-source CODE`` — audit Python method source typed at the prompt."""
    from batos.guardian import audit
    source = arg.replace("\\n", "\n")
    session.print(audit(source if source.endswith("\n") else source + "\n"))


def register_repl_commands() -> bool:
    """Register the guardian's commands (True)."""
    from batos.repl.commands import register_command
    register_command("guardian", _guardian, "the guardian's rules, allow-list and limits",
                     ":guardian [RULE]")
    register_command("audit-source", _audit_source, "audit Python method source "
                     "(\\n for newlines)", ":audit-source def m(self): ...")
    return True


register_repl_commands()
