"""Methods fitted to the brief's example rather than the data (batos.mind.overfit), and
the candidate check that passes them over with the reason fed back."""
from __future__ import annotations

from typing import Any

import pytest

from batos.mind.overfit import overfit


@pytest.fixture()
def bakery(image: Any) -> Any:
    g = image.globals["genesis"]
    proto = g.clone()
    for key, value in {"customer": "", "loaves": 0, "ready": False}.items():
        proto.set_slot(key, value)
    orders = []
    for customer, loaves, ready in (("mia", 4, True), ("noah", 6, False), ("liv", 2, False)):
        order = proto.clone()
        order.set_slot("customer", customer)
        order.set_slot("loaves", loaves)
        order.set_slot("ready", ready)
        orders.append(order)
    shop = g.clone()
    shop.set_slot("orders", orders)
    shop.set_slot("city", "Oslo")
    return shop


def _m(body: str, params: str = "", name: str = "m") -> str:
    return f"def {name}(self{params}):\n    {body}\n"


def test_a_comparison_with_the_first_objects_number_is_overfit(bakery: Any) -> None:
    text = overfit(_m("return [o.customer for o in self.orders if o.loaves == 4]"), bakery,
                   "customersByLoaves")
    assert text is not None and text.startswith("it compares .loaves with 4, the value the "
                                                "first object in self.orders happens to hold")
    # the other way round, and with another comparison
    assert overfit(_m("return [o for o in self.orders if 4 <= o.loaves]"), bakery,
                   "bigOrders") is not None


def test_the_first_objects_number_is_fine_when_the_send_carries_it(bakery: Any) -> None:
    code = _m("return [o for o in self.orders if o.loaves == 4]", ", n")
    assert overfit(code, bakery, "ordersOf:", [4]) is None          # the argument
    assert overfit(code, bakery, "ordersOf4") is None               # the selector's digits
    assert overfit(code, bakery, "ordersOfFour") is None            # a number word
    assert overfit(code, bakery, "ordersOfFive") is not None


def test_readings_of_the_data_are_not_overfit(bakery: Any) -> None:
    fine = [
        "return [o.customer for o in self.orders if o.loaves == 0]",   # 0 and 1: not data
        "return [o.customer for o in self.orders if o.ready == True]",  # booleans
        "return [o.customer for o in self.orders if o.loaves > 5]",     # not a data value
        "return [o.customer for o in self.orders if o.loaves == 6]",    # not the first's
        "return [o for o in self.orders if o.customer != 'liv']",       # strings: filters
        "return sorted(self.orders, key=lambda o: o.loaves)[0]",         # not self.x[k]
        "return self.city[0]",                                            # not held objects
    ]
    for body in fine:
        assert overfit(_m(body), bakery, "someOrders") is None, body
    assert overfit("def m(self:\n", bakery, "broken") is None           # not Python
    assert overfit(_m("return 4"), 3, "four") is None                  # not a prototype


def test_a_constant_index_into_held_objects_is_overfit_unless_the_name_says_where(
        bakery: Any) -> None:
    code = _m("return self.orders[0].loaves")
    assert overfit(code, bakery, "totalLoaves") == (
        "it reads only self.orders[0], one of the 3 objects in self.orders; #totalLoaves is "
        "about all of them (its name says nothing of a first or last one).")
    assert overfit(_m("return self.orders[-1]"), bakery, "totalLoaves") is not None
    assert overfit(code, bakery, "firstLoaves") is None
    assert overfit(_m("return self.orders[-1]"), bakery, "lastOrder") is None


def test_an_overfit_candidate_is_passed_over_with_the_reason(image: Any, bakery: Any) -> None:
    from batos.image.message import Message
    from batos.mind.candidates import Candidate, Trial, evaluate
    from batos.mind.dnu import decompose
    image.globals["shop"] = bakery
    brief = decompose(image, bakery, Message(bakery, "totalLoaves", []))
    trial = Trial(image, bakery, bakery, "totalLoaves", [], brief)
    bad = evaluate(trial, Candidate(0, _m("return self.orders[0].loaves", name="totalLoaves")),
                   author="t", provenance={})
    good = evaluate(trial, Candidate(
        1, _m("return sum(o.loaves for o in self.orders)", name="totalLoaves")),
        author="t", provenance={})
    assert (bad.verdict, good.verdict) == ("error", "ok")
    assert "reads only self.orders[0]" in bad.error
    assert good.signature == "12"
