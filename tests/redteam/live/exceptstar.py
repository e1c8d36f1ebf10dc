"""``except*``: the construct RestrictedPython 8 removed (CVE-2025-22153) must be refused."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "exceptstar"


def _py(name: str, body: str, call: str) -> str:
    src = f"def {name}(self):\n" + "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    return f"attacker define: #{name} as: '{src.replace(chr(39), chr(39) * 2)}'.\n{call}"


ATTACKS = [
    Attack(C, "plain_except_star", "a method with try/except* is accepted and runs",
           "run", _py("grp", '''
r = 0
try:
    raise ValueError("x")
except* ValueError as eg:
    r = len(eg.exceptions)
return r''', "attacker grp.\n")),
    Attack(C, "except_star_group_in_loop", "except* catching a group in a loop",
           "run", _py("loop", '''
n = 0
while n < 3:
    try:
        raise ValueError(n)
    except* (ValueError, TypeError):
        n = n + 1
return n''', "attacker loop.\n")),
    Attack(C, "except_star_exceptions", "except* handing out the group's exceptions",
           "run", _py("grab", '''
found = []
try:
    1 / 0
except* ZeroDivisionError as eg:
    found = list(eg.exceptions)
return len(found)''', "attacker grab.\n")),
    Attack(C, "except_star_nested_def", "except* inside a nested function",
           "run", _py("inner", '''
def helper():
    r = 1
    try:
        r = 2
    except* Exception:
        r = 3
    return r
return helper()''', "attacker inner.\n")),
]
