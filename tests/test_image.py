"""The living image: storage, awakening, object model, methods, transactions, history."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import batos
from batos.errors import (AmbiguousSelector, ImageLockedError, MessageNotUnderstood,
                          MethodDefinitionError, NotAnImageError, ReadOnlyError, SlotError)
from batos.image.proto import Proto

INCREMENT = ("def increment(self):\n    self.count += 1\n"
             "    self._p_changed = True\n    return self.count\n")




def run_py(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# --- awakening ---------------------------------------------------------------------

def test_awakening_creates_primordial_objects_in_one_transaction(image, image_path):
    g = image.globals
    assert {"traits", "pLLM", "genesis"} <= set(g)
    genesis = g["genesis"]
    assert genesis.parents() == [g["pLLM"], g["traits"]]
    assert image_path.exists() and Path(f"{image_path}.blobs").is_dir()
    notes = [h["note"] for h in image.history(10)]
    assert notes == ["Prototypal Awakening", "initial database creation"]


def test_genesis_understands_traits_behaviour(image):
    genesis = image.globals["genesis"]
    assert genesis.responds_to("clone")
    assert genesis.responds_to("setSlot:value:")
    clone = genesis.send("clone")
    assert isinstance(clone, Proto) and clone is not genesis
    assert clone.send("setSlot:value:", "x", 3) is clone
    assert clone.x == 3


def test_default_does_not_understand_raises_with_details(image):
    genesis = image.globals["genesis"]
    with pytest.raises(MessageNotUnderstood) as info:
        genesis.send("frobnicate:with:", 1, 2)
    err = info.value
    assert err.receiver is genesis and err.selector == "frobnicate:with:"
    assert err.arguments == [1, 2]
    assert "does not understand #frobnicate:with:" in str(err)


# --- object model ----------------------------------------------------------------------

def test_slots_data_methods_and_attribute_access(image):
    counter = image.globals["genesis"].clone()
    image.globals["counter"] = counter
    counter.set_slot("count", 0)
    counter.define("increment", INCREMENT)
    assert counter.send("increment") == 1
    assert counter.increment() == 2
    assert counter.count == 2
    counter.count = 5
    assert counter.get_slot("count") == 5
    assert counter.send("count") == 5
    counter.send("count:", 9)  # Self-style assignment
    assert counter.count == 9


def test_keyword_selectors_map_to_python_names(image):
    obj = image.globals["genesis"].clone()
    obj.set_slot("store", {})
    obj.define("at:put:", "def at_put_(self, key, value):\n    self.store[key] = value\n"
               "    self._p_changed = True\n    return value\n")
    assert obj.send("at:put:", 3, 4) == 4
    assert obj.at_put_(5, 6) == 6
    assert dict(obj.store) == {3: 4, 5: 6}


def test_lookup_goes_through_parents_depth_first(image):
    traits = image.globals["traits"]
    a = Proto(); a.set_slot("traits*", traits); a.set_slot("who", "a")
    b = Proto(); b.set_slot("parent*", a)
    c = Proto(); c.set_slot("parent*", b)
    a.define("hello", "def hello(self):\n    return 'hello from ' + self.who\n")
    assert c.hello() == "hello from a"
    c.set_slot("who", "c")
    assert c.hello() == "hello from c"  # self is the receiver, not the owner
    rows = {r.name: r for r in c.slots()}
    assert rows["hello"].owner is a and rows["hello"].inherited
    assert rows["who"].owner is c and not rows["who"].inherited
    # redefining in a parent is seen by cached children immediately
    a.define("hello", "def hello(self):\n    return 'hi'\n")
    assert c.hello() == "hi"


def test_ambiguous_selector_names_both_parents(image):
    left = Proto("left"); left.define("greet", "def greet(self):\n    return 'L'\n")
    right = Proto("right"); right.define("greet", "def greet(self):\n    return 'R'\n")
    child = Proto(); child.set_slot("left*", left); child.set_slot("right*", right)
    with pytest.raises(AmbiguousSelector) as info:
        child.send("greet")
    assert "left" in str(info.value) and "right" in str(info.value)
    child.define("greet", "def greet(self):\n    return 'mine'\n")
    assert child.send("greet") == "mine"


def test_nearer_definition_wins_over_deeper(image):
    base = Proto("base"); base.define("f", "def f(self):\n    return 'deep'\n")
    mid = Proto("mid"); mid.set_slot("p*", base)
    near = Proto("near"); near.define("f", "def f(self):\n    return 'near'\n")
    child = Proto(); child.set_slot("a*", mid); child.set_slot("b*", near)
    assert child.f() == "near"


def test_clone_is_shallow_and_deep_clone_copies_containers(image):
    proto = image.globals["genesis"].clone()
    proto.set_slot("items", [1, 2])
    shallow = proto.clone()
    deep = proto.deep_clone()
    assert shallow is not proto and shallow.items is proto.items
    proto.items.append(3)
    assert list(shallow.items) == [1, 2, 3]
    assert list(deep.items) == [1, 2]
    shallow.set_slot("items", [])
    assert list(proto.items) == [1, 2, 3]  # own slot table


def test_remove_slot_and_errors(image):
    obj = image.globals["genesis"].clone()
    obj.set_slot("x", 1)
    obj.remove_slot("x")
    assert not obj.has_slot("x")
    with pytest.raises(SlotError):
        obj.remove_slot("x")
    with pytest.raises(SlotError):
        obj.set_slot("_secret", 1)
    with pytest.raises(SlotError):
        obj.set_slot("bad*", 42)


def test_per_object_does_not_understand_override(image):
    obj = image.globals["genesis"].clone()
    obj.define("doesNotUnderstand_", "def doesNotUnderstand_(self, message):\n"
               "    return 'forwarded ' + message.selector + ' ' + str(len(message.arguments))\n")
    assert obj.send("anything:else:", 1, 2) == "forwarded anything:else: 2"
    other = image.globals["genesis"].clone()
    with pytest.raises(MessageNotUnderstood):
        other.send("anything")


# --- methods -------------------------------------------------------------------------------

def test_define_rejects_invalid_source_and_changes_nothing(image):
    obj = image.globals["genesis"].clone()
    before = obj.slot_names()
    for bad in ("def broken(self:\n    pass\n", "x = 1\n",
                "def a(self):\n    return 1\ndef b(self):\n    return 2\n",
                "def f():\n    return 1\n"):
        with pytest.raises(MethodDefinitionError):
            obj.define("f" if "f()" in bad else "broken" if "broken" in bad else "a", bad,
                       language="python")
    assert obj.slot_names() == before


def test_method_is_source_with_provenance_not_a_pickled_function(image):
    obj = image.globals["genesis"].clone()
    image.globals["doubler"] = obj
    method = obj.define("double:", "def double_(self, x):\n    return 2 * x\n", author="BRICK")
    assert method.source.startswith("def double_")
    assert method.language == "python" and method.provenance["author"] == "BRICK"
    state = method.__getstate__()
    assert not any(callable(v) for v in state.values())
    image.commit("define double:")
    assert method.created_tid is not None


def test_restart_persistence_in_new_process(image_path, tmp_path):
    with batos.open_image(image_path) as im:
        counter = im.globals["genesis"].clone()
        im.globals["counter"] = counter
        counter.set_slot("count", 40)
        counter.set_slot("log", [])
        counter.define("increment", INCREMENT)
        im.commit("make counter")
    out = run_py(f"""
        import batos
        with batos.open_image({str(image_path)!r}) as im:
            c = im.globals["counter"]
            print(c.send("increment"), c.increment())
            c.log.append("in-place")
            im.commit("increment twice")
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["41", "42"]
    with batos.open_image(image_path) as im:
        c = im.globals["counter"]
        assert c.count == 42
        assert list(c.log) == ["in-place"]


