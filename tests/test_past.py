"""Time travel: historical views, slot and method history, diff, blame, restore, pack."""
from __future__ import annotations

import time
from typing import Any

import pytest

from batos.errors import BatosError, ReadOnlyError
from batos.image import past
from batos.llm import FakeBackend
from batos.mind.dnu import use_backend


def run(image: Any, source: str, note: str | None = None) -> Any:
    return image.execute(lambda: image.evaluate(source), note=note or source)


def ids(image: Any, n: int = 50) -> dict[str, str]:
    """note → id of the latest transaction with that note."""
    out: dict[str, str] = {}
    for rec in reversed(image.history(n)):
        out[rec["note"]] = rec["id"]
    return out


@pytest.fixture
def scripted(image: Any) -> Any:
    run(image, "Image at: #counter put: genesis clone. counter setSlot: #n value: 1", "make")
    run(image, "counter >> inc [ n := n + 1 ]", "define inc")
    run(image, "counter inc", "inc 1")
    run(image, "counter inc", "inc 2")
    run(image, "counter setSlot: #label value: 'hello'", "label")
    run(image, "counter >> inc [ n := n + 10 ]", "redefine inc")
    run(image, "counter inc", "inc 3")
    return image


def test_values_at_several_points(scripted: Any) -> None:
    image = scripted
    t = ids(image)
    expected = {"make": 1, "inc 1": 2, "inc 2": 3, "label": 3, "inc 3": 13}
    for note, n in expected.items():
        with past.open_at(image, t[note]) as view:
            assert view.evaluate("counter n") == n
            assert view.when["note"] == note and view.when["id"] == t[note]
            assert view.globals["counter"].n == n
    with past.open_at(image, t["inc 2"]) as view:
        assert "counter" in view.globals
        assert view.evaluate("counter hasSlot: #label") is False
        assert view.resolve("counter.n") == 3
    with past.open_at(image, t["make"]) as view:
        assert "counter" in view.globals   # by id: as of (including) that transaction
    # before the counter existed
    first = image.history(50)[-2]["id"]  # the awakening
    assert image.history(50)[-2]["note"] == "Prototypal Awakening"
    with past.open_at(image, first) as view:
        assert "counter" not in view.globals
        with pytest.raises(BatosError, match="no global named 'counter'"):
            view.lookup_global("counter")
    assert image.globals["counter"].n == 13


def test_slot_history_and_historyOf(scripted: Any) -> None:
    image = scripted
    counter = image.globals["counter"]
    recs = past.slot_history(image, counter, "n")
    assert [r["value"] for r in recs] == [1, 2, 3, 13]
    assert [r["note"] for r in recs] == ["make", "inc 1", "inc 2", "inc 3"]
    assert all(r["kind"] == "human" and r["print"] for r in recs)
    assert [r["value"] for r in past.slot_history(image, counter, "label")] == ["hello"]
    assert [r["value"] for r in past.slot_history(image, counter, "n", limit=2)] == [3, 13]
    assert image.evaluate("(counter historyOf: #n) collect: [:a | a value]") == [1, 2, 3, 13]
    key = image.evaluate("(counter historyOf: #n) first key")
    assert key == past.when_key(recs[0]["time"])
    assert image.evaluate("(counter historyOf: #n) size") == 4


def test_write_refused_in_historical_view(scripted: Any) -> None:
    image = scripted
    t = ids(image)
    before = image.history(1)[0]["id"]
    with past.open_at(image, t["inc 1"]) as view:
        with pytest.raises(ReadOnlyError, match="read-only"):
            view.evaluate("counter inc")
        assert view.evaluate("counter n") == 2           # nothing changed in the past
        with pytest.raises(ReadOnlyError, match="read-only"):
            view.evaluate("Image at: #other put: 3")
        with pytest.raises(ReadOnlyError):
            view.globals["x"] = 1  # type: ignore[index]
        with pytest.raises(ReadOnlyError):
            view.evaluate("counter setSlot: #n value: 99")
        assert view.evaluate("x := 5. x + counter n") == 7  # workspace only
    assert image.history(1)[0]["id"] == before           # no transaction
    assert image.globals["counter"].n == 13 and "other" not in image.globals
    assert not image.dirty()


