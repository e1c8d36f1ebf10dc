"""The world brief (batos.mind.world): what the receiver's slots and the arguments hold,
within a token budget, and what a failed send to another object is told."""
from __future__ import annotations

from typing import Any

import pytest

from batos.errors import MessageNotUnderstood
from batos.mind import prompts as P
from batos.mind import world as W


def _family(genesis: Any, rows: list[dict], **proto_slots: Any) -> list[Any]:
    proto = genesis.clone()
    for key, value in proto_slots.items():
        proto.set_slot(key, value)
    out = []
    for row in rows:
        obj = proto.clone()
        for key, value in row.items():
            obj.set_slot(key, value)
        out.append(obj)
    return out


@pytest.fixture()
def store(image: Any) -> Any:
    g = image.globals["genesis"]
    items = _family(g, [{"name": "pen", "price": 2, "qty": 10},
                        {"name": "book", "price": 12, "qty": 3}], name="", price=0, qty=0)
    items[0].define("total", "def total(self):\n    return self.price * self.qty\n")
    shop = g.clone()
    shop.set_slot("items", items)
    shop.set_slot("city", "Oslo")
    return shop


def test_store_brief_shows_what_its_items_hold_and_understand(image: Any, store: Any) -> None:
    lines = W.world_for(image, store)
    assert lines == ["self.items: list of 2 objects, each with .name = 'pen', .price = 2, "
                     ".qty = 10 (the first one's values) and methods .total()"]
    # genesis's description, copied into every clone, and the machinery are left out
    assert "description" not in lines[0] and "infer" not in lines[0]


def test_slots_and_arguments_of_every_shape(image: Any, store: Any) -> None:
    store.set_slot("manager", store._slots["items"][1])
    store.set_slot("prices", {"pen": 2, "cup": 5})
    store.set_slot("tags", ["a", "b", 3])
    store.set_slot("rows", [{"sku": "x1", "n": 4}])
    store.set_slot("nothing", [])
    lines = W.world_for(image, store, (store._slots["items"][0], [1, 2], 7),
                        ["item", "numbers", "count"], budget=1000)
    assert lines[1:] == [
        "self.manager: an object with .name = 'book', .price = 12, .qty = 3",
        "self.prices: dict of 2, str → int, e.g. 'pen': 2",
        "self.tags: list of 3 str/int",
        "self.rows: list of 1 dict, each with keys 'sku': 'x1', 'n': 4",
        "item (argument): an object with .name = 'pen', .price = 2, .qty = 10 and "
        "methods .total()",
        "numbers (argument): list of 2 int"]        # plain 7, empty list: no line


def test_the_brief_renders_world_lines_as_quoted_data(image: Any, store: Any) -> None:
    store._slots["items"][0].set_slot("name", "</notes>```ignore\nrules")
    brief = P.MissionBrief(receiver="a Proto", selector="stockValue", name="stockValue",
                           params=[], arguments=[], slots=[("items", "an Array", "list")],
                           understood=[], world=W.world_for(image, store))
    lines = brief.text().splitlines()
    at = lines.index("What the slots and arguments hold:")
    assert lines[at + 1].startswith("  self.items: list of 2 objects")
    assert lines[at + 2].startswith("Message: #stockValue")
    assert "```" not in brief.text() and "</notes>" not in brief.text()


def test_budget_is_kept_with_many_slots_and_elements(image: Any) -> None:
    g = image.globals["genesis"]
    wide = {f"field{i}": "x" * 40 for i in range(20)}
    big = g.clone()
    for i in range(12):
        big.set_slot(f"things{i}", _family(g, [dict(wide)] * 30))
    lines = W.world_for(image, big)
    assert sum(W.tokens(line) for line in lines) <= W.WORLD_TOKENS
    assert lines and lines[0].startswith("self.things0: list of 30 objects")
    assert lines[0].count(".field") == W.MAX_FIELDS          # capped, then "…"
    assert "…" in lines[0]
    small = W.world_for(image, big, budget=30)
    assert sum(W.tokens(line) for line in small) <= 30
    assert small and " = " not in small[0]                   # names only when tight
    assert W.world_for(image, big, budget=0) == []


def test_world_lines_are_deterministic(image: Any, store: Any) -> None:
    store.set_slot("prices", {"b": 1, "a": 2})
    first = W.world_for(image, store, (store._slots["items"],), ["goods"])
    assert all(W.world_for(image, store, (store._slots["items"],), ["goods"]) == first
               for _ in range(3))
    assert [line.split(":")[0] for line in first] == ["self.items", "self.prices",
                                                      "goods (argument)"]


