"""The Prototypal State Machine: states in the image, delegation, transitions, doom on failure."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import batos
from batos.errors import BatosError
from batos.image.proto import Proto
from batos.mind import psm, trace as traces
from batos.mind.psm import STATES, CycleFailed, current_cycle, new_cycle, state_proto
from tests.objects import make_counter




def test_states_live_in_the_image(image: Any) -> None:
    states = image.globals["psm_states"]
    for name in STATES:
        state = states.get_slot(name)
        assert isinstance(state, Proto) and state.state_name == name
        assert state.method("_process_synthesis_") is not None   # inherited from psm_state
    assert "psm" in image.root["awakening"]
    assert image.root["traces"] is not None


def test_a_transition_repoints_the_parent_slot(image: Any) -> None:
    cycle = new_cycle(image, "test", "mission", persona="BRICK")
    assert cycle.proto.get_slot("synthesis_state*") is state_proto(image, "IDLE")
    cycle.transition("DECOMPOSING", note="x")
    assert cycle.proto.get_slot("synthesis_state*") is state_proto(image, "DECOMPOSING")
    assert cycle.state_name == "DECOMPOSING"
    assert cycle.proto.state_name == "DECOMPOSING"   # data slots delegate too
    assert cycle.trace.states == ["IDLE", "DECOMPOSING"]
    assert cycle.trace.steps[-1]["info"] == {"note": "x"}
    with pytest.raises(BatosError, match="unknown PSM state"):
        cycle.transition("DREAMING")


def test_process_synthesis_is_delegated_to_the_current_state(image: Any) -> None:
    seen: list[tuple[str, str]] = []

    def handler(name: str, nxt: str) -> Any:
        def fn(c: Any) -> str:
            seen.append((name, c.state_name))
            return nxt
        return fn

    cycle = new_cycle(image, "test", "m")
    result = cycle.run({"IDLE": handler("IDLE", "DECOMPOSING"),
                        "DECOMPOSING": handler("DECOMPOSING", "SYNTHESIZING"),
                        "SYNTHESIZING": handler("SYNTHESIZING", "COMPLETE")})
    assert result is None
    assert seen == [("IDLE", "IDLE"), ("DECOMPOSING", "DECOMPOSING"),
                    ("SYNTHESIZING", "SYNTHESIZING")]
    assert cycle.trace.states == ["IDLE", "DECOMPOSING", "SYNTHESIZING", "COMPLETE"]
    assert cycle.trace.verdict == "complete" and cycle.trace.ended is not None


def test_a_state_method_defined_in_the_image_wins(image: Any) -> None:
    """States are ordinary prototypes: redefine DECOMPOSING's behaviour in the image."""
    decomposing = state_proto(image, "DECOMPOSING")
    decomposing.define("_process_synthesis_",
                       "def _process_synthesis_(self):\n    return 'SYNTHESIZING'\n")
    cycle = new_cycle(image, "test", "m")
    cycle.run({"DECOMPOSING": lambda c: "DELEGATING"})   # shadowed by the state's own method
    assert cycle.trace.states == ["IDLE", "DECOMPOSING", "SYNTHESIZING", "COMPLETE"]


