"""Corrupting the image: private selectors from BST, writes to another object's slots
from a method (only an object's own methods may change its slots)."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "corrupt"


def _py(sel: str, params: str, body: str) -> str:
    name = sel.replace(":", "_")
    src = f"def {name}(self{params}):\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").split("\n"))
    return f"attacker define: #{sel} as: '{src.replace(chr(39), chr(39) * 2)}'.\n"


ATTACKS = [
    Attack(C, "perform_private_slots",
           "(traits perform: #_slots) at: '_slots' put: 3 breaks every send after reopening",
           "eval", "(traits perform: #_slots) at: '_slots' put: 3"),
    Attack(C, "perform_private_computed",
           "the private selector assembled at run time",
           "eval", "(traits perform: ('_' , 'slots') asSymbol) at: 'clone' put: 3"),
    Attack(C, "perform_with_arguments_private",
           "perform:withArguments: with a private selector",
           "eval", "(genesis perform: #_slots withArguments: #()) removeKey: 'traits*'"),
    Attack(C, "perform_p_jar_root",
           "reach the ZODB connection and root from BST",
           "eval", "((genesis perform: #_p_jar) perform: #root) at: 'globals' put: 3"),
    Attack(C, "perform_dunder_dict",
           "__dict__ through perform: in a BST method",
           "run", "attacker >> pwn [ ^(traits perform: #__dict__) at: '_slots' put: nil ].\n"
           "attacker pwn.\n"),
    Attack(C, "perform_setstate",
           "__setstate__ with garbage through perform:with:",
           "eval", "traits perform: #__setstate__: with: 3"),
    Attack(C, "py_write_other_slot",
           "a Python method assigns another object's data slot",
           "run", _py("pwn:", ", other", '''
other.balance = 0
return other''') + "attacker pwn: victim.\n"),
    Attack(C, "py_set_slot_other",
           "set_slot on another object",
           "run", _py("pwn:", ", other", '''
other.set_slot("owner", "mallory")
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "py_remove_slot_other",
           "remove_slot / del on another object",
           "run", _py("pwn:", ", other", '''
del other.balance
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "py_mutate_other_container",
           "another object's stored list mutated in place",
           "run", _py("pwn:", ", other", '''
other.items.append(666)
other.items[0] = -1
return 1''') + "attacker pwn: victim.\n"),
    Attack(C, "py_getattr_p_jar",
           "the connection through a computed getattr, then root['globals'] rebound",
           "run", _py("pwn", "", '''
jar = getattr(self, "_p" + "_jar")
root = jar.root()
root["globals"] = 3
return 1''') + "attacker pwn.\n"),
    Attack(C, "bst_method_setslot_other",
           "a BST method writes another object's slot with setSlot:value:",
           "run", "attacker >> pwn: other [ other setSlot: #balance value: 0. ^1 ].\n"
           "attacker pwn: victim.\n"),
    Attack(C, "bst_method_removeslot_other",
           "a BST method removes another object's slot",
           "run", "attacker >> pwn: other [ other removeSlot: #balance. ^1 ].\n"
           "attacker pwn: victim.\n"),
    Attack(C, "bst_method_parents_removeslot",
           "a BST method strips traits through its parents",
           "run", "attacker >> pwn [ self parents do: [:p | (p hasSlot: #clone) ifTrue: "
           "[p removeSlot: #clone]]. ^1 ].\nattacker pwn.\n"),
]