def test_in_place_list_and_dict_mutation_persists(image_path):
    with batos.open_image(image_path) as im:
        obj = im.globals["genesis"].clone()
        im.globals["box"] = obj
        obj.items = [1]
        obj.table = {"a": [1]}
        im.commit("box")
        obj.items.append(2)
        obj.table["b"] = 2
        obj.table["a"].append(5)
        im.commit("mutate in place")
    with batos.open_image(image_path) as im:
        obj = im.globals["box"]
        assert list(obj.items) == [1, 2]
        assert obj.table["b"] == 2 and list(obj.table["a"]) == [1, 5]


def test_a_set_in_a_slot_is_stored_as_a_persistent_set(image_path):
    from batos.lang.collections import PersistentSet
    with batos.open_image(image_path) as im:
        box = im.globals["genesis"].clone()
        im.globals["box"] = box
        box.tags = {"a"}
        assert type(box.tags) is PersistentSet and box.tags == {"a"}
        im.commit("box")
        im.evaluate("box tags add: 'b'")                    # BST, in place
        box.tags.add("c")                                    # Python, in place
        box.tags |= {"d"}
        im.commit("mutate in place")
        assert im.evaluate("box tags printString") == "a Set('a' 'b' 'c' 'd')"
        assert im.evaluate("box tags class name") == "Set"
        assert im.evaluate("(box tags select: [:t | t > 'b']) size") == 2
        copy = im.evaluate("box tags copy")
        assert type(copy) is set and copy == {"a", "b", "c", "d"}
        twin = box.deep_clone()
        twin.tags.discard("a")
        assert "a" in box.tags and twin.tags == {"b", "c", "d"}
    with batos.open_image(image_path) as im:
        tags = im.globals["box"].tags
        assert tags == {"a", "b", "c", "d"} and len(tags) == 4 and "d" in tags
        assert sorted(tags | {"z"}) == ["a", "b", "c", "d", "z"]
        tags.remove("a")
        with pytest.raises(KeyError):
            tags.remove("a")
        assert im.changes()[0]["changed"][0]["slot"] == "contents"
        im.abort()
        assert "a" in tags