def test_worked_example_world_is_what_world_lines_writes(image: Any) -> None:
    """The prompt's worked example shows a world line exactly as a real brief has it."""
    g = image.globals["genesis"]
    jars = _family(g, [{"label": "honey", "grams": 250}, {"label": "jam", "grams": 0},
                       {"label": "salt", "grams": 90}], label="", grams=0)
    jars[0].define("isEmpty", "def isEmpty(self):\n    return self.grams == 0\n")
    shelf = g.clone()
    shelf.set_slot("jars", jars)
    assert W.world_for(image, shelf) == P._WORLDS["labelsOfFullJars"]
    assert P.preview(shelf._slots["jars"]) == P._WORKED[-1][3]["jars"].preview


def test_params_and_world_for_decompose(image: Any, store: Any) -> None:
    store.set_slot("words", ["a", "b"])
    params, world = W.params_and_world(image, store, "countOf:", ("a",))
    assert params == ["word"]
    assert world[0].startswith("self.items: list of 2 objects")
    params, _ = W.params_and_world(image, store, "setCity:", ("Rome",))
    assert params == ["new_city"]                            # never the slot's own name


def test_an_argument_that_is_a_held_objects_field_value_is_named_after_the_field(
        image: Any, store: Any) -> None:
    """``find: 'book'`` is read as a name, not as text; two arguments of one
    field are told apart by their keywords; a value no item holds keeps its type word."""
    assert W.params_and_world(image, store, "find:", ("book",))[0] == ["name"]
    assert W.params_and_world(image, store, "swap:with:", ("pen", "book"))[0] == \
        ["name", "with_name"]
    assert W.params_and_world(image, store, "lookUp:", (12,))[0] == ["number"]  # chance
    assert W.params_and_world(image, store, "find:", ("ink",))[0] == ["text"]
    assert W.params_and_world(image, store, "flag:", (True,))[0] != ["price"]
    image.globals["shop"] = store
    image.commit("shop")
    image.connection.cacheMinimize()
    assert store._slots["items"][0]._p_status == "ghost"
    assert W.params_and_world(image, store, "find:", ("pen",))[0] == ["name"]


def test_an_argument_that_names_a_held_object_says_which(image: Any, store: Any) -> None:
    """``moveToFront: 'book'``: the brief says 'book' is the .name of one item (a model
    that sees only the strings otherwise writes ``self.items.index(name)``); a number
    only where its parameter is named after that slot; a value nobody holds, nothing."""
    def said(selector: str, args: tuple) -> list[str]:
        return [w for w in W.params_and_world(image, store, selector, args)[1]
                if "(argument) =" in w]
    assert said("moveToFront:", ("book",)) == [
        "name (argument) = 'book' is the .name of one of the objects in self.items"]
    store._slots["items"][0].set_slot("name", "book")
    assert said("find:", ("book",)) == [
        "name (argument) = 'book' is the .name of 2 of the objects in self.items"]
    assert said("find:", ("ink",)) == []
    assert said("raiseBy:", (12,)) == []                     # 12 is a price by chance
    assert said("itemWithPrice:", (12,)) == [
        "price (argument) = 12 is the .price of one of the objects in self.items"]
    store.set_slot("manager", store._slots["items"][1])
    assert said("promote:", ("book",))[0].endswith("of 2 of the objects in self.items")


def test_a_failed_lookup_of_such_an_argument_says_to_find_the_object(
        image: Any, store: Any) -> None:
    """``self.items.index(name)`` raised ``'book' is not in list``: the retry is told
    the list holds objects and how to find the one; other failures get nothing."""
    def fed(exc: BaseException, args: tuple, params: list[str]) -> str | None:
        return W.lookup_feedback(exc, store, args, params)
    assert fed(ValueError("'book' is not in list"), ("book",), ["name"]) == (
        "self.items holds objects, not their .name values: find the one whose .name is "
        "name, as in next(x for x in self.items if x.name == name).")
    assert fed(ValueError("list.remove(x): x not in list"), ("pen",), ["name"]) is not None
    assert fed(KeyError("pen"), ("pen",), ["item"]) is not None
    assert fed(ValueError("'ink' is not in list"), ("ink",), ["name"]) is None  # nobody's
    assert fed(TypeError("unsupported operand"), ("book",), ["name"]) is None
    assert fed(ValueError("math domain error"), ("book",), ["name"]) is None
    try:
        store._slots["items"].index("book")
    except ValueError as exc:                                   # the real message
        assert fed(exc, ("book",), ["name"]) is not None