def test_default_path_and_result(image: Any) -> None:
    cycle = new_cycle(image, "test", "m", seed=3, extra=object())

    def synth(c: Any) -> str:
        c.result = 42
        c.note(verdict="ok")
        return "COMPLETE"
    assert cycle.run({"SYNTHESIZING": synth}) == 42
    assert cycle.trace.states == ["IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "COMPLETE"]
    assert cycle.trace.info == {"seed": 3}          # plain context kept, objects not
    assert "extra" in cycle.context                  # ... but available to handlers
    assert cycle.trace.steps[3]["info"] == {"verdict": "ok"}
    assert cycle.trace.result == "42"


def test_current_cycle_is_set_while_running(image: Any) -> None:
    cycle = new_cycle(image, "test", "m")
    inside: list[Any] = []
    cycle.run({"IDLE": lambda c: inside.append(current_cycle()) or "COMPLETE"})
    assert inside == [cycle] and current_cycle() is None


def _counter(image: Any) -> Proto:
    return make_counter(image, count=0)


def test_failure_dooms_the_transaction_and_keeps_the_trace(image: Any) -> None:
    counter = _counter(image)
    before = traces.last_trace(image)

    def action() -> Any:
        counter.set_slot("count", 99)
        cycle = new_cycle(image, "test", "fail on purpose", persona="ALFRED")

        def delegate(c: Any) -> str:
            c.note(persona="ALFRED", verdict="rejected")
            raise ValueError("bad method")
        return cycle.run({"DELEGATING": delegate})

    with pytest.raises(ValueError, match="bad method") as info:
        image.execute(action, note="failing cycle")
    assert callable(info.value.followup)
    assert counter.count == 0                                   # the change was rolled back
    image.abort()
    assert image.globals["counter"].count == 0
    kept = traces.last_trace(image)
    assert kept is not None and kept is not before
    assert kept.verdict == "failed" and kept.mission == "fail on purpose"
    assert kept.states == ["IDLE", "DECOMPOSING", "DELEGATING", "FAILED"]
    assert kept.steps[2]["info"] == {"persona": "ALFRED", "verdict": "rejected"}
    assert kept.steps[3]["info"]["failed_in"] == "DELEGATING"
    assert "ValueError: bad method" in kept.error
    assert info.value.trace.id == kept.id
    # it was committed in its own transaction, whose note says so
    assert image.history(1)[0]["note"].startswith(f"trace {kept.id}: test failed")


def test_nested_cycles_record_both_traces(image: Any) -> None:
    def outer_delegate(c: Any) -> str:
        inner = new_cycle(image, "inner", "nested")
        inner.run({"DELEGATING": lambda c2: c2.fail("inner broke")})
        return "SYNTHESIZING"

    with pytest.raises(CycleFailed, match="inner broke") as info:
        image.execute(lambda: new_cycle(image, "outer", "top").run(
            {"DELEGATING": outer_delegate}), note="nested")
    assert info.value.trace.kind == "inner"
    kept = traces.list_traces(image, 2)
    assert [(t.kind, t.verdict) for t in kept] == [("outer", "failed"), ("inner", "failed")]
    assert kept[0].steps[-1]["info"]["failed_in"] == "DELEGATING"


def test_failed_state_dooms(image: Any) -> None:
    import transaction.interfaces
    cycle = new_cycle(image, "test", "m")
    with pytest.raises(CycleFailed, match="failed in DELEGATING"):
        cycle.run({"DELEGATING": lambda c: "FAILED"})
    assert image.tm.get().isDoomed()
    with pytest.raises(transaction.interfaces.DoomedTransaction):
        image.commit("must not commit")
    image.abort()


def test_cycle_fail_helper_and_runaway(image: Any) -> None:
    cycle = new_cycle(image, "test", "m")
    with pytest.raises(CycleFailed, match="no plan"):
        cycle.run({"DECOMPOSING": lambda c: c.fail("no plan")})
    image.abort()
    cycle = new_cycle(image, "test", "loop")
    with pytest.raises(CycleFailed, match="more than"):
        cycle.run({"DELEGATING": lambda c: "DELEGATING"})
    assert len(cycle.trace.steps) == psm.MAX_STEPS + 2   # IDLE, 200 moves, FAILED
    assert cycle.trace.states[-1] == "FAILED"
    image.abort()


def test_an_unknown_next_state_fails_the_cycle(image: Any) -> None:
    cycle = new_cycle(image, "test", "m")
    with pytest.raises(BatosError, match="unknown PSM state 'DREAMING'"):
        cycle.run({"DECOMPOSING": lambda c: "DREAMING"})
    assert cycle.trace.states == ["IDLE", "DECOMPOSING", "FAILED"]
    assert cycle.trace.verdict == "failed"
    image.abort()


def test_read_only_images_run_cycles_without_keeping_traces(tmp_path: Path) -> None:
    path = tmp_path / "ro.fs"
    batos.open_image(path).close()
    with batos.open_image(path, read_only=True) as im:
        cycle = new_cycle(im, "test", "look only")
        assert im.execute(lambda: cycle.run({"SYNTHESIZING": lambda c: "COMPLETE"}),
                          note="ro") is None
        assert cycle.trace.id == 0 and cycle.trace.verdict == "complete"
        assert traces.last_trace(im) is None


def test_process_synthesis_outside_a_cycle(image: Any) -> None:
    ctx = Proto("not a cycle")
    ctx.set_slot("synthesis_state*", state_proto(image, "IDLE"))
    with pytest.raises(BatosError, match="not a running cycle"):
        psm.process_synthesis(ctx)


def test_traces_are_bounded_and_survive_reopen(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(traces, "MAX_TRACES", 5)
    path = tmp_path / "bound.fs"
    with batos.open_image(path) as im:
        for i in range(8):
            new_cycle(im, "test", f"m{i}").run()
        im.commit("cycles")
        assert list(im.root["traces"].keys()) == [4, 5, 6, 7, 8]
    with batos.open_image(path) as im:
        assert [t.mission for t in traces.list_traces(im, 3)] == ["m7", "m6", "m5"]
        assert traces.get_trace(im, 6).states[-1] == "COMPLETE"
