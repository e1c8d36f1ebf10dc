"""ALFRED's review of generated methods: the strict verdict, the flaw trail against the
writer, once per method version, never a human's method, the heartbeat end to end."""
from __future__ import annotations

import time

import pytest

from batos.lang.contracts import parse_examples, set_contract
from batos.llm import FakeBackend
from batos.mind import ether, heartbeat, improve, review
from batos.mind.dnu import use_backend
from batos.mind.personas import cues_of
from batos.mind.trace import list_traces
from tests.objects import make_counter

T0 = 1_000_000.0
WRONG = "def double_(self, number):\n    return number + 2\n"
RIGHT = "def double_(self, number):\n    return number * 2\n"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")


def _generated(image, obj, source, selector="double:", author="BRICK"):
    image.execute(lambda: obj.define(selector, source, author=author,
                                     provenance={"prompt_hash": "p" * 16}), note="generated")
    return improve.method_for(obj, selector)


def test_the_verdict_is_parsed_strictly():
    assert review.parse_verdict("OK") == ("ok", "")
    assert review.parse_verdict("  OK \n") == ("ok", "")
    assert review.parse_verdict("FLAW: adds 2 instead of doubling") == (
        "flaw", "adds 2 instead of doubling")
    for garbage in ("ok", "OK.", "Looks fine to me", "FLAW:", "FLAW:   ", "OK\nbut slow",
                    "FLAW: a\nFLAW: b", "The method is OK", "flaw: lower case", ""):
        assert review.parse_verdict(garbage) == ("none", ""), garbage


def test_the_models_text_is_one_short_printable_line():
    verdict, why = review.parse_verdict("FLAW: \x1b[2Jcleared\tand " + "x" * 500)
    assert verdict == "flaw"
    assert len(why) <= review.MAX_WHY and "\x1b" not in why and "\t" not in why
    assert why.startswith("\\x1b[2Jcleared and x") and why.endswith("…")
    assert "\n" not in review.clean("a\nb\r\nc") and review.clean("a\nb") == "a b"


def test_the_fake_answers_reviews_from_its_reviews_only():
    fake = FakeBackend(["code"], reviews=["OK", "FLAW: x"], proposals=["[1] -> 2"])
    assert fake.generate("r1", purpose="review").text == "OK"
    assert fake.generate("p", purpose="examples").text == "[1] -> 2"
    assert fake.generate("c").text == "code"
    assert fake.generate("r2", purpose="review").text == "FLAW: x"
    assert fake.generate("r3", purpose="review").text == ""       # the reviews ran out
    assert fake.prompts == ["c"]
    assert [c["purpose"] for c in fake.calls] == ["review", "examples", "code", "review",
                                                   "review"]
    computed = FakeBackend([], reviews=lambda prompt: "FLAW: " + prompt)
    assert computed.generate("why", purpose="review").text == "FLAW: why"


def test_a_flaw_trails_the_writer_and_lowers_its_pull(image):
    T0 = time.time()      # the router reads the ether as it is now
    counter = make_counter(image)
    method = _generated(image, counter, WRONG)
    before = ether.pull(image, "double: counter", cues_of(image), now=T0)
    fake = FakeBackend([], reviews=["FLAW: 3 gives 5, expected 6"])
    with use_backend(fake):
        done = improve.improve_cognition(image, now=T0)
    assert done["work"] == "review" and done["verdict"] == "flaw"
    assert done["what"] == ("ALFRED reviewed counter #double:: flaw: 3 gives 5, expected 6 "
                            "(#double: 3 → 6: answers 5)")
    # the review asked ALFRED, briefly, about the method; it was not a code prompt
    [call] = fake.calls
    assert fake.prompts == [] and call["purpose"] == "review"
    assert call["max_tokens"] == review.MAX_TOKENS and call["temperature"] == 0.0
    assert "You are ALFRED" in call["prompt"] and "return number + 2" in call["prompt"]
    assert "#double:" in call["prompt"] and ".count = 3" in call["prompt"]
    # a flaw trail against BRICK (the writer), not ALFRED
    assert [(p.kind, p.topic, p.persona) for p in ether.trails(image, now=T0)] == [
        ("flaw", "double", "BRICK")]
    after = ether.pull(image, "double: counter", cues_of(image), now=T0)
    assert after["BRICK"] < before["BRICK"] == 0.0 and after["ROBIN"] == 0.0
    assert ("double", pytest.approx(1.0)) in ether.weak_areas(image, now=T0)
    assert ether.route_in(image, "double: counter", cues_of(image), seed=0,
                          kind="code").pull["BRICK"] < 0
    # recorded, visible, and the method untouched
    assert counter.lookup("double_")[1] is method and counter.double_(3) == 5
    rec = review.reviews(image)[improve._key(counter, "double:")]
    assert rec[1:4] == ("flaw", "3 gives 5, expected 6", "BRICK")
    note = image.history(3)[0]["note"]
    assert note == ("heartbeat: improveCognition: review: ALFRED reviewed counter #double:: "
                    "flaw: 3 gives 5, expected 6 (#double: 3 → 6: answers 5)")
    trace = next(t for t in list_traces(image, 5) if t.kind == "improveCognition")
    assert any(s["info"].get("note", "").startswith("heartbeat: ALFRED reviewed counter")
               for s in trace.steps)


