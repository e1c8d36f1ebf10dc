"""``ask:`` streamed, bounded, ending on a sentence, shown as prose (issue 19, item 9)."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import batos
from batos.mind import dnu
from batos.llm.fake import FakeBackend
from batos.mind import contrapunto as C
from batos.mind.trace import last_trace

QUESTION = "What is a prototype?"   # hits no joiner's cues: BRICK then ROBIN


@pytest.fixture(autouse=True)
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No LoRA files, no streaming to the terminal (set before the shared ``image`` opens)."""
    monkeypatch.setenv("BATOS_LORAS", str(tmp_path / "no-loras"))
    monkeypatch.setenv("BATOS_STREAM", "0")


def _ask(image: Any, question: str = QUESTION) -> str:
    return image.execute(lambda: image.globals["genesis"].send("ask:", question), note="ask")


def _system(prompt: str) -> str:
    return prompt.split("<|im_start|>system\n", 1)[1].split("<|im_end|>", 1)[0]


# --- streaming ------------------------------------------------------------------------------

def test_the_contrapunto_streams_through_the_generation_sink(image: Any) -> None:
    fake = FakeBackend(["Clone a Book prototype.", "Give each clone a title slot.",
                        "Make Book a prototype and clone it."])
    image.options["backend"] = fake
    seen: list[str] = []
    with dnu.stream_to(seen.append):
        answer = _ask(image)
    stream = "".join(seen)
    assert answer == "Make Book a prototype and clone it."
    first = stream.index("BRICK ▸ turn 1")
    second = stream.index("ROBIN ▸ turn 2")
    synthesis = stream.index(" ▸ synthesis")
    assert first < stream.index("Clone a Book prototype.") < second
    assert second < stream.index("Give each clone a title slot.") < synthesis
    assert stream.index("Make Book a prototype and clone it.") > synthesis


def test_without_a_sink_nothing_is_written(image: Any, capsys: pytest.CaptureFixture) -> None:
    image.options["backend"] = FakeBackend(["one.", "two.", "three."])
    assert _ask(image) == "three."
    assert "▸" not in capsys.readouterr().err


# --- bounds ----------------------------------------------------------------------------------

def test_turns_are_capped_and_the_trace_counts_those_that_ran(image: Any) -> None:
    # BRICK's turn hits BABS's and ALFRED's cues: without a cap 4 turns would run
    talk = "We should research the data and audit what is inefficient."
    fake = FakeBackend([talk, talk, talk, "The synthesis."])
    image.options["backend"] = fake
    image.options["ask_max_turns"] = 3
    assert _ask(image) == "The synthesis."
    trace = last_trace(image)
    speakers = [s["info"]["persona"] for s in trace.steps if s["state"] == "DELEGATING"]
    assert speakers == ["BRICK", "ALFRED", "BABS"]
    assert trace.info["turns"] == 3 and trace.info["planned"] == 2
    assert trace.info["max_turns"] == 3
    assert any("turns: at most 3" in str(s["info"].get("stopped", "")) for s in trace.steps)
    assert len(fake.prompts) == 4       # three turns and the synthesis


def test_an_echoed_synthesis_label_is_dropped(image: Any) -> None:
    image.options["backend"] = FakeBackend(["a.", "b.", "Synthesis: Clone Book.\n\nSynthesis:"])
    assert _ask(image) == "Clone Book."


def test_the_trace_counts_joined_turns(image: Any) -> None:
    fake = FakeBackend(["We should research this.", "Facts say loans last weeks.",
                        "Readers like it.", "Answer."])
    image.options["backend"] = fake
    assert _ask(image) == "Answer."
    assert last_trace(image).info["turns"] == 3    # BRICK, BABS (joined), ROBIN


