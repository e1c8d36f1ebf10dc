"""Leaks: the format mini-language reached dynamically walks ``__init__.__globals__``
to ``os.environ``; the oracle is a secret environment variable's value, which must
never appear in the output."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "leak"

# The format string is assembled at run time: no dunder is visible in the source.
FMT = '''u = "_" * 2
path = ["{0.", u, "init", u, ".", u, "globals", u, "[dataclass].", u, "globals", u,
        "[sys].modules[os].environ[@SECRETVAR@]}"]
fmt = "".join(path)'''


def _leak(body: str, setup: str = "") -> str:
    src = "def leak_(self, arg):\n" + "".join(
        f"    {line}\n" for line in (FMT + "\n" + body).strip("\n").split("\n"))
    return (setup + f"attacker define: #leak: as: '{src.replace(chr(39), chr(39) * 2)}'.\n"
            "(attacker leak: victim) displayNl.\n")


MAP_FMT = 'fmt = fmt.replace("{0.", "{x.")\n'

ATTACKS = [
    Attack(C, "getattr_format", "getattr(fmt, 'format')(self)",
           "run", _leak('return getattr(fmt, "format")(self)'), expect="harmless"),
    Attack(C, "getattr_format_arg", "getattr(fmt, 'format') walking another object",
           "run", _leak('f = getattr(fmt, "format")\nreturn f(arg)'), expect="harmless"),
    Attack(C, "methodcaller_format", "operator.methodcaller('format', self)(fmt)",
           "run", _leak('import operator\nreturn operator.methodcaller("format", self)(fmt)'),
           expect="harmless"),
    Attack(C, "methodcaller_in_map", "the methodcaller applied by map()",
           "run", _leak('import operator\nm = operator.methodcaller("format", self)\n'
                        'return list(map(m, [fmt]))[0]'), expect="harmless"),
    Attack(C, "attrgetter_format", "operator.attrgetter('format')(fmt)(arg)",
           "run", _leak('import operator\nreturn operator.attrgetter("format")(fmt)(arg)'),
           expect="harmless"),
    Attack(C, "getattr_format_map", "getattr(fmt, 'format_map') with a mapping",
           "run", _leak(MAP_FMT + 'return getattr(fmt, "format_map")({"x": self})'),
           expect="harmless"),
    Attack(C, "methodcaller_format_map", "methodcaller('format_map', mapping)",
           "run", _leak(MAP_FMT + 'import operator\n'
                        'return operator.methodcaller("format_map", {"x": arg})(fmt)'),
           expect="harmless"),
    Attack(C, "attrgetter_format_map", "attrgetter('format_map') bound to a name first",
           "run", _leak(MAP_FMT + 'import operator\ng = operator.attrgetter("format_map")\n'
                        'return g(fmt)({"x": arg})'), expect="harmless"),
    Attack(C, "error_message_carries_leak", "the leaked value raised inside an error message",
           "run", _leak('raise ValueError(getattr(fmt, "format")(self))'), expect="harmless"),
    Attack(C, "bst_format_colon", "BST's format: with a runtime-built template",
           "repl", "| u | u := '_' , '_'. ('{1.' , u , 'init' , u , '.' , u , 'globals' , u , "
           "'[dataclass].' , u , 'globals' , u , '[sys].modules[os].environ[@SECRETVAR@]}' "
           "format: {victim}) displayNl\n", expect="harmless"),
    Attack(C, "import_module_environ", "the environment read through an import primitive",
           "run", _leak('self.define("imp_", "importlib:import_module", language="primitive")\n'
                        'return self.method("imp_").function("os").environ["@SECRETVAR@"]'),
           expect="harmless"),
    Attack(C, "import_module_read_file", "a private file read through an import primitive",
           "run", _leak('self.define("imp_", "importlib:import_module", language="primitive")\n'
                        'return self.method("imp_").function("builtins").open("@SECRETFILE@").read()'),
           expect="harmless"),
]
