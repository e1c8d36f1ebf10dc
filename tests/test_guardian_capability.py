"""Methods hold capabilities, not objects: the Python API of prototypes and methods
answers batos's own code, never method code (guardian.capability)."""
from __future__ import annotations

import json

import pytest

import batos
from batos.errors import BatosError, CapabilityError, MethodDefinitionError
from batos.image.method import Method, resolve_primitive


@pytest.fixture
def world(tmp_path):
    with batos.open_image(tmp_path / "cap.fs") as im:
        g = im.globals
        a = g["genesis"].clone()
        b = g["genesis"].clone()
        g["a"], g["b"] = a, b
        a.set_slot("count", 1)
        b.set_slot("count", 1)
        im.commit("setup")
        yield im, a, b


def run(obj, body: str, *args):
    """Define ``probe`` (or ``probe:``) with ``body`` on ``obj`` and send it."""
    if args:
        obj.define("probe:", "def probe_(self, other):\n" + body)
        return obj.send("probe:", *args)
    obj.define("probe", "def probe(self):\n" + body)
    return obj.send("probe")


ATTACKS = {
    "define": '    self.define("sys_", "def sys_(self):\\n    return 1\\n")\n    return 1\n',
    "method": '    return self.method("clone")\n',
    "lookup": '    return self.lookup("clone")\n',
    "parents": '    return self.parents()\n',
    "slots": '    return self.slots()\n',
    "own_slots": '    return self.own_slots()\n',
    "get_slot": '    return self.get_slot("count")\n',
    "dnu": '    return self.does_not_understand("foo", [])\n',
    "parent_define": ('    p = self.send("parents")[0]\n'
                      '    p.define("doesNotUnderstand_", "def doesNotUnderstand_(self, m):\\n'
                      '    return 1\\n")\n    return 1\n'),
    "method_function": '    return self.send("slotAt:", "printString").function\n',
    "deputy_json": ('    import json, operator\n'
                    '    return json.dumps([self], default=operator.methodcaller("parents"))\n'),
    "deputy_getattr": '    return getattr(self, "lookup")("clone")\n',
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_the_python_api_refuses_method_code(world, name):
    im, a, _ = world
    with pytest.raises(CapabilityError):
        run(a, ATTACKS[name])


def test_the_same_api_serves_batos_and_the_user(world):
    _, a, _ = world
    assert a.method("clone") is not None
    assert a.get_slot("count") == 1
    assert a.parents() and a.lookup("clone") is not None
    assert a.method("clone").function is not None


def test_a_method_writes_its_own_slots_but_not_another_objects(world):
    im, a, b = world
    body = "    self.count = self.count + other.count\n    self._p_changed = True\n    return self.count\n"
    assert run(a, body, b) == 2
    with pytest.raises(CapabilityError, match="own receiver"):
        run(a, "    other.count = 99\n    return other.count\n", b)
    with pytest.raises(CapabilityError, match="own receiver"):
        run(a, '    setattr(other, "count", 99)\n    return 1\n', b)
    assert b.count == 1


def test_another_object_changes_through_its_own_methods(world):
    _, a, b = world
    b.define("deposit:", "def deposit_(self, amount):\n    self.count = self.count + amount\n"
                         "    self._p_changed = True\n    return self\n")
    run(a, "    other.deposit_(5)\n    return other.count\n", b)
    assert b.count == 6


def test_methods_are_immutable_and_opaque(world):
    _, a, _ = world
    m = a.method("printString")
    with pytest.raises(AttributeError, match="immutable"):
        m.source = "builtins:vars"
    with pytest.raises(AttributeError, match="immutable"):
        m.language = "python"
    with pytest.raises(CapabilityError):
        run(a, '    m = self.send("slotAt:", "printString")\n    return m.source\n')


def test_primitives_come_from_batos_table_only(world):
    _, a, _ = world
    with pytest.raises(MethodDefinitionError, match="primitive table"):
        a.define("sys_", "os:system", language="primitive")
    with pytest.raises(MethodDefinitionError, match="primitive table"):
        Method("x", "importlib:import_module", "primitive")
    with pytest.raises(MethodDefinitionError, match="primitive table"):
        resolve_primitive("batos.lang.traits:Proto")  # a name, but not a primitive
    assert resolve_primitive("batos.lang.traits:clone")


def test_private_selectors_are_refused_everywhere(world):
    im, a, _ = world
    with pytest.raises(CapabilityError, match="private"):
        a.send("_slots")
    with pytest.raises(BatosError):
        im.evaluate("(traits perform: #_slots) at: '_slots' put: 3")
    im.abort()
    assert im.evaluate("3 + 4") == 7


def test_defining_and_reparenting_are_human_acts(world):
    im, a, b = world
    im.evaluate("a define: #twice as: '^count * 2'")
    assert a.send("twice") == 2
    a.define("sneak", "sneak ^self define: #evil as: '^1'")
    with pytest.raises(CapabilityError, match="human act"):
        a.send("sneak")
    a.define("graft", "graft ^self setSlot: #'other*' value: traits")
    with pytest.raises(BatosError):
        a.send("graft")
    with pytest.raises(CapabilityError, match="human act"):
        run(a, '    return self.send("define:as:", "evil", "^1")\n')


def test_batos_objects_in_slots_are_not_reachable_from_methods(world):
    im, _, _ = world
    catalog = im.globals["catalog"]
    assert catalog.index is not None  # batos code and the Python API may
    catalog.define("leak", "def leak(self):\n    return self.index\n")
    with pytest.raises(CapabilityError):
        catalog.send("leak")
    catalog.define("leak2", "def leak2(self):\n    return self.send('index')\n")
    with pytest.raises(CapabilityError):
        catalog.send("leak2")


def test_refused_statement_leaves_the_image_unchanged(world):
    im, a, b = world
    a.define("poke:", "def poke_(self, other):\n    other.count = 5\n    return 1\n")
    im.commit("define poke")
    with pytest.raises(CapabilityError):
        im.execute(lambda: im.evaluate("a poke: b"), note="poke")
    assert b.count == 1
    assert json.dumps(sorted(b.slot_names()))


@pytest.mark.parametrize("body", [
    "    self = other\n    self.count = 9\n    return 1\n",
    "    f = lambda self: setattr(self, 'count', 9)\n    return f(other)\n",
    "    for self in [other]:\n        self.count = 9\n    return 1\n",
    "    [self for self in [other]]\n    return 1\n",
    "    (self := other)\n    return 1\n",
])
def test_self_is_never_rebound(world, body):
    _, a, b = world
    with pytest.raises(MethodDefinitionError) as info:
        run(a, body, b)
    assert "G102" in [f["rule"] for f in info.value.report.findings]
    assert b.count == 1


def test_another_objects_containers_are_read_only_views(world):
    im, a, b = world
    b.set_slot("items", [1, 2])
    assert run(a, "    return sum(other.items) + len(other.items)\n", b) == 5
    for body in ("    other.items.append(666)\n    return 1\n",
                 "    other.items[0] = -1\n    return 1\n",
                 "    other.send('items').append(3)\n    return 1\n"):
        with pytest.raises(CapabilityError, match="read-only"):
            run(a, body, b)
    assert list(b.items) == [1, 2]
    run(a, "    self.mine = other.items\n    self.mine.append(3)\n"
           "    self._p_changed = True\n    return self\n", b)
    assert list(a.mine) == [1, 2, 3] and list(b.items) == [1, 2]


def test_own_containers_stay_mutable(world):
    _, a, _ = world
    a.set_slot("box", [])
    run(a, "    self.box.append([1])\n    self._p_changed = True\n    return self\n")
    assert [list(x) for x in a.box] == [[1]]
    a.set_slot("seen", {})
    a.define("note:", "note: x seen at: x put: true. ^seen size")  # BST, its own dictionary
    assert a.send("note:", 5) == 1


@pytest.mark.parametrize("source", [
    "smash: other other setSlot: #count value: 0. ^1",
    "smash: other other removeSlot: #count. ^1",
    "smash: other other count: 0. ^1",
    "smash: other other items add: 3. ^1",
])
def test_bst_methods_change_only_their_own_receiver(world, source):
    im, a, b = world
    b.set_slot("items", [1])
    im.commit("items")
    a.define("smash:", source)
    with pytest.raises(BatosError):
        im.execute(lambda: a.send("smash:", b), note="smash")
    assert b.count == 1 and list(b.items) == [1]
    im.evaluate("b count: 7")  # a person may
    assert b.count == 7
