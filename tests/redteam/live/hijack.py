"""Hijacking methods from inside the image: mutating a Method's source, forging its
provenance, redefining inherited behaviour through ``parents()``, ``perform:`` or
``slotAt:``."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "hijack"


def _py(sel: str, params: str, body: str) -> str:
    """BST statement defining a Python method on ``attacker`` (a human act)."""
    name = sel.replace(":", "_")
    src = f"def {name}(self{params}):\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").split("\n"))
    return f"attacker define: #{sel} as: '{src.replace(chr(39), chr(39) * 2)}'.\n"


EVIL_DEPOSIT = ("def deposit_(self, amount):\\n    import os\\n"
                "    os.system(\\\"touch @M@\\\")\\n    return self\\n")

ATTACKS = [
    Attack(C, "method_source_builtins_vars",
           "m = self.method('printString'); m.source = 'builtins:vars' persists a hijack",
           "run", _py("pwn", "", '''
m = self.method("printString")
m.source = "builtins:vars"
return 1''') + "attacker pwn.\n"),
    Attack(C, "victim_method_source_rewritten",
           "another object's Python method gets unaudited source; it runs in the next process",
           "run", _py("pwn:", ", other", f'''
m = other.method("deposit:")
m.source = "{EVIL_DEPOSIT}"
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "forge_provenance_traits",
           "a method rewrites the provenance of traits' printString",
           "run", _py("pwn", "", '''
p = self.method("printString").provenance
p["author"] = "human"
p["audited_by"] = "ALFRED"
return 1''') + "attacker pwn.\n"),
    Attack(C, "forge_provenance_clear",
           "a method empties the provenance of victim's deposit:",
           "run", _py("pwn:", ", other", '''
other.method("deposit:").provenance.clear()
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "parents_redefine_dnu",
           "a method on a fresh clone walks self.parents() and redefines doesNotUnderstand_",
           "run", _py("pwn", "", '''
for p in self.parents():
    if p.has_slot("doesNotUnderstand_"):
        p.define("doesNotUnderstand:", "def doesNotUnderstand_(self, message):\\n    return 42\\n")
return 1''') + "attacker clone pwn.\n"),
    Attack(C, "parents_set_slot_method",
           "a method installs one of its own Methods as traits' printString",
           "run", _py("pwn", "", '''
evil = self.method("pwn")
for p in self.parents():
    p.set_slot("printString", evil)
return 1''') + "attacker pwn.\n"),
    Attack(C, "parents_lookup_tuple",
           "lookup() answers (owner, Method); the owner is redefined",
           "run", _py("pwn", "", '''
owner, m = self.lookup("describe") or self.lookup("clone")
owner.define("clone", "def clone(self):\\n    return self\\n")
return 1''') + "attacker pwn.\n"),
    Attack(C, "bst_method_parents_define",
           "a BST method redefines traits' printString through parents",
           "run", "attacker >> pwn [ self parents do: [:p | (p hasSlot: #printString) ifTrue: "
           "[p define: #printString as: '^''pwned'''] ]. ^1 ].\nattacker pwn.\n"),
    Attack(C, "bst_method_perform_define",
           "a BST method redefines another object's method with perform:",
           "run", "attacker >> pwn: other [ other perform: #define:as: with: #describe "
           "with: '^666'. ^1 ].\nattacker pwn: victim.\n"),
    Attack(C, "bst_method_perform_setslot_method",
           "a BST method copies its own Method into victim with perform: #setSlot:value:",
           "run", "attacker >> pwn: other [ other perform: #setSlot:value: with: #describe "
           "with: (self slotAt: #pwn_). ^1 ].\nattacker pwn: victim.\n"),
    Attack(C, "bst_method_rewire_parent",
           "a BST method replaces victim's parent slot with itself",
           "run", "attacker >> describe [ ^'hijacked' ].\n"
           "attacker >> pwn: other [ other setSlot: #'traits*' value: self. ^1 ].\n"
           "attacker pwn: victim.\n"),
    Attack(C, "py_vars_slots",
           "vars(other) reaches the slot table of another object",
           "run", _py("pwn:", ", other", '''
vars(other)["_slots"]["describe"] = self.method("pwn:")
other._p_changed = True
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "py_slotat_dnu_source",
           "slotAt: from a Python method fetches traits' doesNotUnderstand_ and rewrites it",
           "run", _py("pwn", "", '''
m = self.slotAt_("doesNotUnderstand_")
m.language = "python"
m.source = "def doesNotUnderstand_(self, message):\\n    return 42\\n"
return 1''') + "attacker pwn.\n"),
    Attack(C, "py_send_parents_define",
           "send('parents') then send('define:as:') on the parent from a Python method",
           "run", _py("pwn", "", '''
for p in self.send("parents"):
    p.send("define:as:", "doesNotUnderstand:", "def doesNotUnderstand_(self, message):\\n    return 42\\n")
return 1''') + "attacker pwn.\n"),
    Attack(C, "py_api_hijack_inside_send",
           "a Python method, sent by a human through the API, redefines traits' clone",
           "py", '''
attacker = image.globals["attacker"]
attacker.define("pwn", "def pwn(self):\\n"
                "    t = [p for p in self.parents() if p.has_slot('clone')][0]\\n"
                "    t.define('clone', 'def clone(self):\\\\n    return self\\\\n')\\n"
                "    return 1\\n")
image.commit("define pwn")
send(attacker, "pwn")
'''),
]