def test_defaults_are_sane_and_slots_override_them(image: Any) -> None:
    assert (C.DEFAULT_SECONDS, C.DEFAULT_MAX_TURNS) == (60.0, 4)
    image.options["backend"] = FakeBackend(["a.", "b.", "c."])
    _ask(image)
    assert last_trace(image).info["budget_s"] == 60.0
    image.globals["genesis"].set_slot("ask_max_turns", 1)
    image.commit("one turn")
    image.options["backend"] = FakeBackend(["a.", "the end."])
    assert _ask(image) == "the end."
    assert last_trace(image).info["turns"] == 1


class _Clock:
    """A clock that advances one second each time it is read."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_the_time_budget_cuts_turns_and_the_synthesis(image: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(C, "_now", _Clock())
    long_turn = "Prototypes are objects. " + " ".join(f"word{i}" for i in range(60)) + "."
    synthesis = ("Clone a Book. Put titles in slots. "
                 + " ".join(f"more{i}" for i in range(80)) + ".")
    fake = FakeBackend([long_turn, synthesis])
    image.options["backend"] = fake
    image.options["ask_seconds"] = 40
    seen: list[str] = []
    with dnu.stream_to(seen.append):
        answer = _ask(image)
    # the first turn ran into the turns' share (24 s of 40) and was cut: no second turn
    assert len(fake.prompts) == 2
    assert "Dialogue:\nBRICK: Prototypes are objects.\n\nSynthesis:" in fake.prompts[1]
    # the synthesis was cut at the budget, then trimmed to its last full sentence
    assert answer == "Clone a Book. Put titles in slots."
    trace = last_trace(image)
    assert trace.info["turns"] == 1 and trace.verdict == "complete"
    delegating = [s for s in trace.steps if s["state"] == "DELEGATING"]
    assert delegating[0]["info"]["finish"] == "time"
    assert "time" in delegating[0]["info"]["stopped"]
    synth = [s for s in trace.steps if s["state"] == "SYNTHESIZING"][0]["info"]
    assert synth["finish"] == "time" and synth["trimmed"] == "time"
    assert "word59" not in "".join(seen)     # the stream stopped too


def test_a_reply_cut_by_its_token_limit_ends_on_a_sentence(image: Any) -> None:
    image.globals["pLLM"].set_slot("ask_max_tokens", 6)     # synthesis: 12 pieces
    image.commit("short")
    fake = FakeBackend(["Short turn.", "Another one.",
                        "Use clones of a Book prototype. Members borrow books and the "
                        "library keeps the loans in a slot"])
    image.options["backend"] = fake
    assert _ask(image) == "Use clones of a Book prototype."


@pytest.mark.parametrize("text, expected", [
    ("Use clones. Then add", "Use clones."),
    ("All done!", "All done!"),
    ("Is it? Yes (mostly). And then", "Is it? Yes (mostly)."),
    ("Use a slot, e.g. title", "Use a slot, e.g. title…"),
    ("It costs 3.5 dollars and", "It costs 3.5 dollars and…"),
    ("Steps:\n1. Clone a Book", "Steps:\n1. Clone a Book…"),
    ("Do this.\n```smalltalk\nBook clone", "Do this."),
    ("Like so:\n```\nBook clone\n```\nThen send it", "Like so:\n```\nBook clone\n```"),
    ("Say \"hello.\" Then", "Say \"hello.\""),
    ("", ""),
])
def test_complete_sentences(text: str, expected: str) -> None:
    assert C.complete_sentences(text) == expected


# --- batos's world in the prompts -----------------------------------------------------------------

def test_the_prompts_speak_of_prototypes_not_classes(image: Any) -> None:
    fake = FakeBackend(["one.", "two.", "three."])
    image.options["backend"] = fake
    _ask(image)
    for prompt in fake.prompts:
        user = prompt.split("<|im_start|>user\n", 1)[1]
        assert user.startswith(f"Question about batos: {QUESTION}\n\nRemember: {C.WORLD}")
        for word in ("clone", "slot", "parent slot", "#'book*'", "Smalltalk", "no classes",
                     "Use prototypes, not classes."):
            assert word in user
    assert _system(fake.prompts[0]).startswith("You are BRICK")
    assert C.FIRST_TURN_INSTRUCTION in _system(fake.prompts[0])
    assert C.TURN_INSTRUCTION in _system(fake.prompts[1])
    assert C.SYNTHESIS_INSTRUCTION in _system(fake.prompts[2])


# --- prose ---------------------------------------------------------------------------------------

ANSWER = "Make Book a prototype; don't write classes.\n\nClone it for each book."


def test_ask_answers_prose_and_printString_still_quotes(image: Any) -> None:
    from batos.lang.prose import is_prose, result_string
    image.options["backend"] = FakeBackend(["a.", "b.", ANSWER], repeat_last=True)
    answer = _ask(image)
    assert type(answer) is str and is_prose(answer)
    assert result_string(answer) == ANSWER
    copy = "".join(list(answer))       # equal text, another object: a plain String
    assert copy == answer and not is_prose(copy)
    assert result_string("don't") == "'don''t'"
    printed = image.execute(lambda: image.evaluate(
        "(genesis ask: 'What is a prototype?') printString"), note="p")
    assert printed == "'" + ANSWER.replace("'", "''") + "'"
    # storable: an ordinary String in a slot, read back after a reopen
    image.execute(lambda: image.evaluate(
        "genesis setSlot: #advice value: (genesis ask: 'What is a prototype?')"), note="s")
    assert image.globals["genesis"].advice == ANSWER
    image.close()
    with batos.open_image(image.path) as again:
        kept = again.globals["genesis"].advice
        assert type(kept) is str and kept == ANSWER and not is_prose(kept)


def test_the_repl_shows_an_answer_as_text(image: Any) -> None:
    from rich.console import Console
    from batos.repl.session import ReplSession
    image.options["backend"] = FakeBackend(["a.", "b.", ANSWER], repeat_last=True)
    out = io.StringIO()
    session = ReplSession(image, Console(file=out, width=100, color_system=None,
                                         force_terminal=False), interactive=True)
    assert session.handle(f"genesis ask: '{QUESTION}'")
    assert out.getvalue().rstrip("\n").endswith(ANSWER)
    assert "''" not in out.getvalue()
    out.truncate(0)
    out.seek(0)
    assert session.handle("'don''t'")
    assert out.getvalue().strip() == "'don''t'"


_FAKE_MAIN = """
import json, sys
from batos.llm import FakeBackend
from batos.mind.dnu import use_backend
from batos.cli.main import main
answers = json.loads(sys.argv[1])
sys.argv = ["batos"] + sys.argv[2:]
with use_backend(FakeBackend(answers, repeat_last=True)):
    main()
"""


def _cli(*args: str, answers: list[str], env: dict[str, str]) -> Any:
    return subprocess.run([sys.executable, "-c", _FAKE_MAIN, json.dumps(answers), *args],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, BATOS_LLM="off", NO_COLOR="1", **env))


def test_eval_and_send_print_the_answer_as_prose(tmp_path: Path) -> None:
    img = str(tmp_path / "w.fs")
    env = {"BATOS_STREAM": "1", "BATOS_LORAS": str(tmp_path / "no-loras")}
    result = _cli("eval", "-i", img, "--create", f"genesis ask: '{QUESTION}'",
                  answers=["Turn one.", "Turn two.", ANSWER], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "BRICK ▸ turn 1" in result.stderr and "▸ synthesis" in result.stderr
    result = _cli("send", "-i", img, "genesis", "ask:", QUESTION,
                  answers=["Turn one.", "Turn two.", ANSWER], env={"BATOS_STREAM": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ANSWER + "\n" and result.stderr == ""
    result = _cli("eval", "-i", img, f"(genesis ask: '{QUESTION}') size",
                  answers=["Turn one.", "Turn two.", ANSWER], env={"BATOS_STREAM": "0"})
    assert result.stdout == f"{len(ANSWER)}\n"
