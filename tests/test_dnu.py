"""doesNotUnderstand_ writes the method: the whole path with the scripted fake backend."""
from __future__ import annotations

import pytest

import batos
from batos.errors import GenerationFailed, MessageNotUnderstood
from batos.llm import FakeBackend
from batos.mind import genlog
from batos.mind.dnu import use_backend
from batos.mind.prompts import param_names
from tests.objects import make_counter as _counter




def code_prompts(fake):
    """The prompts that asked for a method (not Chain-of-Verification's for examples)."""
    return [c["prompt"] for c in fake.calls if c.get("purpose", "code") != "examples"]


def send(image, receiver, selector, *args):
    return image.execute(lambda: receiver.send(selector, *args), note=f"send {selector}")


def test_success_installs_method_with_provenance_and_resends(image):
    counter = _counter(image)
    (param,) = param_names("addTo:", 1, [4])
    fake = FakeBackend([f"    self.count = self.count + {param}\n"
                        "    self._p_changed = True\n    return self.count\n```"])
    with use_backend(fake):
        assert send(image, counter, "addTo:", 4) == 7
    assert counter.count == 7
    method = counter.method("addTo:")
    assert method.source.startswith(f"def addTo_(self, {param}):")
    prov = method.provenance
    assert prov["author"] == "BRICK" and prov["persona"] == "BRICK"
    assert prov["model"] == "fake-model" and prov["attempt"] == 1
    assert prov["prompt_hash"] and "prompt_tokens" in prov
    assert method.audit is not None and method.audit.accepted
    # the prompt carried the covenant, the slots and the message
    prompt = code_prompts(fake)[0]
    assert "self._p_changed = True" in prompt and "count = 3 (int)" in prompt
    assert "#addTo: with arguments (4)" in prompt and prompt.endswith(f"def addTo_(self, {param}):\n")
    # a second send does not generate again
    with use_backend(FakeBackend([])):
        assert send(image, counter, "addTo:", 1) == 8
    log = genlog.entries(image)
    assert len(log) == 1 and log[0][1].verdict == "installed"


def test_audit_rejection_then_retry_feeds_the_error_back(image):
    counter = _counter(image)
    fake = FakeBackend([
        "    import os\n    return os.getcwd()\n```",
        "    return self.count * 2\n```",
    ])
    with use_backend(fake):
        assert send(image, counter, "doubled") == 6
    assert len(code_prompts(fake)) == 2
    assert "import os" in code_prompts(fake)[1] and "That method failed" in code_prompts(fake)[1]
    verdicts = [rec.verdict for _, rec in genlog.entries(image)][::-1]
    assert verdicts == ["rejected", "installed"]


def test_exception_then_retry(image):
    counter = _counter(image)
    fake = FakeBackend([
        "    return self.missing_slot + 1\n```",
        "    return self.count + 1\n```",
    ])
    with use_backend(fake):
        assert send(image, counter, "next") == 4
    assert "does not understand" in code_prompts(fake)[1] or "missing_slot" in code_prompts(fake)[1]


def test_returning_none_is_fed_back(image):
    counter = _counter(image)
    fake = FakeBackend(["    x = self.count\n```", "    print(self.count)\n```",
                        "    return str(self.count)\n```"])
    with use_backend(fake):
        assert send(image, counter, "show") == "3"
    assert "returned None" in code_prompts(fake)[1]
    assert "it prints" in code_prompts(fake)[2]


