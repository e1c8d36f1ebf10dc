"""Runaway work the limits must stop: loops inside C, swallowed breaches, finalizers
outside every limit, allocations whose size is known only at run time.

Sizes are chosen so that an unstopped attack is visible (peak RSS above the cap,
or an allocation that succeeds) without endangering the machine: every child
also runs under a soft RLIMIT_AS safety net set by the harness (4 GB)."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "runaway"


def _py(sel: str, params: str, body: str) -> str:
    name = sel.replace(":", "_")
    src = f"def {name}(self{params}):\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").split("\n"))
    return f"attacker define: #{sel} as: '{src.replace(chr(39), chr(39) * 2)}'.\n"


def _run(body: str, params: str = "", call: str = "attacker spin.\n") -> str:
    return _py("spin", params, body) + call


def _repl(sel: str, params: str, body: str) -> str:
    """The same definition as one REPL statement (no trailing period)."""
    return _py(sel, params, body)[:-2] + "\n"


META_EXIT = '''meta = type(type(1))
names = ["_" * 2 + n + "_" * 2 for n in ["enter", "exit"]]
k = meta("G", (), dict(zip(names, [lambda s: s, lambda s, *a: True])))'''

ATTACKS = [
    Attack(C, "any_iter_alias", "any(iter(int, 1)) through aliases: a C loop no tick interrupts",
           "run", _run('f = any\ng = iter\nreturn f(g(int, 1))'), expect="hard-deadline"),
    Attack(C, "sum_iter_alias", "sum() over an endless C iterator",
           "run", _run('total = sum\nsrc = iter(int, 1)\nreturn total(src)'),
           expect="hard-deadline"),
    Attack(C, "deque_count_alias", "deque(count(), 0) through aliases: an endless C loop "
           "that allocates nothing", "run", _run('''
import itertools, collections
d = collections.deque
c = itertools.count
return d(c(), 0)'''), expect="hard-deadline"),
    Attack(C, "repl_any_iter", "the REPL running a C loop: hard deadline, then a restart",
           "repl", _repl("spin", "", 'f = any\nreturn f(iter(int, 1))')
           + "attacker spin\n3 + 4\n", expect="hard-deadline"),
    Attack(C, "exit_true_class_statement", "a class statement whose __exit__ answers True "
           "swallows the breach, forever", "run", _run('''
class Guard:
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return True
while self.note:
    with Guard():
        while self.note:
            pass'''), timeout=8),
    Attack(C, "exit_true_metaclass", "the swallowing class built with type(type(1)) and "
           "dunder names assembled at run time", "run", _run(META_EXIT + '''
while self.note:
    with k():
        while self.note:
            pass'''), timeout=8),
    Attack(C, "exit_true_around_c_loop", "the swallowing context around a C loop",
           "run", _run(META_EXIT + '''
f = any
while self.note:
    with k():
        f(iter(int, 1))'''), expect="hard-deadline"),
    Attack(C, "del_in_mutable_default", "a __del__ kept alive by a mutable default loops at "
           "interpreter exit, outside every limit", "run", _run('''
meta = type(type(1))
u = "_" * 2
def spin(s):
    while s:
        pass
k = meta("Late", (), {u + "d" + "el" + u: spin})
keep.append(k())
return len(keep)''', ", keep=[]"), timeout=8),
    Attack(C, "mutable_default_hoard", "a mutable default hoards memory across statements",
           "repl", _repl("hoard", ", keep=[]", 'n = len(self.note) * 6 * 10 ** 6\n'
                         'keep.append("x" * n)\nreturn len(keep)') + "attacker hoard\n" * 10,
           timeout=20),
    Attack(C, "fstring_width_runtime", "f-string width computed at run time (1.5 GB)",
           "run", _run('n = int("15" + "0" * 8)\nreturn len(f"{1:>{n}}")'), timeout=8),
    Attack(C, "format_spec_width_runtime", "format() with a spec built at run time",
           "run", _run('spec = ">" + str(15 * 10 ** 8)\nreturn len(format(self.note, spec))'),
           timeout=8),
    Attack(C, "bytearray_runtime", "bytearray(n) with n known only at run time (2.5 GB)",
           "run", _run('n = int("25" + "0" * 8)\nreturn len(bytearray(n))'), timeout=8),
    Attack(C, "str_repeat_runtime", "'a' * n with n computed (1.3 GB)",
           "run", _run('n = len(self.note) * 10 ** 8 // 2\nreturn len("a" * n)'), timeout=8),
    Attack(C, "list_cycle_alias", "list(itertools.cycle(...)) through aliases grows in C until "
           "memory runs out", "run",
           _run('import itertools\nc = itertools.cycle\nmake = list\nreturn len(make(c([1, 2])))'),
           timeout=10),
    Attack(C, "bst_string_new", "String new: n with n computed in BST (1.5 GB)",
           "run", "| n | n := (10 raisedTo: 8) * 15. (String new: n) size.\n", timeout=8),
    Attack(C, "bst_interval_as_array", "(1 to: n) asArray with n computed (about 2 GB)",
           "run", "| n | n := (10 raisedTo: 7) * 6. (1 to: n) asArray size.\n", timeout=15),
    Attack(C, "bst_array_new", "Array new: n with n computed",
           "run", "| n | n := 2 raisedTo: 28. (Array new: n) size.\n", timeout=8),
]