def test_ok_deposits_nothing_and_no_verdict_is_recorded_and_asked_again(image):
    counter = make_counter(image)
    _generated(image, counter, RIGHT)
    with use_backend(FakeBackend([], reviews=["I think it is fine", "OK"])):
        first = improve.improve_cognition(image, now=T0)
        assert first["verdict"] == "none" and not first["trailed"]
        assert "no verdict (I think it is fine)" in first["what"]
        assert improve.plan(image, now=T0).kind == "review"        # asked again
        second = improve.improve_cognition(image, now=T0)
    assert second["verdict"] == "ok" and second["what"].endswith("#double:: OK")
    assert ether.trails(image, now=T0) == []
    assert improve.plan(image, now=T0) is None


def test_garbage_is_asked_at_most_max_tries_times(image):
    counter = make_counter(image)
    _generated(image, counter, RIGHT)
    fake = FakeBackend([], reviews=lambda prompt: "Sure! Here is my review:")
    with use_backend(fake):
        for _ in range(improve.MAX_INTENT_TRIES):
            assert improve.improve_cognition(image, now=T0)["verdict"] == "none"
    assert improve.plan(image, now=T0) is None
    assert len(fake.calls) == improve.MAX_INTENT_TRIES and ether.trails(image, now=T0) == []


def test_plan_reviews_once_per_method_version(image):
    counter = make_counter(image)
    _generated(image, counter, RIGHT)
    w = improve.plan(image, now=T0)
    assert w.kind == "review" and w.what == "ALFRED reviews counter #double: (written by BRICK)"
    with use_backend(FakeBackend([], reviews=["OK", "FLAW: 1 gives 3, expected 2"])):
        improve.improve_cognition(image, now=T0)
        assert improve.plan(image, now=T0) is None                 # reviewed: nothing to do
        _generated(image, counter, WRONG, author="ROBIN")           # the method changed
        w = improve.plan(image, now=T0)
        assert w.kind == "review" and "written by ROBIN" in w.what
        assert improve.improve_cognition(image, now=T0)["verdict"] == "flaw"
    assert improve.plan(image, now=T0) is None
    assert [(p.kind, p.persona) for p in ether.trails(image, now=T0)] == [("flaw", "ROBIN")]
    # new examples change what the verdict was about: reviewed again
    image.execute(lambda: set_contract(image, counter, "double:",
                                       parse_examples("double:", image.evaluate("{3 -> 5}"))),
                  note="contract")
    image.execute(lambda: improve.reverify(image, improve.stale_contracts(image)), note="rv")
    assert improve.plan(image, now=T0).kind == "review"


def test_review_comes_after_propose_before_regenerate_and_needs_the_model(image):
    counter = make_counter(image)
    _generated(image, counter, WRONG)
    assert improve.plan(image, now=T0, generate=False).skipped == [
        "review: left to `batos heartbeat` (these beats do not use the model)"]
    # a method whose contract fails is the regenerate work's, not a review's
    image.execute(lambda: set_contract(image, counter, "double:",
                                       parse_examples("double:", image.evaluate("{3 -> 6}"))),
                  note="contract")
    image.execute(lambda: improve.reverify(image, improve.stale_contracts(image)), note="rv")
    assert review.pending(image) == []
    assert improve.plan(image, now=T0).kind == "regenerate"
    _generated(image, counter, "def tally(self):\n    return self.count\n", selector="tally")
    kinds = []
    for _ in range(3):   # the unary method without examples: propose first, then review
        w = improve.plan(image, now=T0)
        kinds.append(w.kind)
        key = (f"propose {improve._key(counter, 'tally')}" if w.kind == "propose"
               else review.try_key(image, counter, "tally", improve.method_for(counter, "tally")))
        image.execute(lambda: [improve.count_try(image, key)
                               for _ in range(improve.MAX_INTENT_TRIES)], note="tried")
    assert kinds == ["propose", "review", "regenerate"]


def test_a_human_method_is_never_reviewed_nor_changed(image):
    counter = make_counter(image)
    human = "def double_(self, number):\n    return number + 2\n"
    image.execute(lambda: counter.define("double:", human), note="define")
    assert review.pending(image) == [] and improve.plan(image, now=T0) is None
    fake = FakeBackend([], reviews=lambda prompt: "FLAW: anything")
    with use_backend(fake):
        for i in range(7):
            heartbeat.beat(image, now=T0 + i)
        with pytest.raises(Exception, match="written by a human"):
            improve.review_one(image, counter, "double:", counter.lookup("double_")[1])
    assert fake.calls == [] and counter.lookup("double_")[1].source == human
    assert ether.trails(image, now=T0 + 7) == []


