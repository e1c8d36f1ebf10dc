"""Chain-of-Verification: the model proposes examples; the survivors become a contract."""
from __future__ import annotations

import io

import pytest

from rich.console import Console

from batos.lang.contracts import Example, contracts_of, verify
from batos.lang.values import Symbol
from batos.mind.cove import can_propose, parse_proposals, prefill
from batos.mind.dnu import use_backend
from batos.mind.trace import last_trace
from batos.repl.session import ReplSession
from batos.settings import overriding
from tests.test_tot import code_calls, fake_for, records
from tests.objects import make_counter as _counter


@pytest.fixture(autouse=True)
def three_lines(monkeypatch):
    """These tests ask for two or three examples (``cove_lines`` 3); the one-line default
    has its own tests at the end."""
    monkeypatch.setenv("BATOS_COVE_LINES", "3")


def run(image, text):
    return image.execute(lambda: image.evaluate(text), note=text[:80])


def examples_calls(fake):
    return [c for c in fake.calls if c.get("purpose") == "examples"]


# --- parsing ------------------------------------------------------------------------------

def test_parse_keeps_consistent_literal_examples():
    text = prefill([4]) + "8\n[5] -> 10\n[0] -> 0\n[9] -> 18\n"
    found = parse_proposals(text, "double:", [4])
    assert [(list(e.args), e.expected) for e in found] == [([4], 8), ([5], 10), ([0], 0)]
    assert all(e.origin == "proposed" for e in found)


def test_parse_rejects_what_does_not_fit_the_send():
    text = ("```\n[4] -> 8\n"
            "[1, 2] -> 3\n"            # wrong arity
            "['x'] -> 'xx'\n"          # a string where the send has a number
            "[6] -> double(6)\n"       # not a literal
            "[7] -> None\n"            # None is never an answer
            "[5] -> 10\n[5] -> 11\n"   # two answers for one argument: neither kept
            "no arrow here\n")
    found = parse_proposals(text, "double:", [4])
    assert [(list(e.args), e.expected) for e in found] == [([4], 8)]


def test_parse_self_unary_and_arrows_inside_strings():
    found = parse_proposals("```\n[] -> self\n", "reset", [])
    assert len(found) == 1 and found[0].expected == Symbol("self")
    found = parse_proposals("```\n['a->b'] -> 'b'\n", "after:", ["x->y"])
    assert [(list(e.args), e.expected) for e in found] == [(["a->b"], "b")]


def test_only_literal_arguments_can_be_proposed(image):
    assert can_propose([1, "a", [1, 2], {"k": 1.5}, True])
    assert not can_propose([image.globals["genesis"]])


# --- in the cycle -------------------------------------------------------------------------

def test_proposed_examples_kept_as_contract_and_shown_by_source(image):
    counter = _counter(image)
    fake = fake_for(("    return {0} * 2\n```",), proposals=["8\n[5] -> 10\n"])
    with use_backend(fake):
        assert run(image, "counter double: 4") == 8
    asked = examples_calls(fake)
    assert len(asked) == 1 and asked[0]["max_tokens"] <= 100
    assert asked[0]["prompt"].endswith("```\n[4] -> ")   # the send's own arguments first
    assert "count = 3 (int)" in asked[0]["prompt"]         # the receiver's slots
    contract = contracts_of(image, counter)["double:"]
    assert contract.origin == "proposed"
    assert [(list(e.args), e.expected, e.origin) for e in contract.examples] == [
        ([4], 8, "proposed"), ([5], 10, "proposed")]
    report = image.execute(lambda: verify(image, counter), note="v", save=False)
    assert report.ok and {o.origin for o in report.outcomes} == {"proposed"}
    out = io.StringIO()
    session = ReplSession(image, Console(file=out, width=120, color_system=None),
                          interactive=False)
    assert session.handle(":source counter double:")
    assert "contract #double: (proposed):" in out.getvalue()
    assert "#double: 5 → 10" in out.getvalue()
    assert records(image)[0].proposal.startswith("8")   # the proposal is logged
    steps = [s["info"] for s in last_trace(image).to_json()["steps"]]
    assert any(i.get("proposed") == ["#double: 4 → 8", "#double: 5 → 10"] for i in steps)


