"""Custody: a method may change the objects its receiver holds (a bank its accounts),
never an object it merely reaches or is handed, never a primordial one."""
from __future__ import annotations

import pytest

import batos
from batos.errors import BatosError, CapabilityError


@pytest.fixture
def bank(tmp_path):
    with batos.open_image(tmp_path / "bank.fs") as im:
        g = im.globals
        account = g["genesis"].clone()
        account.set_slot("owner", "")
        account.set_slot("balance", 0)
        alice, bob, carol = account.clone(), account.clone(), account.clone()
        for who, name, money in ((alice, "alice", 100), (bob, "bob", 50), (carol, "carol", 7)):
            who.set_slot("owner", name)
            who.set_slot("balance", money)
        bank = g["genesis"].clone()
        bank.set_slot("accounts", [alice, bob])
        bank.set_slot("vault", {"main": carol})
        g.update(Account=account, alice=alice, bob=bob, carol=carol, Bank=bank)
        im.commit("bank")
        yield im, bank, alice, bob, carol


TRANSFER = '''def transfer_from_to_(self, amount, source, target):
    a = [x for x in self.accounts if x.owner == source][0]
    b = [x for x in self.accounts if x.owner == target][0]
    a.balance = a.balance - amount
    b.balance = b.balance + amount
    return self
'''


def test_a_method_changes_the_objects_its_receiver_holds(bank):
    im, b, alice, bob, _ = bank
    b.define("transfer:from:to:", TRANSFER)
    im.commit("define")
    im.execute(lambda: b.send("transfer:from:to:", 30, "alice", "bob"), note="transfer")
    assert (alice.balance, bob.balance) == (70, 80)


def test_held_in_a_dictionary_and_in_bst(bank):
    im, b, _, _, carol = bank
    b.define("topUp", "topUp (vault at: 'main') balance: 10. ^self")
    im.commit("define")
    im.execute(lambda: b.send("topUp"), note="top up")
    assert carol.balance == 10
    b.define("drain", "def drain(self):\n    self.vault['main'].balance = 0\n    self._p_changed = True\n    return self\n")
    im.commit("define")
    im.execute(lambda: b.send("drain"), note="drain")
    assert carol.balance == 0


def test_an_object_handed_as_an_argument_is_not_in_custody(bank):
    im, _, alice, bob, _ = bank
    alice.define("give:to:", "def give_to_(self, amount, other):\n"
                             "    other.balance = other.balance + amount\n    return self\n")
    im.commit("define")
    with pytest.raises(CapabilityError, match="own receiver"):
        im.execute(lambda: alice.send("give:to:", 5, bob), note="give")
    assert bob.balance == 50


def test_an_object_reached_but_not_held_is_not_in_custody(bank):
    """bob reaches alice through the bank he is handed; he does not hold her."""
    im, b, _, _, carol = bank
    im.globals["bob"].define("steal:", "def steal_(self, bank):\n"
                                       "    bank.accounts[0].balance = 0\n    return self\n")
    im.commit("define")
    with pytest.raises(CapabilityError):
        im.execute(lambda: im.globals["bob"].send("steal:", b), note="steal")
    assert im.globals["alice"].balance == 100 and carol.balance == 7


def test_primordial_objects_are_never_in_custody(bank):
    im, b, _, _, _ = bank
    genesis = im.globals["genesis"]
    b.set_slot("root", genesis)
    im.commit("hold genesis")
    b.define("scribble", "def scribble(self):\n    self.root.motto = 'mine'\n    self._p_changed = True\n    return self\n")
    im.commit("define")
    with pytest.raises(CapabilityError):
        im.execute(lambda: b.send("scribble"), note="scribble")
    b.define("scribble2", "scribble2 root setSlot: #motto value: 1. ^self")
    im.commit("define")
    with pytest.raises(BatosError):
        im.execute(lambda: b.send("scribble2"), note="scribble2")
    assert "motto" not in genesis.slot_names()


def test_a_clone_does_not_hold_its_family(bank):
    im, _, alice, _, _ = bank
    account = im.globals["Account"]
    alice.define("spoil", "spoil family balance: 999. ^self")
    im.commit("define")
    with pytest.raises(BatosError):
        im.execute(lambda: alice.send("spoil"), note="spoil")
    assert account.balance == 0


def test_held_containers_are_writable_too(bank):
    im, b, alice, _, _ = bank
    alice.set_slot("history", [])
    im.commit("history")
    b.define("audit", "def audit(self):\n    for a in self.accounts:\n"
                      "        if a.owner == 'alice':\n            a.history.append('audited')\n"
                      "    self._p_changed = True\n    return self\n")
    im.commit("define")
    im.execute(lambda: b.send("audit"), note="audit")
    assert list(alice.history) == ["audited"]


@pytest.mark.parametrize("grab", [
    "    self.grab = other\n",                       # a slot of its own
    "    self.loot.append(other)\n",                 # a collection of its own
    "    self.stash['x'] = other\n",                 # a dictionary of its own
])
def test_storing_a_reference_does_not_take_custody(bank, grab):
    """A method may keep any reference it reaches, but what its receiver did not hold at
    the last commit is not its to change."""
    im, _, alice, bob, _ = bank
    alice.set_slot("loot", [])
    alice.set_slot("stash", {})
    im.commit("pockets")
    alice.define("steal:", "def steal_(self, other):\n" + grab +
                 "    other.balance = 0\n    self._p_changed = True\n    return self\n")
    im.commit("define")
    with pytest.raises(CapabilityError, match="own receiver"):
        im.execute(lambda: alice.send("steal:", bob), note="steal")
    assert bob.balance == 50


def test_custody_holds_when_the_receiver_changed_itself_first(bank):
    im, b, alice, bob, _ = bank
    b.define("audit2", "def audit2(self):\n    self.audited = True\n"
                       "    for a in self.accounts:\n        a.balance = a.balance + 1\n"
                       "    self._p_changed = True\n    return self\n")
    im.commit("define")
    im.execute(lambda: b.send("audit2"), note="audit2")
    assert (alice.balance, bob.balance) == (101, 51)
