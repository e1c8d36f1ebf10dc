"""Tree-of-Thought candidates of a miss: chosen by examples, agreement, log-probability;
retries that never rerun failed code; the tree in the trace and the generation log."""
from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from batos.errors import GenerationFailed
from batos.llm import FakeBackend
from batos.mind import genlog
from batos.mind.candidates import digest, normalise
from batos.mind.dnu import use_backend
from batos.mind.trace import last_trace
from batos.settings import overriding
from tests.objects import make_counter as _counter


def run(image, text):
    return image.execute(lambda: image.evaluate(text), note=text[:80])


def fake_for(*answers, **kw):
    """A fake answering ``answers`` in turn (the last repeated); in each answer ``{0}``,
    ``{1}`` are the parameter names of the ``def`` line the prompt ends with, so the
    scripts do not depend on how parameters are named. A tuple: several candidates."""
    state = {"n": 0}

    def script(prompt):
        found = re.search(r"def \w+\(self,? ?([^)]*)\):\n$", prompt)
        params = [p.strip() for p in found.group(1).split(",")] if found else []
        answer = answers[min(state["n"], len(answers) - 1)]
        state["n"] += 1
        if isinstance(answer, tuple):
            return tuple(a.format(*params) for a in answer)
        return answer.format(*params)
    return FakeBackend(script, **kw)


def code_calls(fake):
    return [c for c in fake.calls if c.get("purpose", "code") != "examples"]


def records(image):
    return [r for _, r in genlog.entries(image)][::-1]


def branches(trace):
    return [s["info"]["branches"] for s in trace.to_json()["steps"] if "branches" in s["info"]]


def test_candidates_chosen_by_examples_one_wrong_one_right(image):
    counter = _counter(image)
    fake = fake_for(("    return {0} + 1\n```", "    return {0} * 2\n```"))
    with use_backend(fake):
        assert run(image, "counter teach: #double: examples: {3 -> 6. 5 -> 10}") is counter
    assert counter.send("double:", 7) == 14
    calls = code_calls(fake)
    assert len(calls) == 1 and calls[0]["n"] == 3  # one batch of three asked for
    assert calls[0]["temperature"][0] == 0.0 and calls[0]["temperature"][1] == 0.7
    assert calls[0]["min_p"] == 0.05  # the setting branch_min_p (sampling's usual min-p)
    assert [r.verdict for r in records(image)] == ["error", "installed"]
    assert [r.branch for r in records(image)] == [0, 1]
    tree = branches(last_trace(image))[0]
    assert [b["verdict"] for b in tree] == ["error", "ok"] and tree[1]["chosen"]
    assert tree[1]["code"] == digest(counter.method("double:").source)[:8]


def test_agreement_breaks_a_tie_before_logprob(image):
    counter = _counter(image)
    fake = fake_for(("    return self.count ** 2\n```",
                     "    return self.count * 2\n```",
                     "    return self.count + self.count\n```"),
                    mean_logprobs=[-0.1, -0.9, -0.5])
    with use_backend(fake):
        assert run(image, "counter twiceCount") == 6   # two agree on 6; the likeliest says 9
    assert "self.count + self.count" in counter.method("twiceCount").source
    tree = branches(last_trace(image))[0]
    assert [b["agreement"] for b in tree] == [0, 1, 1]
    assert [r.verdict for r in records(image)] == ["passed over", "passed over", "installed"]


def test_logprob_breaks_a_tie_when_nothing_agrees(image):
    _counter(image)
    fake = fake_for(("    return self.count * 2\n```", "    return self.count * 3\n```"),
                    mean_logprobs=[-0.9, -0.2])
    with use_backend(fake):
        assert run(image, "counter scaledCount") == 9
    assert records(image)[1].mean_logprob == pytest.approx(-0.2)


def test_single_shot_with_one_candidate(image):
    counter = _counter(image)
    fake = fake_for("    return self.count - 1\n```")
    with use_backend(fake), overriding(candidates=1):
        assert run(image, "counter previous") == 2
    assert "n" not in code_calls(fake)[0]  # a plain generate: nothing decoded together
    assert counter.method("previous").provenance["candidates"] == 1