def test_method_history_across_regeneration(image: Any) -> None:
    counter = image.globals["genesis"].clone()
    image.globals["counter"] = counter
    counter.set_slot("count", 3)
    image.commit("counter")
    fake = FakeBackend(["    self.count = self.count + number\n"
                        "    self._p_changed = True\n    return self.count\n```"])
    with use_backend(fake):
        assert image.execute(lambda: counter.send("addTo:", 4), note="counter addTo: 4") == 7
    run(image, "counter define: #addTo: as: 'def addTo_(self, number):\n"
               "    self.count = self.count + 2 * number\n    self._p_changed = True\n"
               "    return self.count'",
        "fix addTo:")
    hist = past.method_history(image, counter, "addTo:")
    assert len(hist) == 2
    gen, fix = hist
    assert gen["author"] == "generated" and gen["persona"] == "BRICK"
    assert gen["kind"] == "generation" and gen["note"] == "counter addTo: 4"
    assert gen["provenance"]["model"] == "fake-model" and not gen["corrected"]
    assert fix["author"] == "human" and fix["persona"] is None and fix["corrected"]
    assert "-    self.count = self.count + number" in fix["diff"]
    assert "+    self.count = self.count + 2 * number" in fix["diff"]
    assert fix["source"].startswith("def addTo_(self, number):")
    # the diff of the generating transaction shows the method as added source
    d = past.diff(image, ids(image)["counter addTo: 4"])
    entry = next(o for o in d["objects"] if o["object"] == "counter")
    added = {a["slot"] for a in entry["added"]}
    assert "addTo_" in added
    assert [c["value"] for c in entry["changed"] if c["slot"] == "count"] == ["7"]


def test_diff_one_and_two_points(scripted: Any) -> None:
    image = scripted
    t = ids(image)
    d = past.diff(image, t["inc 3"])
    assert d["to"]["note"] == "inc 3" and [x["note"] for x in d["transactions"]] == ["inc 3"]
    (entry,) = d["objects"]
    assert entry["object"] == "counter" and entry["status"] == "changed"
    assert entry["changed"] == [{"slot": "n", "value": "13", "was": "3"}]
    d = past.diff(image, t["inc 1"], t["redefine inc"])
    entry = next(o for o in d["objects"] if o["object"] == "counter")
    changed = {c["slot"]: c for c in entry["changed"]}
    assert changed["n"]["value"] == "3" and changed["n"]["was"] == "2"
    assert "-\tn := n + 1" in changed["inc"]["diff"] and "+\tn := n + 10" in changed["inc"]["diff"]
    assert entry["added"] == [{"slot": "label", "value": "'hello'"}]
    assert [x["note"] for x in d["transactions"]] == ["inc 2", "label", "redefine inc"]
    d = past.diff(image, t["make"])
    assert d["globals"]["added"] == [{"slot": "counter"}]
    assert any(o["object"] == "counter" and o["status"] == "added" for o in d["objects"])
    import json
    json.dumps(d)  # JSON-able


def test_blame_after_migration(scripted: Any) -> None:
    image = scripted
    run(image, "counter setSlot: #label value: 'migrated'", "run migrate.bst")
    rows = {r["slot"]: r for r in past.blame(image, image.globals["counter"])}
    assert rows["label"]["note"] == "run migrate.bst" and rows["label"]["kind"] == "migration"
    assert rows["n"]["note"] == "inc 3" and rows["n"]["kind"] == "human"
    assert rows["inc"]["note"] == "redefine inc"
    assert rows["traits*"]["note"] == "make" and "description" not in rows
    assert past.txn_kind("heartbeat") == "heartbeat"
    assert past.txn_kind("image upgrade: format 1 -> 2 (x)") == "upgrade"
    assert past.txn_kind("Prototypal Awakening") == "awakening"


def test_restore_then_undo(scripted: Any) -> None:
    image = scripted
    t = ids(image)
    counter = image.globals["counter"]
    image.execute(lambda: past.restore_slot(image, counter, "n", t["inc 1"]),
                  note="restore counter.n")
    assert counter.n == 2
    restored = image.history(1)[0]["id"]
    image.undo(restored)
    assert image.globals["counter"].n == 13
    # BST, with a key from historyOf:
    run(image, "counter restore: #n from: (counter historyOf: #n) first")
    assert image.globals["counter"].n == 1
    # a whole object: the label added later goes away, the old method comes back
    result = image.execute(lambda: past.restore_object(image, counter, t["inc 2"]),
                           note="restore counter")
    assert "label" in result["removed"] and "inc" in result["restored"]
    assert not counter.has_slot("label") and counter.n == 3
    image.undo(image.history(1)[0]["id"])  # undo the whole-object restore
    assert image.globals["counter"].label == "hello" and image.globals["counter"].n == 1
    image.execute(lambda: past.restore_object(image, counter, t["inc 2"]), note="restore again")
    assert run(image, "counter inc. counter n") == 4   # the restored method runs


