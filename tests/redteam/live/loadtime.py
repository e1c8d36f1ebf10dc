"""Code that runs when the image is opened: objects whose unpickling calls something.

Three sources: a method that builds a class with ``type(type(1))`` (and borrows a
callable through a primitive leak), a person using the Python API, and a hostile
image file crafted outside batos with plain ZODB (the image must still be safe
to open: a restricted class resolution refuses what is not batos's)."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "loadtime"

# A method that answers a gadget: an instance of a class made by the real metaclass,
# whose computed __reduce__ answers (os.system, (cmd,)).  `base` chooses the class to
# subclass (object, or the class of an argument: Symbol, Point...).
GADGET = r'''attacker define: #gadget: as: 'def gadget_(self, base):
    self.define("imp_", "importlib:import_module", language="primitive", audit=False)
    m = self.method("imp_").function("posix")
    meta = type(type(1))
    u = "_" * 2
    ns = {u + "reduce" + u: lambda s: (m.system, ("touch @M@",))}
    bases = () if base is None else (type(base),)
    k = meta("Gadget", bases, ns)
    return k("x") if bases else k()
'.
'''

# A person's Python script with a gadget class of its own (no leak needed).
PY_GADGET = '''
import os
class Gadget:
    def __reduce__(self):
        return (os.system, ("touch @M@",))
attacker = image.globals["attacker"]
'''

# A hostile image crafted with plain ZODB, bypassing every batos check on the way in.
RAW = '''
import os, sys, subprocess, transaction, ZODB, ZODB.FileStorage
from batos.image import proto as _proto
_proto.Proto.__getstate__ = lambda self: {"_slots": self.__dict__["_slots"],
                                          "_name": self.__dict__.get("_name")}
class Gadget:
    def __reduce__(self):
        return (os.system, ("touch @M@",))
class Spawn:
    def __reduce__(self):
        return (subprocess.Popen, (["touch", "@M@"],))
db = ZODB.DB(ZODB.FileStorage.FileStorage(sys.argv[1]))
conn = db.open()
root = conn.root()
victim = root["globals"]["victim"]
victim._p_activate()
'''
RAW_END = '''
transaction.commit()
conn.close(); db.close()
'''

ATTACKS = [
    Attack(C, "method_gadget_in_slot",
           "a type(type(1)) class with a computed __reduce__ stored in a slot",
           "run", GADGET + "attacker setSlot: #g value: (attacker gadget: nil).\n"),
    Attack(C, "method_gadget_in_point",
           "the gadget inside a Point (a registered value type)",
           "run", GADGET + "attacker setSlot: #p value: 3 @ (attacker gadget: nil).\n"),
    Attack(C, "method_gadget_symbol_subclass",
           "a subclass of Symbol with a __reduce__, stored in a slot",
           "run", GADGET + "attacker setSlot: #s value: (attacker gadget: #foo).\n"),
    Attack(C, "method_gadget_smalltalk_at_put",
           "the gadget bound as a global through Smalltalk at:put:",
           "run", GADGET + "Smalltalk at: #gadget put: (attacker gadget: nil).\n",
           allow=("root/globals/attacker*", "root/globals/gadget*")),
    Attack(C, "method_gadget_in_collection",
           "the gadget inside an Array inside a Dictionary",
           "run", GADGET + "attacker setSlot: #d value: (Dictionary new at: #k put: "
           "(Array with: 1 with: (attacker gadget: nil)); yourself).\n"),
    Attack(C, "method_gadget_own_slot_from_python",
           "the method stores the gadget in its own slot itself",
           "run", GADGET + "attacker define: #arm as: 'def arm(self):\n"
           "    self.loot = [self.gadget_(None)]\n    self._p_changed = True\n    return 1\n'.\n"
           "attacker arm.\n"),
    Attack(C, "method_gadget_in_provenance",
           "the gadget hidden in a Method's provenance mapping",
           "run", GADGET + "attacker define: #arm as: 'def arm(self):\n"
           "    self.method(\"arm\").provenance[\"x\"] = self.gadget_(None)\n    return 1\n'.\n"
           "attacker arm.\n"),
    Attack(C, "py_api_gadget_set_slot",
           "a person's script stores a __reduce__ gadget with set_slot and commits",
           "py", PY_GADGET + 'attacker.set_slot("g", Gadget())\nimage.commit("gadget")\n'),
    Attack(C, "py_api_gadget_in_point",
           "a person's script hides the gadget in a Point (registered without a walk)",
           "py", PY_GADGET + 'from batos.lang.values import Point\n'
           'attacker.set_slot("p", Point(1, Gadget()))\nimage.commit("gadget point")\n'),
    Attack(C, "py_api_gadget_symbol_subclass",
           "a person's script stores an instance of a Symbol subclass with __reduce__",
           "py", PY_GADGET + 'from batos.lang.values import Symbol\n'
           'class Sym(Symbol):\n    def __reduce__(self):\n        return (os.system, ("touch @M@",))\n'
           'attacker.set_slot("s", Sym("foo"))\nimage.commit("gadget symbol")\n'),
    Attack(C, "py_api_gadget_globals",
           "a person's script binds the gadget as a global (the globals tree)",
           "py", PY_GADGET + 'image.globals["gadget"] = Gadget()\nimage.commit("gadget global")\n',
           allow=("root/globals/attacker*", "root/globals/gadget*")),
    Attack(C, "py_api_gadget_in_slot_list_mutated",
           "the gadget appended in place to a stored list after set_slot",
           "py", PY_GADGET + 'attacker.set_slot("l", [1, 2])\nattacker.l.append(Gadget())\n'
           'image.commit("gadget list")\n'),
    Attack(C, "py_api_gadget_root",
           "a person's script writes the gadget straight into the ZODB root",
           "py", PY_GADGET + 'image.root["extra"] = Gadget()\nimage.commit("gadget root")\n',
           allow=("root/globals/attacker*", "root/extra*", "root")),
    Attack(C, "hostile_image_slot",
           "a hostile image file: a gadget in a Proto's slot table, written with plain ZODB",
           "raw", RAW + 'victim.__dict__["_slots"]["describe"] = Gadget()\nvictim._p_changed = True\n'
           + RAW_END, expect="hostile"),
    Attack(C, "hostile_image_globals",
           "a hostile image file: a gadget bound in the globals BTree",
           "raw", RAW + 'root["globals"]["aaa"] = Gadget()\n' + RAW_END, expect="hostile"),
    Attack(C, "hostile_image_root",
           "a hostile image file: a subprocess.Popen reduce under a new root key",
           "raw", RAW + 'root["awakening"] = Spawn()\n' + RAW_END, expect="hostile"),
    Attack(C, "hostile_image_point_state",
           "a hostile image file: a Point whose state holds a gadget",
           "raw", RAW + 'from batos.lang.values import Point\n'
           'victim.__dict__["_slots"]["balance"] = Point(1, Gadget())\nvictim._p_changed = True\n'
           + RAW_END, expect="hostile"),
    Attack(C, "hostile_image_name",
           "a hostile image file: a Proto whose _name is a gadget",
           "raw", RAW + 'victim.__dict__["_name"] = Spawn()\nvictim._p_changed = True\n' + RAW_END,
           expect="hostile"),
]
