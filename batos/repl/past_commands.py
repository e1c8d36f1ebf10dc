"""``:at WHEN``, ``:now`` and ``:blame OBJ``: the image's past in the REPL (issue 18).

``:at WHEN`` turns the session into a read-only view of the image as of WHEN (a
transaction id, an ISO time, ``-10m``, ``yesterday``): statements, ``:inspect`` and
``:source`` answer from then, writes are refused, the prompt shows the time
(``batos@2026-12-02 15:04>``). ``:now`` returns to the present.
"""
from __future__ import annotations

from typing import Any, Optional

from batos.repl.commands import register_command

#: the REPL session (:class:`batos.repl.session.ReplSession`)
ReplSession = Any


def _usage(text: str) -> Exception:
    from batos.errors import UsageError
    return UsageError(f"usage: {text}")


def repl_at(session: "ReplSession", arg: str) -> Optional[bool]:
    """``:at WHEN``: a read-only view of the past; ``:at`` alone says where we are."""
    if not arg:
        if session.past is None:
            session.print("in the present (:at WHEN looks at the past)")
        else:
            from batos.render.past import when_line
            session.print(when_line(session.past.when))
        return None
    view = session.enter_past(arg)
    from batos.render.past import when_line
    line = when_line(view.when)
    line.append(" · read-only; :now returns to the present", style="")
    session.print(line)
    return None


def repl_now(session: "ReplSession", arg: str) -> Optional[bool]:
    """``:now``: back to the present."""
    if arg:
        raise _usage(":now")
    session.print("back to the present" if session.leave_past() else "already in the present")
    return None


def repl_blame(session: "ReplSession", arg: str) -> Optional[bool]:
    """``:blame OBJ``: for each slot, the transaction that last set it."""
    if not arg:
        raise _usage(":blame OBJ")
    from batos.image import past
    from batos.render.past import blame_table, to_plain
    image = session.image
    rows = session.peek(arg, lambda value: to_plain(past.blame(image, value),
                                                   image.print_string), present=True)
    session.print(blame_table(f"blame {arg}", rows))
    return None


register_command("at", repl_at, "a read-only view of the image as of WHEN (a transaction id, "
                 "an ISO time, -10m, yesterday); :now returns", ":at WHEN")
register_command("now", repl_now, "leave the view of the past (:at) for the present", ":now")
register_command("blame", repl_blame, "for each slot of OBJ, the transaction that last set it "
                 "(note, time, kind)", ":blame OBJ")