def test_final_failure_leaves_image_unchanged_and_writes_failure_record(image):
    counter = _counter(image)
    before = image.history(1)[0]["id"]
    fake = FakeBackend(["    self.count = 99\n    self._p_changed = True\n    raise ValueError('nope')\n```"],
                       repeat_last=True)
    with use_backend(fake), pytest.raises(GenerationFailed) as info:
        send(image, counter, "explode")
    assert "could not write #explode" in str(info.value)
    assert len(code_prompts(fake)) == 3  # first try + 2 retries
    assert counter.count == 3 and counter.method("explode") is None
    history = image.history(2)
    assert history[1]["id"] == before  # exactly one new transaction: the failure record
    assert history[0]["note"].startswith("record failed generation of #explode")
    entries = genlog.entries(image)
    failure = entries[0][1]
    assert isinstance(failure, genlog.FailureRecord)
    assert failure.selector == "explode" and len(failure.attempts) == 3
    assert "ValueError: nope" in failure.attempts[0]["error"]
    # the retries repeated the failed code: not run again
    assert [rec.verdict for _, rec in entries[1:]][::-1] == ["error", "repeated", "repeated"]


def test_generation_disabled_raises_message_not_understood(image):
    counter = _counter(image)
    with pytest.raises(MessageNotUnderstood):
        send(image, counter, "whatever")


def test_keyword_and_binary_selectors(image):
    counter = _counter(image)
    first, second = param_names("at:put:", 2, [1, 2])
    (other,) = param_names("+", 1, [10])
    fake = FakeBackend([f"    return {first} + {second}\n```",
                        f"    return self.count + {other}\n```"])
    with use_backend(fake):
        assert send(image, counter, "at:put:", 1, 2) == 3
        assert send(image, counter, "+", 10) == 13
    assert counter.send("+", 1) == 4


def test_generated_method_survives_restart_without_model(tmp_path):
    path = tmp_path / "p.fs"
    with batos.open_image(path) as im:
        counter = _counter(im)
        with use_backend(FakeBackend(["    return self.count * 10\n```"])):
            assert send(im, counter, "tenfold") == 30
    with batos.open_image(path) as im:
        assert im.globals["counter"].send("tenfold") == 30


def test_a_mutator_that_changes_nothing_is_fed_back(image):
    counter = _counter(image)  # count = 3
    fake = FakeBackend(["    self.count = 3\n    self._p_changed = True\n    return self\n```",
                        "    self.count = 0\n    self._p_changed = True\n    return self\n```"])
    with use_backend(fake):
        assert send(image, counter, "reset") is counter
    assert counter.count == 0
    assert "it changed nothing" in code_prompts(fake)[1] and "count = 3" in code_prompts(fake)[1]


def test_changing_nothing_is_right_when_there_was_nothing_to_change(image):
    counter = _counter(image)
    counter.set_slot("count", 0)
    image.commit("already empty")
    fake = FakeBackend(["    self.count = 0\n    self._p_changed = True\n    return self\n```",
                        "    self.name = text\n    self._p_changed = True\n    return self\n```",
                        "    self._p_changed = True\n    return self\n```",
                        "    self.count = self.count + 1\n    self._p_changed = True\n"
                        "    return self\n```"])
    with use_backend(fake):
        assert send(image, counter, "reset") is counter         # already reset: fine
        counter.set_slot("name", "Al")
        image.commit("a name")
        assert send(image, counter, "rename:", "Al") is counter  # same name: fine
        assert send(image, counter, "increment") is counter     # a no-op is not
    assert counter.count == 1 and counter.name == "Al" and len(code_prompts(fake)) == 4
    assert "it changed nothing" in code_prompts(fake)[3]
    assert [rec.verdict for _, rec in genlog.entries(image)][::-1] == [
        "installed", "installed", "error", "installed"]


def test_a_runaway_generation_is_stopped_and_retried(image):
    counter = _counter(image)
    runaway = "    return [" + "365, " * 200 + "]\n```"
    fake = FakeBackend([runaway, "    return self.count * 2\n```"])
    with use_backend(fake):
        assert send(image, counter, "twice") == 6
    first, second = [rec for _, rec in genlog.entries(image)][::-1]
    assert first.verdict == "rejected" and "ran away" in first.error
    assert len(first.output) < 300  # stopped soon after the line grew too long
    assert "ran away" in code_prompts(fake)[1]  # the error was fed back
    assert second.verdict == "installed"