# --- transactions ------------------------------------------------------------------------

def test_abort_restores_state_and_method_cache(image):
    obj = image.globals["genesis"].clone()
    image.globals["obj"] = obj
    obj.define("f", "def f(self):\n    return 1\n")
    image.commit("f")
    child = obj.clone()  # finds f through its family* link to obj
    image.globals["child"] = child
    image.commit("child")
    assert child.f() == 1
    obj.define("f", "def f(self):\n    return 2\n")
    assert child.f() == 2
    image.abort()
    assert image.globals["child"].f() == 1


def test_execute_commits_or_aborts_whole(image):
    genesis = image.globals["genesis"]

    def good():
        genesis.set_slot("mood", "calm")
        return 1

    def bad():
        genesis.set_slot("mood", "broken")
        genesis.send("no_such_message")

    assert image.execute(good, note="good") == 1
    with pytest.raises(MessageNotUnderstood):
        image.execute(bad, note="bad")
    assert genesis.mood == "calm"
    assert image.history(1)[0]["note"] == "good"
    image.execute(lambda: genesis.set_slot("mood", "x"), note="dry", save=False)
    assert genesis.mood == "calm"


def test_transaction_context_manager(image):
    genesis = image.globals["genesis"]
    with pytest.raises(RuntimeError):
        with image.transaction("fails"):
            genesis.set_slot("v", 1)
            raise RuntimeError("boom")
    assert not genesis.has_slot("v")
    with image.transaction("works"):
        genesis.set_slot("v", 2)
    assert image.history(1)[0]["note"] == "works"


def test_undo_restores_previous_slot_value(image):
    genesis = image.globals["genesis"]
    genesis.set_slot("colour", "red")
    image.commit("red")
    genesis.set_slot("colour", "blue")
    image.commit("blue")
    txn = image.history(1)[0]["id"]
    image.undo(txn)
    assert image.globals["genesis"].colour == "red"
    assert image.history(1)[0]["note"].startswith("undo ")


def test_pack_verify_backup(image, tmp_path):
    genesis = image.globals["genesis"]
    for i in range(5):
        genesis.set_slot("n", i)
        image.commit(f"n={i}")
    before = image.info()["size_bytes"]
    result = image.pack()
    assert result["after_bytes"] < before
    assert image.verify()["ok"]
    backup = image.backup(tmp_path / "bk")
    assert any(name.endswith(".fs") for name in backup["files"])
    assert genesis.n == 4


# --- storage edge cases ---------------------------------------------------------------

def test_non_image_file_is_left_untouched(tmp_path):
    path = tmp_path / "notes.fs"
    path.write_bytes(b"these are my notes\n")
    with pytest.raises(NotAnImageError) as info:
        batos.open_image(path)
    assert "not a batos image" in str(info.value)
    assert path.read_bytes() == b"these are my notes\n"
    assert info.value.exit_code == 3


def test_lock_held_by_other_process_and_read_only(image_path, tmp_path):
    batos.open_image(image_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import batos,time; im=batos.open_image({str(image_path)!r}); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ImageLockedError) as info:
            batos.open_image(image_path)
        assert str(image_path) in str(info.value) and "--read-only" in str(info.value)
        with batos.open_image(image_path, read_only=True) as ro:
            assert "genesis" in ro.globals
            ro.globals["genesis"].set_slot("x", 1)
            with pytest.raises(ReadOnlyError):
                ro.commit("nope")
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_from_crashed_process_does_not_block(image_path):
    batos.open_image(image_path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", f"import batos,time; im=batos.open_image({str(image_path)!r}); "
         "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Path(f"{image_path}.lock").exists()
    with batos.open_image(image_path) as im:
        assert "genesis" in im.globals


def test_read_only_on_missing_image_is_an_error(tmp_path):
    with pytest.raises(batos.errors.ImageError):
        batos.open_image(tmp_path / "missing.fs", read_only=True)
    assert not (tmp_path / "missing.fs").exists()


def test_slot_listing_loads_ghost_parents(image_path):
    with batos.open_image(image_path) as im:
        child = im.globals["genesis"].clone()
        im.globals["child"] = child
        im.commit("child")
    with batos.open_image(image_path) as im:
        child = im.globals["child"]
        im.connection.cacheMinimize()
        names = {row.name for row in child.slots()}
        assert {"clone", "pLLM*", "traits*"} <= names
        assert "description" not in names  # genesis's own, neither copied nor inherited