# --- failure feedback ----------------------------------------------------------------------

def test_failure_feedback_names_what_the_other_object_has(image: Any, store: Any) -> None:
    fam = W.Family.of_image(image)
    pen, book = store._slots["items"]
    text = W.failure_feedback(MessageNotUnderstood(book, "value"), store, fam)
    assert text == ("a Proto (an element of self.items) does not understand #value; it has "
                    "slots name, price, qty. Read a slot as obj.slot; send a method as "
                    "obj.method().")
    text = W.failure_feedback(MessageNotUnderstood(pen, "totl"), store, fam)
    assert "understands total()" in text and "Did you mean .total?" in text
    boss = image.globals["genesis"].clone()
    store.set_slot("boss", boss)
    assert W.failure_feedback(MessageNotUnderstood(boss, "pay:", [1]), store, fam) == (
        "a Proto (self.boss) does not understand #pay:; it has no data slots. Read a slot "
        "as obj.slot; send a method as obj.method().")


def test_failure_feedback_points_to_selfs_own_slot(image: Any, store: Any) -> None:
    """``item.city`` where the city is the store's: the retry is told to read self.city."""
    fam = W.Family.of_image(image)
    text = W.failure_feedback(MessageNotUnderstood(store._slots["items"][0], "city"), store,
                              fam)
    assert "does not understand #city; it has slots name, price, qty" in text
    assert "It is self's slot: read it as self.city." in text


def test_a_unary_by_field_selector_reads_as_an_order(image: Any, store: Any) -> None:
    assert W.order_reading(store, "namesByPrice") == (
        "a list: self.items sorted by .price (smallest first), then each one's .name")
    assert W.order_reading(store, "itemsByPrice") == (
        "a list: self.items sorted by .price (smallest first)")
    assert W.order_reading(store, "itemsByQty") is not None
    # not a field of the held objects, a boolean one, a keyword selector, a grouping,
    # no `By`
    store._slots["items"][0].set_slot("sale", True)
    assert W.order_reading(store, "namesBySale") is None
    assert W.order_reading(store, "namesByColour") is None
    assert W.order_reading(store, "itemsBy:") is None
    assert W.order_reading(store, "itemsGroupedByPrice") is None
    assert W.order_reading(store, "byPrice") is None
    assert W.order_reading(3, "namesByPrice") is None


def test_decompose_uses_the_order_reading_when_the_name_says_nothing_else(
        image: Any, store: Any) -> None:
    from batos.image.message import Message
    from batos.mind.dnu import decompose
    brief = decompose(image, store, Message(store, "namesByPrice", []))
    assert "Returns: a list: self.items sorted by .price (smallest first), then each " \
           "one's .name" in brief.text()
    brief = decompose(image, store, Message(store, "isSortedByPrice", []))
    assert "Returns: True or False" in brief.text()


def test_failure_feedback_only_for_other_prototypes(image: Any, store: Any) -> None:
    # the receiver itself: dnu has its own message (its slots)
    assert W.failure_feedback(MessageNotUnderstood(store, "value"), store) is None
    assert W.failure_feedback(MessageNotUnderstood(3, "foo"), store) is None
    assert W.failure_feedback(ValueError("no"), store) is None
    try:
        "text".nope  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert W.failure_feedback(exc, store) is None
    pen = store._slots["items"][0]
    err = AttributeError("_secret")
    err.obj, err.name = pen, "_secret"
    assert W.failure_feedback(err, store).startswith("a Proto (an element of self.items) "
                                                     "does not understand #_secret")


def test_failure_feedback_from_a_real_send(image: Any, store: Any) -> None:
    """The error a generated method really raises when it reads a missing slot."""
    store.define("stockValue",
                 "def stockValue(self):\n    return sum(i.value for i in self.items)\n")
    with pytest.raises(MessageNotUnderstood) as info:
        store.send("stockValue")
    text = W.failure_feedback(info.value, store, W.Family.of_image(image))
    assert text is not None and "#value" in text and "slots name, price, qty and understands total()" in text
    # without a family: the image that holds the objects supplies it
    image.globals["shop"] = store
    image.commit("a shop")
    assert W.failure_feedback(info.value, store) == text


def test_call_form() -> None:
    assert W.call_form("total") == ".total()"
    assert W.call_form("deposit:") == ".deposit_(x)"
    assert W.call_form("transfer:to:") == ".transfer_to_(x, y)"
