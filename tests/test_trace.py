"""Traces: plain-data records, the store, JSON, and golden rich renders."""
from __future__ import annotations

import json
from typing import Any

import pytest
from rich.console import Console

from batos.errors import BatosError
from batos.mind.trace import Trace, get_trace, last_trace, list_traces, plain, store_trace
from batos.render.trace import render_timeline, render_trace_table

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def render(*objs: Any) -> str:
    console = Console(width=100, color_system=None, force_terminal=False)
    with console.capture() as cap:
        for obj in objs:
            console.print(obj)
    return cap.get()


def dnu_trace() -> Trace:
    t = Trace("doesNotUnderstand_", "a Proto(counter) #increment", "BRICK", info={"seed": 7},
              started=T0)
    t.id = 12
    t.add_step("IDLE", {"persona": "BRICK"}, at=T0)
    t.add_step("DECOMPOSING", {"slots": 2, "route": {"BRICK": 0.9, "ROBIN": 0.04, "BABS": 0.03,
                                                     "ALFRED": 0.03}}, at=T0 + 0.002)
    t.add_step("DELEGATING", {"persona": "BRICK", "adapters": [["brick.gguf", 1.0]],
                              "backend": "llama.cpp"}, at=T0 + 0.004)
    t.add_step("SYNTHESIZING", {"attempt": 1, "verdict": "installed", "prompt_tokens": 412,
                                "prompt_tokens_cached": 380, "completion_tokens": 31,
                                "seconds": 1.25, "finish": "stop"}, at=T0 + 0.01)
    t.add_step("COMPLETE", at=T0 + 1.3)
    t.finish("complete", result="def increment(self): ...", at=T0 + 1.3)
    return t


def failed_trace() -> Trace:
    f = Trace("ask", "How should I model a library?", "BRICK", started=T0 + 60)
    f.id = 13
    f.add_step("IDLE", at=T0 + 60)
    f.add_step("DELEGATING", {"persona": "ROBIN", "text": "People borrow books; " * 10},
               at=T0 + 60.5)
    f.add_step("FAILED", {"error": "Interrupted: generation interrupted",
                          "failed_in": "DELEGATING"}, at=T0 + 61)
    f.finish("failed", error="Interrupted: generation interrupted", at=T0 + 61)
    return f


GOLDEN_DNU = """\
trace 12 · doesNotUnderstand_ · BRICK · complete · 1.300 s · 2027-01-15 08:00:00 UTC
├── mission  a Proto(counter) #increment
├── seed  7
├── IDLE  +0.000 s  BRICK
├── DECOMPOSING  +0.002 s
│   ├── slots  2
│   └── route  BRICK 0.90 · ROBIN 0.04 · BABS 0.03 · ALFRED 0.03
├── DELEGATING  +0.004 s  BRICK
│   ├── backend  llama.cpp
│   └── adapters  brick.gguf ×1
├── SYNTHESIZING  +0.010 s
│   ├── attempt  1
│   ├── verdict  installed
│   └── tokens  412 prompt (380 cached) → 31 completion · 1.250 s · stop
└── COMPLETE  +1.300 s
result  def increment(self): ...
"""

GOLDEN_FAILED = """\
trace 13 · ask · BRICK · failed · 1.000 s · 2027-01-15 08:01:00 UTC
├── mission  How should I model a library?
├── IDLE  +0.000 s
├── DELEGATING  +0.500 s  ROBIN
│   └── said  People borrow books; People borrow books; People borrow books; People…
└── FAILED  +1.000 s
    ├── error  Interrupted: generation interrupted
    └── failed_in  DELEGATING
error  Interrupted: generation interrupted
"""

GOLDEN_TABLE = """\
id  kind                persona  verdict   steps  seconds  mission                      
13  ask                 BRICK    failed        3    1.000  How should I model a library?
12  doesNotUnderstand_  BRICK    complete      5    1.300  a Proto(counter) #increment  
"""


def test_golden_tree_of_a_completed_cycle() -> None:
    assert render(dnu_trace()) == GOLDEN_DNU