def test_retry_does_not_repeat_failed_code(image):
    _counter(image)
    fake = fake_for("    return self.missing + 1\n```",
                    "    return self.missing  +  1   # same code, other layout\n```",
                    "    return self.count + 1\n```")
    with use_backend(fake), overriding(candidates=1):
        assert run(image, "counter following") == 4
    assert [r.verdict for r in records(image)] == ["error", "repeated", "installed"]
    prompts = [c["prompt"] for c in code_calls(fake)]
    assert "its slots are: count" in prompts[1]          # the slots that exist
    assert "return self.missing + 1" in prompts[1]       # the failed code, shown as wrong
    temps = [c["temperature"] for c in code_calls(fake)]
    assert temps[0] < temps[1] < temps[2]                # each retry runs hotter


def test_retries_sample_as_widely_as_usual_and_branch_min_p_is_a_setting(image):
    _counter(image)
    fake = fake_for(("    return self.missing\n```",) * 3,
                    ("    return self.count * 5\n```",) * 3)
    with use_backend(fake), overriding(branch_min_p=0.4):
        assert run(image, "counter fivefold") == 15
    assert [c["min_p"] for c in code_calls(fake)] == [0.4, 0.05]


def test_failed_candidates_are_fed_back_and_all_failing_rolls_back(image):
    counter = _counter(image)
    fake = fake_for(("    return {0}\n```", "    return {0} + 1\n```"), repeat_last=False)
    with use_backend(fake), pytest.raises(GenerationFailed):
        run(image, "counter teach: #double: examples: {3 -> 6. 5 -> 10}")
    image.abort()
    assert not counter.responds_to("double:")
    prompt = code_calls(fake)[1]["prompt"]
    assert prompt.count("does not satisfy the example") == 2  # both failed codes shown
    # every later attempt repeated them: they were not run again
    assert {r.verdict for r in records(image)[2:] if hasattr(r, "verdict")} <= {"repeated"}


def test_a_runaway_branch_is_rejected_and_the_others_still_count(image):
    _counter(image)
    runaway = "    return [" + "365, " * 200 + "]\n```"
    fake = fake_for(("    return self.count * 4\n```", runaway))
    with use_backend(fake):
        assert run(image, "counter quadrupled") == 12
    verdicts = [b["verdict"] for b in branches(last_trace(image))[0]]
    assert verdicts == ["ok", "rejected"]


def test_the_trace_renders_the_tree(image):
    _counter(image)
    fake = fake_for(("    return self.count + 10\n```", "    return self.missing\n```"))
    with use_backend(fake):
        run(image, "counter plusTen")
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(last_trace(image))
    text = out.getvalue()
    assert "branches" in text and "chosen" in text and "#1" in text
    assert digest("def plusTen(self):\n    return self.count + 10\n")[:8] in text


def test_normalised_code_ignores_layout_and_comments():
    a = "def f(self):\n    return self.x+1\n"
    b = "def f(self):\n    # add one\n    return (self.x + 1)\n"
    assert normalise(a) == normalise(b) and digest(a) == digest(b)
    assert digest(a) != digest("def f(self):\n    return self.x + 2\n")


def test_generation_log_json_carries_the_branch(image):
    _counter(image)
    with use_backend(fake_for(("    return self.count\n```", "    return self.count\n```"))):
        run(image, "counter current")
    data = records(image)[0].to_json()
    assert data["branch"] == 0 and data["branches"] == 2 and data["agreement"] == 1


def test_a_failed_send_to_another_object_is_fed_back_with_what_it_has(image):
    counter = _counter(image)
    account = image.globals["genesis"].clone()
    account.set_slot("owner", "carol")
    counter.set_slot("account", account)
    image.commit("an account")
    fake = fake_for("    return self.account.name\n```", "    return self.account.owner\n```")
    with use_backend(fake), overriding(candidates=1):
        assert run(image, "counter accountOwner") == "carol"
    retry = code_calls(fake)[1]["prompt"]
    assert "return self.account.name" in retry and "owner" in retry.split("That method failed")[1]
