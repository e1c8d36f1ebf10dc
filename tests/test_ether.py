"""The digital ether: decay, evaporation, bounds, deposits on outcomes, routing's pull."""
from __future__ import annotations

import re

import pytest

from batos.errors import BatosError
from batos.llm import FakeBackend
from batos.mind import ether, genlog, improve
from batos.mind.dnu import use_backend
from batos.mind.personas import cues_of
from batos.mind.ether import route_in
from batos.mind.router import route
from batos.mind.trace import list_traces

T0 = 1_000_000.0
CUES = {"BRICK": ["code"], "ROBIN": ["feel"], "BABS": ["find"], "ALFRED": ["check"]}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")


def test_decay_halves_per_half_life(image):
    image.options["ether_half_life"] = 100.0
    ether.deposit(image, "success", "greetingFor:", "ROBIN", 1.0, now=T0)
    [p] = ether.trails(image, now=T0 + 100)
    assert (p.kind, p.topic, p.persona) == ("success", "greeting", "ROBIN")
    assert p.intensity == pytest.approx(0.5)
    assert ether.trails(image, now=T0 + 200)[0].intensity == pytest.approx(0.25)
    # a second deposit adds to what is left of the first
    ether.deposit(image, "success", "greetingFor:", "ROBIN", 1.0, now=T0 + 100)
    [p] = ether.trails(image, now=T0 + 100)
    assert p.intensity == pytest.approx(1.5) and p.deposits == 2


def test_weak_trails_evaporate(image):
    image.options["ether_half_life"] = 10.0
    ether.deposit(image, "failure", "sortBy:", "BRICK", 1.0, now=T0)
    ether.deposit(image, "success", "total", "BABS", 1.0, now=T0 + 50)
    # 5 half-lives: 1/32 < FLOOR; the later trail is still strong
    assert [p.topic for p in ether.trails(image, now=T0 + 50)] == ["total"]
    assert len(ether.ether_tree(image)) == 2          # reading removes nothing
    assert ether.evaporate(image, now=T0 + 50) == 1
    assert list(ether.ether_tree(image).keys()) == ["success|total|BABS"]
    image.commit("ether")


def test_the_ether_is_bounded(image, monkeypatch):
    monkeypatch.setattr(ether, "MAX_TRAILS", 5)
    for i in range(8):
        ether.deposit(image, "success", f"topic{i}", "BRICK", 1.0 + i, now=T0)
    tree = ether.ether_tree(image)
    assert len(tree) <= 5
    assert "success|topic7|BRICK" in tree and "success|topic0|BRICK" not in tree


def test_bad_kind_and_empty_topic(image):
    with pytest.raises(ValueError, match="unknown pheromone kind"):
        ether.deposit(image, "joy", "x", "BRICK")
    assert ether.deposit(image, "success", "to:", "BRICK") is None  # only stop words


def test_pull_attracts_success_and_repels_failure(image):
    ether.deposit(image, "success", "greetingFor:", "ROBIN", now=T0)
    ether.deposit(image, "failure", "greetingFor:", "BRICK", now=T0)
    ether.deposit(image, "flaw", "sortBy:", "BABS", now=T0)
    pull = ether.pull(image, "greetingTo: host", CUES, now=T0)
    assert pull["ROBIN"] > 0 > pull["BRICK"]
    assert pull["BABS"] == 0 and pull["ALFRED"] == 0
    assert ether.weak_areas(image, now=T0)[0][0] in ("greeting", "by sort")


def test_router_adds_the_pull_before_the_noise():
    plain = route("code code", CUES, seed=3, kind="code")
    pulled = route("code code", CUES, seed=3, kind="code", pull={"BRICK": -2.0, "BABS": 0.5})
    assert plain.top == "BRICK" and pulled.top == "BABS"
    assert pulled.pull == {"BRICK": -2.0, "BABS": 0.5}
    assert pulled.scores == plain.scores               # the cue scores are unchanged


def test_generation_outcomes_deposit(image):
    genlog.append(image, [
        genlog.GenerationRecord(selector="double:", persona="BRICK", verdict="error"),
        genlog.FailureRecord("a Proto(c)", "double:", [], []),
        genlog.GenerationRecord(selector="greet", persona="ROBIN", verdict="installed"),
        genlog.GenerationRecord(selector="edit", persona="human", verdict="installed")])
    found = {(p.kind, p.topic, p.persona) for p in ether.trails(image)}
    assert found == {("failure", "double", "BRICK"), ("success", "greet", "ROBIN")}


# --- routing converges with the ether ----------------------------------------------------------

def _fake_personas(good: str = "ROBIN") -> FakeBackend:
    """``good`` writes the right greeting; every other persona a wrong one."""
    def answer(prompt: str) -> str:
        param = re.findall(r"def \w+\(self, (\w+)\):", prompt)[-1]
        who = re.findall(r"You are (\w+)", prompt)
        word = "Hello" if who and who[-1] == good else "Bye"
        return f"    return '{word}, ' + {param}\n```"
    return FakeBackend(answer)


@pytest.mark.parametrize("good", ["ROBIN", "BABS"])
def test_routing_converges_to_the_persona_that_succeeds(image, good):
    host = image.globals["genesis"].clone()
    image.globals["host"] = host
    image.commit("host")
    image.options["retries"] = 0
    chosen = []
    assert route_in(image, "greetingFor: host", cues_of(image), seed=0, kind="code").top == "BRICK"
    with use_backend(_fake_personas(good)):
        for i, name in enumerate(["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo"]):
            improve.add_curriculum(image, [{"receiver": "host", "selector": "greetingFor:",
                                            "examples": f"{{'{name}' -> 'Hello, {name}'}}"}])
            image.commit("seed")
            try:
                done = improve.improve_cognition(image, seed=i)
                chosen.append(done["persona"])
            except BatosError as exc:
                assert "does not satisfy the example" in str(exc)
                trace = [t for t in list_traces(image, 5) if t.kind == "improveCognition"][0]
                chosen.append("failed " + trace.steps[2]["info"]["persona"])
    # N: the cycle after which every choice is the persona that succeeds
    n = next(i for i in range(len(chosen)) if all(c == good for c in chosen[i:]))
    assert chosen[0] == "failed BRICK"         # the code prior's choice fails first
    assert n <= 5, chosen
    assert chosen[-1] == good
    print(f"routing converged to {good} after {n} cycles: {chosen}")