def test_golden_tree_of_a_failed_cycle() -> None:
    assert render(failed_trace()) == GOLDEN_FAILED


def test_golden_table() -> None:
    assert render(render_trace_table([failed_trace(), dnu_trace()])) == GOLDEN_TABLE


GOLDEN_TIMELINE = """\
trace 12 · doesNotUnderstand_ · complete                                                   
state            at   took  persona  tokens  notes                                         
IDLE          0.000  0.002  BRICK                                                          
DECOMPOSING   0.002  0.002                   slots 2; route BRICK 0.90 · ROBIN 0.04 · BABS…
DELEGATING    0.004  0.006  BRICK            backend llama.cpp; adapters brick.gguf ×1     
SYNTHESIZING  0.010  1.290           412→31  attempt 1; verdict installed                  
COMPLETE      1.300  0.000                                                                 
"""


def test_golden_timeline() -> None:
    assert render(render_timeline(dnu_trace())) == GOLDEN_TIMELINE
    running = Trace("k", "m", started=T0)
    running.add_step("IDLE", at=T0)
    assert "IDLE   0.000" in render(render_timeline(running))   # no end yet: no duration


def test_json_round_trip_is_plain_data() -> None:
    t = dnu_trace()
    data = t.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["seconds"] == pytest.approx(1.3)
    assert [s["state"] for s in data["steps"]] == t.states
    again = Trace.from_json(data)
    again.id = t.id
    assert again.to_json() == data
    assert render(again) == GOLDEN_DNU


def test_plain_converts_everything() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"
    assert plain({"a": (1, 2), 3: {b"x"}, "o": Thing(), "s": "y" * 5000}) == {
        "a": [1, 2], "3": ["78"], "o": "<thing>", "s": "y" * 4000 + "…"}


def test_note_goes_to_the_last_step() -> None:
    t = Trace("k", "m")
    t.note(before="steps")
    t.add_step("IDLE")
    t.note(tokens=(1, 2))
    assert t.info == {"before": "steps"} and t.steps[0]["info"] == {"tokens": [1, 2]}




def test_store_get_last_list(image: Any) -> None:
    assert last_trace(image) is None
    with pytest.raises(BatosError, match="no traces yet"):
        get_trace(image, "last")
    a = store_trace(image, dnu_trace())
    b = store_trace(image, failed_trace())
    assert (a.id, b.id) == (1, 2)
    assert last_trace(image) is b and get_trace(image, "1") is a and get_trace(image, "LAST") is b
    assert list_traces(image) == [b, a]
    with pytest.raises(BatosError, match=r"no trace 9 \(the newest is 2\)"):
        get_trace(image, 9)
    with pytest.raises(BatosError, match="a number or 'last'"):
        get_trace(image, "first")


def test_repl_commands_register_when_the_repl_has_a_registry(
        image: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from batos.repl import commands
    from batos.repl.mind_commands import register_repl_commands
    monkeypatch.setattr(commands, "_REGISTRY", dict(commands._REGISTRY))  # leave others' as is
    assert register_repl_commands() is True
    trace_cmd, persona_cmd = commands.find("trace"), commands.find("persona")
    assert not trace_cmd.builtin and not persona_cmd.builtin

    class Session:
        def __init__(self) -> None:
            self.image = image
            self.printed: list[Any] = []

        def print(self, obj: Any, **kw: Any) -> None:
            self.printed.append(obj)

    s = Session()
    store_trace(image, dnu_trace())
    trace_cmd.fn(s, "")
    assert render(s.printed[-1]) == GOLDEN_DNU.replace("trace 12", "trace 1", 1)
    persona_cmd.fn(s, "robin")
    assert image.options["persona"] == "ROBIN" and "ROBIN" in s.printed[-1]
    with pytest.raises(BatosError, match="no trace 77"):
        trace_cmd.fn(s, "77")
    trace_cmd.fn(s, "list")
    assert "doesNotUnderstand_" in render(s.printed[-1])
