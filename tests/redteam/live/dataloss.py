"""Data silently lost: a plain container that gets *into* a stored persistent one (an
append, an item assignment) and is then mutated in place must survive a reload; an
oversized value must be refused at commit, not written."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "dataloss"

ATTACKS = [
    Attack(C, "py_api_append_then_mutate",
           "a person's script appends a plain list to a stored list, commits, mutates it in place",
           "py", '''
attacker = image.globals["attacker"]
attacker.set_slot("box", [])
image.commit("box")
attacker.box.append([1, 2])
image.commit("append a plain list")
attacker.box[0].append(99)
print(attacker.box[0])
image.commit("append in place")
''', expect="harmless", health={"(attacker box first) includes: 99": "true",
                                "(attacker box first) size": "3"}),
    Attack(C, "py_api_dict_item_then_mutate",
           "a plain dict stored as an item of a stored dict, then changed in place",
           "py", '''
attacker = image.globals["attacker"]
attacker.set_slot("rows", {})
image.commit("rows")
attacker.rows["a"] = {"n": 1}
image.commit("add a row")
attacker.rows["a"]["n"] = 2
image.commit("edit in place")
''', expect="harmless", health={"(attacker rows at: 'a') at: 'n'": "2"}),
    Attack(C, "bst_add_then_mutate",
           "BST: add: a collection to a stored collection, then add: to it in a later statement",
           "repl", "attacker setSlot: #box value: OrderedCollection new\n"
           "attacker box add: (OrderedCollection with: 1 with: 2)\n"
           "(attacker box first) add: 99\n(attacker box first) size\n",
           expect="harmless", health={"(attacker box first) includes: 99": "true"}),
    Attack(C, "bst_array_at_put_nested",
           "BST: an Array stored inside a stored Array, changed with at:put:",
           "repl", "attacker setSlot: #grid value: (Array new: 1)\n"
           "attacker grid at: 1 put: (Array with: 0 with: 0)\n"
           "(attacker grid at: 1) at: 2 put: 7\n",
           expect="harmless", health={"(attacker grid at: 1) at: 2": "7"}),
    Attack(C, "method_append_then_mutate",
           "audited methods following the covenant: one appends a list, another mutates it",
           "repl", "attacker setSlot: #box value: OrderedCollection new\n"
           "attacker define: #open as: 'def open(self):\n    self.box.append([1])\n"
           "    self._p_changed = True\n    return len(self.box)\n'\n"
           "attacker define: #push: as: 'def push_(self, x):\n    inner = self.box[0]\n"
           "    inner.append(x)\n    self._p_changed = True\n    return len(inner)\n'\n"
           "attacker open\nattacker push: 99\n",
           expect="harmless", health={"(attacker box first) includes: 99": "true"}),
    Attack(C, "oversized_string_slot",
           "a 300 MB string slot must be refused at commit (size cap), not written",
           "run", "attacker setSlot: #big value: (String new: 300000000).\n",
           timeout=20),
]