def test_a_wrong_proposed_example_is_dropped_when_candidates_agree(image):
    counter = _counter(image)
    fake = fake_for(("    return {0} * 2\n```", "    return {0} + {0}\n```"),
                    proposals=["8\n[5] -> 11\n"])
    with use_backend(fake):
        assert run(image, "counter double: 4") == 8
    assert len(code_calls(fake)) == 1      # nothing fed back: the two agree on 10
    contract = contracts_of(image, counter)["double:"]
    assert [(list(e.args), e.expected) for e in contract.examples] == [([4], 8)]


def test_identical_candidates_skip_the_examples_request(image):
    """Examples cannot tell the same code apart: no CoVe call, no proposed contract; a
    candidate that differs brings it back, and each candidate is judged against them."""
    counter = _counter(image)
    same = "    return {0} * 2\n```"
    fake = fake_for((same, same, same), proposals=["8\n[5] -> 10\n"])
    with use_backend(fake):
        assert run(image, "counter double: 4") == 8
    assert examples_calls(fake) == [] and "double:" not in contracts_of(image, counter)
    steps = [s["info"] for s in last_trace(image).to_json()["steps"]]
    assert any(i.get("cove", "").startswith("skipped") for i in steps)
    fake = fake_for(("    return {0} + 4\n```", "    return {0} * 2\n```", same),
                    proposals=["8\n[5] -> 10\n"])
    with use_backend(fake):
        assert run(image, "counter twice: 4") == 8
    assert len(examples_calls(fake)) == 1
    branches = next(i["branches"] for i in steps_of(image) if "branches" in i)
    assert [b.get("examples") for b in branches] == ["1/2", "2/2", "2/2"]
    assert [b.get("chosen", False) for b in branches] == [False, True, False]


def steps_of(image):
    return [s["info"] for s in last_trace(image).to_json()["steps"]]


def test_a_lone_disagreeing_candidate_is_asked_once_then_trusted(image):
    counter = _counter(image)
    fake = fake_for("    return {0} * 2\n```", proposals=["8\n[5] -> 11\n"])
    with use_backend(fake), overriding(candidates=1):
        assert run(image, "counter double: 4") == 8
    prompts = [c["prompt"] for c in code_calls(fake)]
    assert len(prompts) == 2 and "may be wrong" in prompts[1] and "answered 10" in prompts[1]
    assert [r.verdict for r in records(image)] == ["passed over", "installed"]
    assert [list(e.args) for e in contracts_of(image, counter)["double:"].examples] == [[4]]


def test_a_proposed_example_that_raises_is_reported_not_crashed_on(image):
    counter = _counter(image)
    fake = fake_for("    return 12 / {0}\n```", proposals=["3.0\n[0] -> 0\n"])
    with use_backend(fake), overriding(candidates=1, retries=0):
        assert run(image, "counter shareOf: 4") == 3.0
    contract = contracts_of(image, counter)["shareOf:"]
    assert [list(e.args) for e in contract.examples] == [[4]]   # the erring one is gone
    tree = [s["info"]["branches"] for s in last_trace(image).to_json()["steps"]
            if "branches" in s["info"]][0]
    assert tree[0]["examples"] == "1/2" and tree[0]["chosen"]


def test_no_examples_without_literal_arguments_or_with_cove_off(image):
    counter = _counter(image)
    other = image.globals["genesis"].clone()
    fake = fake_for("    return {0}\n```", "    return self.count\n```", proposals=["1\n"])
    with use_backend(fake):
        assert run(image, "counter echo: counter") is counter   # a prototype argument
        with overriding(cove=False):
            assert run(image, "counter sameCount") == 3
    assert examples_calls(fake) == [] and other is not None
    assert contracts_of(image, counter) == {}