def test_restore_refers_to_present_objects(image: Any) -> None:
    run(image, "Image at: #a put: genesis clone. Image at: #b put: genesis clone. "
               "a setSlot: #friend value: b. a setSlot: #items value: #(1 2) asOrderedCollection",
        "make")
    t = ids(image)["make"]
    run(image, "a setSlot: #friend value: nil. a items add: 3", "change")
    a = image.globals["a"]
    image.execute(lambda: (past.restore_slot(image, a, "friend", t),
                           past.restore_slot(image, a, "items", t)), note="restore")
    assert a.friend is image.globals["b"]
    assert list(a.items) == [1, 2]
    # a container's history shows its contents as they were, not today's
    a.items.append(9)
    image.commit("nine")
    first = past.slot_history(image, a, "items")[0]
    assert first["print"] == "an OrderedCollection(1 2)" and first["note"] == "make"


def test_behaviour_after_pack(scripted: Any) -> None:
    image = scripted
    old = ids(image)["inc 1"]
    time.sleep(0.01)
    image.pack()
    with pytest.raises(past.PastError, match="packed away"):
        past.parse_when(old, image)
    with pytest.raises(past.PastError, match="before the last pack"):
        with past.open_at(image, old):
            pass
    with pytest.raises(past.PastError, match="packed away"):
        past.diff(image, old)
    with pytest.raises(past.PastError, match="packed away"):
        past.restore_slot(image, image.globals["counter"], "n", old)
    # what is kept still works
    recs = past.slot_history(image, image.globals["counter"], "n")
    assert [r["value"] for r in recs] == [13]
    with past.open_at(image, "now") as view:
        assert view.evaluate("counter n") == 13


def test_when_parsing(scripted: Any) -> None:
    image = scripted
    last = image.history(1)[0]
    assert past.parse_when("now", image) == image.storage.lastTransaction()
    assert past.tid_id(past.parse_when(last["id"], image)) == last["id"]
    tid = past.parse_when(last["id"], image)
    assert past.parse_when(tid.hex(), image) == tid
    assert past.parse_when(last["when"], image) <= image.storage.lastTransaction()
    assert past.parse_when("-0s", image) == image.storage.lastTransaction()
    for bad in ("", "bogus", "-5x", "12:99", "BA1u!!"):
        with pytest.raises(past.PastError, match="expected a transaction id"):
            past.parse_when(bad, image)
    with pytest.raises(past.PastError, match="in the future"):
        past.parse_when("2999-01-01", image)
    for early in ("yesterday", "-3d", "-2h", "2001-01-01T00:00"):
        with pytest.raises(past.PastError, match="before this image existed"):
            past.parse_when(early, image)
    with pytest.raises(past.PastError):
        run(image, "counter restore: #n from: 'nonsense'")
    assert image.globals["counter"].n == 13


def test_old_image_gains_the_primitives(image_path: Any) -> None:
    import batos
    im = batos.open_image(image_path)
    traits = im.globals["traits"]
    for selector, _fn, _doc in past.PAST_PRIMITIVES:
        from batos.image.selectors import selector_to_name
        traits.remove_slot(selector_to_name(selector))
    im.root["awakening"].remove("past")
    im.commit("as if old")
    im.close()
    im = batos.open_image(image_path)
    try:
        assert "past" in im.root["awakening"]
        assert im.evaluate("genesis respondsTo: #historyOf:") is True
        assert im.evaluate("genesis respondsTo: #restore:from:") is True
    finally:
        im.close()


def test_guardian_holds_for_the_past_primitives(scripted: Any) -> None:
    from batos.errors import CapabilityError
    image = scripted
    run(image, "Image at: #other put: genesis clone", "other")
    run(image, "other >> meddle [ counter restore: #n from: 'now'. ^counter n ]", "meddle")
    with pytest.raises(CapabilityError, match="only its own receiver"):
        run(image, "other meddle")
    with pytest.raises(CapabilityError, match="private"):
        image.evaluate("counter historyOf: #_slots")
    assert image.globals["counter"].n == 13


def test_diff_of_a_moment_is_the_transaction_at_or_before_it(scripted: Any) -> None:
    from ZODB.utils import p64, u64
    image = scripted
    last = image.storage.lastTransaction()
    d = past.diff(image, p64(u64(last) + 5))  # a moment after "inc 3", not a transaction
    assert d["to"]["note"] == "inc 3"
    assert d["objects"][0]["changed"] == [{"slot": "n", "value": "13", "was": "3"}]
