"""The Composite Entropy Metric: each part on constructed records with known values."""
from __future__ import annotations

import math

import pytest

from batos.errors import BatosError
from batos.mind import cem, genlog
from batos.mind.trace import Trace, store_trace


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")


def test_cognitive_diversity_known_entropies():
    assert cem.cognitive_diversity(["BRICK", "ROBIN", "BABS", "ALFRED"] * 5, 4) == pytest.approx(1.0)
    assert cem.cognitive_diversity(["BRICK"] * 9, 4) == 0.0
    # two of four personas equally: ln 2 / ln 4
    assert cem.cognitive_diversity(["BRICK", "ROBIN"] * 3, 4) == pytest.approx(0.5)
    # 3:1 over two labels of four choices
    p = [0.75, 0.25]
    want = -sum(x * math.log(x) for x in p) / math.log(4)
    assert cem.cognitive_diversity(["A", "A", "A", "B"], 4) == pytest.approx(want)
    assert cem.cognitive_diversity([], 4) == 0.0


def test_solution_novelty_is_distance_from_earlier_solutions():
    a = "def f(self):\n    return self.count * 2\n"
    b = "def g(self, items):\n    return sorted(items, key=len)[-1]\n"
    assert cem.solution_novelty([]) == 0.0
    assert cem.solution_novelty([a]) == 1.0              # nothing earlier: all new
    assert cem.solution_novelty([a, a]) == pytest.approx(0.5)   # the copy adds nothing
    assert cem.solution_novelty([a], past=[a]) == 0.0
    assert cem.solution_novelty([b], past=[a]) == pytest.approx(1.0)
    # the def line (the selector) does not count: the same body is the same solution
    renamed = "def other(self):\n    return self.count * 2\n"
    assert cem.solution_novelty([renamed], past=[a]) == 0.0


def test_structural_growth_counts_new_methods_only():
    assert cem.structural_growth([]) == 0.0
    assert cem.structural_growth([("c", "a"), ("c", "a"), ("c", "b")]) == pytest.approx(2 / 3)
    assert cem.structural_growth([("c", "a")], known=[("c", "a")]) == 0.0


def test_relevance_is_the_mean_of_rates_with_data():
    assert cem.relevance({"contracts": (3, 4), "generations": (1, 2)}) == pytest.approx(0.625)
    assert cem.relevance({"contracts": (0, 0), "generations": (2, 2)}) == 1.0
    assert cem.relevance({}) == 0.0


def test_weights_parse_and_reject():
    assert cem.parse_weights("1,0,0,1") == {"cog": 1.0, "sol": 0.0, "struc": 0.0, "rel": 1.0}
    for bad in ("1,2,3", "a,b,c,d", "-1,1,1,1", "0,0,0,0"):
        with pytest.raises(BatosError, match="cem_weights"):
            cem.parse_weights(bad)


def _trace(image, persona, kind="doesNotUnderstand_", notes=0):
    t = Trace(kind, "m", persona)
    t.add_step("IDLE", {"persona": persona})
    t.add_step("DECOMPOSING", {"notes": notes})
    t.add_step("DELEGATING", {"persona": persona})
    store_trace(image, t)


def _installed(receiver, selector, persona, code):
    return genlog.GenerationRecord(receiver=receiver, selector=selector, persona=persona,
                                   verdict="installed", code=code, prompt_hash="x")


def test_measure_on_a_constructed_record(image):
    for who in ("BRICK", "BRICK", "ROBIN", "ROBIN"):
        _trace(image, who)
    _trace(image, "ALFRED", kind="improveCognition")   # the heartbeat's own: left out
    code_a = "def a(self):\n    return self.count * 2\n"
    code_b = "def b(self, items):\n    return sorted(items, key=len)[-1]\n"
    genlog.append(image, [_installed("a Proto(c)", "a", "BRICK", code_a),
                          _installed("a Proto(c)", "b", "ROBIN", code_b),
                          _installed("a Proto(c)", "a", "BRICK", code_a),  # regenerated, same
                          genlog.GenerationRecord(receiver="h", selector="e", persona="human",
                                                  verdict="installed", code="x"),
                          genlog.FailureRecord("a Proto(c)", "z", [], [])])
    image.commit("records")
    m = cem.measure(image)
    assert m.parts["cog"] == pytest.approx(0.5)          # BRICK and ROBIN of 4 personas
    assert m.parts["sol"] == pytest.approx((1 + 1 + 0) / 3)
    assert m.parts["struc"] == pytest.approx(2 / 3)
    assert m.parts["rel"] == pytest.approx(3 / 4)        # 3 installed of 4 outcomes
    assert m.cem == pytest.approx(sum(m.parts.values()) / 4)
    assert m.counts["traces"] == 4
    image.options["cem_weights"] = "0,0,0,1"
    assert cem.measure(image).cem == pytest.approx(0.75)


def test_idle_heartbeat_cycles_do_not_push_real_work_out_of_the_window(image):
    """Found in the real-model run: after the curriculum was done, each window's idle
    improveCognition trace pushed the image's own cycles out, and H_cog read 0."""
    for who in ("BRICK", "ROBIN"):
        _trace(image, who)
    for _ in range(3 * cem.WINDOW):
        _trace(image, "ALFRED", kind="improveCognition")
    image.commit("records")
    m = cem.measure(image)
    assert m.counts["traces"] == 2 and m.parts["cog"] == pytest.approx(0.5)


def test_an_empty_record_measures_zero(image):
    m = cem.measure(image)
    assert m.cem == 0.0 and set(m.parts.values()) == {0.0}


def test_sparklines_and_the_status_view(image):
    import io

    from rich.console import Console

    from batos.mind import heartbeat
    from batos.render.mind import render_history, render_status, sparkline
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([0.2] * 50, width=10) == "▂" * 10
    for i in range(3):
        heartbeat.beat(image, now=100.0 + i, improve=False)
    history = heartbeat.beats(image)
    assert render_history(history).splitlines()[-1] == "   cem ▁▁▁  0.00..0.00"
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(render_status(cem.measure(image), history))
    text = out.getvalue()
    assert "CEM 0.000  ·  3 beats recorded" in text
    assert "H_rel relevance" in text and "last beat 3" in text