def test_a_miss_on_a_proposed_contract_uses_it_softly(image):
    counter = _counter(image)
    with use_backend(fake_for("    return {0} * 2\n```", proposals=["8\n[5] -> 10\n"])):
        run(image, "counter double: 4")
    image.execute(lambda: counter.remove_slot("double_"), note="rm")
    fake = fake_for(("    return {0} * 2 + 0\n```",))
    with use_backend(fake):
        assert run(image, "counter double: 6") == 12
    assert examples_calls(fake) == []                    # its contract is the examples
    assert contracts_of(image, counter)["double:"].origin == "proposed"


def test_old_examples_read_as_taught():
    """An example pickled before origins existed has no ``origin`` in its state."""
    old = Example.__new__(Example)
    old.__setstate__({"args": [3], "expected": 6, "slots": {}})
    assert old.origin == "user"
    assert Example([3], 6, origin="proposed").origin == "proposed"


def test_examples_of_a_state_changing_send_are_not_kept(image):
    counter = _counter(image)
    fake = fake_for("    self.count = self.count + {0}\n    self._p_changed = True\n"
                    "    return self.count\n```", proposals=["7\n[1] -> 4\n"])
    with use_backend(fake):
        assert run(image, "counter bumpBy: 4") == 7
    # the examples held before the send; kept, they would fail at once (count is 7 now)
    assert counter.count == 7 and contracts_of(image, counter) == {}


def test_fix_regenerates_against_a_proposed_contract_softly(image):
    counter = _counter(image)
    with use_backend(fake_for("    return {0} * 2\n```", proposals=["8\n[5] -> 10\n"])):
        run(image, "counter double: 4")
    fake = fake_for(("    return {0} + {0}\n```", "    return {0} * 3\n```"))
    with use_backend(fake):
        run(image, "counter fix: #double: hint: 'use addition'")
    assert counter.send("double:", 6) == 12   # the candidate that keeps the contract
    assert examples_calls(fake) == []
    assert contracts_of(image, counter)["double:"].origin == "proposed"


# --- the default: one line, the send's own answer ------------------------------------------

@pytest.fixture
def one_line(monkeypatch):
    """The default ``cove_lines`` (the module's autouse fixture sets 3)."""
    monkeypatch.delenv("BATOS_COVE_LINES")
    return monkeypatch


def test_by_default_only_the_sends_own_answer_is_asked_for(image, one_line):
    """``cove_lines`` 1: one line, stopped at its newline; a second line is not kept."""
    counter = _counter(image)
    fake = fake_for(("    return {0} + 4\n```", "    return {0} * 2\n```"),
                    proposals=["6\n[5] -> 10\n"])
    with use_backend(fake):
        assert run(image, "counter double: 3") == 6
    (call,) = examples_calls(fake)
    assert "\n" in call["stop"] and call["max_tokens"] <= 32
    assert "as one line" in call["prompt"] and "2 or 3 examples" not in call["prompt"]
    contract = contracts_of(image, counter)["double:"]
    assert [(list(e.args), e.expected) for e in contract.examples] == [([3], 6)]


def test_candidates_that_answer_the_send_alike_skip_the_request(image, one_line):
    """Different code, the same answer and effect on the send: its own example could only
    pass or fail them all, so it is not asked for (with more lines it still is)."""
    counter = _counter(image)
    alike = ("    return {0} * 2\n```", "    return {0} + {0}\n```")
    fake = fake_for(alike, proposals=["8\n"])
    with use_backend(fake):
        assert run(image, "counter double: 4") == 8
    assert examples_calls(fake) == [] and "double:" not in contracts_of(image, counter)
    assert any(i.get("cove") == "skipped: the candidates answer the send the same way"
               for i in steps_of(image))
    one_line.setenv("BATOS_COVE_LINES", "2")
    fake = fake_for(alike, proposals=["8\n[5] -> 10\n"])
    with use_backend(fake):
        assert run(image, "counter twice: 4") == 8
    assert len(examples_calls(fake)) == 1
