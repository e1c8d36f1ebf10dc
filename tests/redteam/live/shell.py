"""Shell from an audited method: primitives named by ``module:function`` strings,
Method objects built or rebuilt from inside a method, their ``.function``."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "shell"


def _py_method(body: str, sel: str = "pwn") -> str:
    """A ``batos run`` script: the attacker defines a Python method (a human act, audited)
    and sends it."""
    src = f"def {sel}(self):\n" + "".join(f"    {line}\n" for line in body.strip("\n").split("\n"))
    return f"attacker define: #{sel} as: '{src.replace(chr(39), chr(39) * 2)}'.\nattacker {sel}.\n"


ATTACKS = [
    Attack(C, "define_primitive_os_system",
           "a method stores an os:system primitive on itself and calls its .function",
           "run", _py_method('''
self.define("sys_", "os:system", language="primitive")
return self.method("sys_").function("touch @M@")''')),
    Attack(C, "define_primitive_posix_system",
           "same through posix:system and a selector that looks harmless",
           "run", _py_method('''
self.define("refresh", "posix:system", language="primitive")
f = self.method("refresh").function
return f("touch @M@")''')),
    Attack(C, "define_primitive_then_send",
           "a method arms a stored two-argument primitive (pydoc:pipepager runs its second "
           "argument in a shell); an ordinary BST send fires it",
           "run", _py_method('''
self.define("page:", "pydoc:pipepager", language="primitive", audit=False)
return 1''', "arm") + "attacker page: 'touch @M@'.\n"),
    Attack(C, "method_type_constructor",
           "type(self.method('clone'))(...) builds a primitive Method without storing it",
           "run", _py_method('''
m = type(self.method("clone"))("x", "os:system", "primitive")
return m.function("touch @M@")''')),
    Attack(C, "method_create_classmethod",
           "the Method class reached through type() and its create() classmethod",
           "run", _py_method('''
k = type(self.method("printString"))
m = k.create("x", "os:system", language="primitive")
return m.function("touch @M@")''')),
    Attack(C, "import_module_open",
           "importlib:import_module as a primitive hands out builtins.open",
           "run", _py_method('''
self.define("imp_", "importlib:import_module", language="primitive")
b = self.method("imp_").function("builtins")
b.open("@M@", "w").write("x")
return b.open("@SECRETFILE@").read()''')),
    Attack(C, "import_module_via_constructor",
           "import_module through a constructed Method, then os.system",
           "run", _py_method('''
imp = type(self.method("clone"))("y", "importlib:import_module", "primitive").function
return imp("os").system("touch @M@")''')),
    Attack(C, "mutate_method_source_then_call",
           "an existing Method's language/source rewritten to os:system, then called",
           "run", _py_method('''
m = self.method("printString")
m.language = "primitive"
m.source = "os:system"
return m.function("touch @M@")''')),
    Attack(C, "attrgetter_function_property",
           "operator.attrgetter('function') on a stored primitive Method",
           "run", _py_method('''
import operator
self.define("s_", "posix:system", language="primitive")
return operator.attrgetter("function")(self.method("s_"))("touch @M@")''')),
    Attack(C, "bst_slotat_method_function",
           "BST: a Method object fetched with slotAt: asked for its function",
           "repl", "attacker define: #s: as: 'def s_(self, c):\n    return c\n'\n"
           "((attacker slotAt: #s_) perform: #function) value: 'touch @M@'\n"
           "(traits slotAt: #clone) perform: #source: with: 'os:system'\n"
           "(traits slotAt: #clone) printString\n"),
    Attack(C, "py_api_define_in_method_argument",
           "a human sends a Python method another object; the method defines a primitive on it",
           "py", '''
attacker = image.globals["attacker"]
victim = image.globals["victim"]
attacker.define("infect:", "def infect_(self, other):\\n"
                "    other.define('shell', 'os:system', language='primitive')\\n"
                "    return other.method('shell').function('touch @M@')\\n")
image.commit("define infect:")
send(attacker, "infect:", victim)
'''),
]