def test_the_heartbeat_reviews_a_generated_method_end_to_end(image):
    counter = make_counter(image)
    with use_backend(FakeBackend(["    return number * 3 + 1\n```"])):
        image.execute(lambda: image.evaluate("counter triple: 2"), note="miss")
    writer = improve.method_for(counter, "triple:").provenance["author"]
    assert improve.is_generated(improve.method_for(counter, "triple:"))
    fake = FakeBackend([], reviews=["FLAW: 2 gives 7, expected 6"])
    with use_backend(fake):
        records = [heartbeat.beat(image, now=T0 + 60 * i) for i in range(4)]
    works = [r["work"] for r in records if r["improved"]]
    assert works[0] == ("review: ALFRED reviewed counter #triple:: flaw: 2 gives 7, "
                        "expected 6 (#triple: 2 → 6: answers 7)")
    assert [(p.kind, p.topic, p.persona) for p in ether.trails(image, now=T0 + 240)
            if p.kind == "flaw"] == [("flaw", "triple", writer)]
    assert counter.triple_(2) == 7                                   # never changed
    assert any(h["note"].startswith("heartbeat: improveCognition: review: ALFRED reviewed")
               for h in image.history(20))
    from batos.mind import genlog
    assert any(r.verdict == "answered" and r.selector == "review:" and r.persona == "ALFRED"
               for _, r in genlog.entries(image, 10))


def test_batos_mind_ether_shows_the_flaw_trail(image_path):
    import batos
    from typer.testing import CliRunner
    from batos.cli.main import app
    with batos.open_image(image_path) as im:
        counter = make_counter(im)
        _generated(im, counter, WRONG)
        with use_backend(FakeBackend([], reviews=["FLAW: 3 gives 5, expected '\x1b[31m6'"])):
            done = improve.improve_cognition(im)
        assert "\x1b" not in done["what"] and "expected '\\x1b[31m6'" in done["what"]
    res = CliRunner().invoke(app, ["mind", "ether", "-i", str(image_path)])
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "flaw" in line)
    assert "double" in row and "BRICK" in row


def test_a_flaw_is_checked_by_running_the_method_on_the_claimed_input(image):
    """A small reviewer also flags right methods: the claim is run before it counts, and
    it holds only when the method answers what the reviewer said it gives."""
    counter = make_counter(image)
    _generated(image, counter, RIGHT)
    with use_backend(FakeBackend([], reviews=["FLAW: double: 4 gives 9, expected 8"])):
        done = improve.improve_cognition(image, now=T0)
    assert done["verdict"] == "refuted" and not done["trailed"]
    assert done["what"].endswith("flaw refuted: double: 4 gives 9, expected 8 "
                                 "(#double: 4 → 8: answers 8)")
    assert ether.trails(image, now=T0) == [] and improve.plan(image, now=T0) is None
    _generated(image, counter, WRONG)
    with use_backend(FakeBackend([], reviews=["FLAW: it could be faster"])):
        done = improve.improve_cognition(image, now=T0)
    assert done["verdict"] == "unverified" and ether.trails(image, now=T0) == []
    _generated(image, counter, WRONG.replace("+ 2", "+ 3"))           # a new version
    with use_backend(FakeBackend([], reviews=["FLAW: 3 gives 5, expected 7"])):
        done = improve.improve_cognition(image, now=T0)                # it gives 6, not 5
    assert done["verdict"] == "unverified" and ether.trails(image, now=T0) == []
    assert counter.double_(3) == 6                                     # nothing changed


@pytest.mark.parametrize("why, selector, args, expected", [
    ("3 gives 5, expected 6", "double:", [3], 6),
    ("#double: 3 gives 5, expected 6", "double:", [3], 6),
    ("double(3) returns 5 but expected 6", "double:", [3], 6),
    ("between: 1 and: 5 gives [1, 2], expected True", "between:and:", [1, 5], True),
    ("[1, 5] gives 3, expected 4", "between:and:", [1, 5], 4),
    ("'abc' gives 'abc', expected 'cba'", "reversed:", ["abc"], "cba"),
    ("[1, 2] gives 1, expected 2", "largest:", [[1, 2]], 2),
    ("count 3 gives 5, expected 6", "total", [], 6),
    ("1 isEven_(1) gives True, expected False", "isEven:", [1], False),
])
def test_claims_read_only_literals(why, selector, args, expected):
    ex = review.claimed_example(why, selector)
    assert list(ex.args) == args and ex.expected == expected


@pytest.mark.parametrize("why", ["adds 2 instead of doubling", "empty input gives 0, expected 1",
                                 "__import__('os') gives 1, expected 2",
                                 "3 gives 5, expected six"])
def test_claims_without_a_literal_input_and_answer_are_unreadable(why):
    assert review.claimed_example(why, "double:") is None
