"""Candidates decoded together (issue 14.3): one prompt evaluation, sequences that share its
KV cells, one ``llama_decode`` per step -- and each sequence exactly what it is alone.

On the tiny random GGUF model (:mod:`tests.fixtures_llm`), which never ends a generation by
itself, so ``max_tokens`` and stop strings decide where each sequence ends.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from batos.errors import BatosError, Interrupted
from batos.llm.fake import FakeBackend
from batos.llm.llamacpp import LlamaCppBackend
from batos.llm.protocol import generate_many

PROMPT = "You are BRICK. Write one Python method for the counter prototype. "
N = 40


@pytest.fixture
def backend(tiny_model: Path, llm_cache_home: Path) -> LlamaCppBackend:
    return LlamaCppBackend(tiny_model, shared=False, n_ctx=1024, n_threads=1)


def _alone(tiny_model: Path, **kw: Any) -> str:
    """What a fresh backend answers with ``generate``."""
    fresh = LlamaCppBackend(tiny_model, shared=False, n_ctx=1024, n_threads=1)
    return fresh.generate(PROMPT, max_tokens=kw.pop("max_tokens", N), **kw).text


def test_greedy_sequences_decoded_together_are_each_the_lone_greedy_answer(
        backend: LlamaCppBackend, tiny_model: Path) -> None:
    alone = _alone(tiny_model)
    many = backend.generate_many(PROMPT, 3, max_tokens=N)
    assert [c.text for c in many] == [alone] * 3
    assert [c.extra["sequence"] for c in many] == [0, 1, 2]
    assert all(c.completion_tokens == N and c.finish_reason == "length" for c in many)
    # one prompt evaluation, then one decode call per step for all three sequences
    assert many[0].extra["sequences"] == 3 and many[0].extra["decode_calls"] == N - 1
    assert all(c.prompt_tokens == many[0].prompt_tokens for c in many)
    lone = backend.generate(PROMPT, max_tokens=N)
    assert many[0].extra["mean_logprob"] == pytest.approx(lone.extra["mean_logprob"], abs=1e-4)


def test_sampled_sequences_follow_their_own_seed_and_temperature(
        backend: LlamaCppBackend, tiny_model: Path) -> None:
    temps = [0.0, 0.9, 0.9]
    many = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=temps, seed=11)
    for i, c in enumerate(many):
        assert c.text == _alone(tiny_model, temperature=temps[i], seed=11 + i)
    assert many[1].text != many[2].text      # seeds 12 and 13 draw differently


def test_min_p_is_the_same_for_a_sequence_alone_and_together(
        backend: LlamaCppBackend, tiny_model: Path) -> None:
    """``min_p`` 1.0 keeps only the likeliest token: sampled sequences then follow the
    greedy one as a single branch (one cell a step); a middling min-p is applied to each
    sequence exactly as to a lone generation."""
    greedy = _alone(tiny_model)
    narrow = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=[0.0, 0.9, 0.9],
                                   seed=11, min_p=1.0)
    assert [c.text for c in narrow] == [greedy] * 3
    assert narrow[0].extra["decoded_cells"] == narrow[0].extra["decode_calls"] == N - 1
    wide = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=[0.0, 0.9, 0.9],
                                 seed=11)
    assert wide[0].extra["decoded_cells"] > wide[0].extra["decode_calls"]
    middling = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=[0.0, 0.9, 0.9],
                                     seed=11, min_p=0.3)
    for i, c in enumerate(middling):
        assert c.text == _alone(tiny_model, temperature=[0.0, 0.9, 0.9][i], seed=11 + i,
                                min_p=0.3)


def test_three_branches_padded_to_four_decode_the_same_tokens(
        backend: LlamaCppBackend, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step of three branches gets a throwaway fourth entry (cheaper on the repacked
    CPU kernels): nothing a sequence decodes changes, and the spare sequence keeps no
    cell. (On this unrepacked model; the default model's four-column kernel sums in
    another order, see :mod:`batos.llm.parallel`.)"""
    from batos.llm import parallel
    temps = [0.9, 0.9, 0.9]
    padded = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=temps, seed=5)
    assert len({c.text for c in padded}) == 3
    assert padded[0].extra["padded_steps"] > N // 2     # three branches for most steps
    engine = backend.engine
    mem = engine._lc.llama_get_memory(engine.llm.ctx)
    assert engine._lc.llama_memory_seq_pos_max(mem, 3) == -1
    monkeypatch.setattr(parallel, "PAD_TO_FOUR", False)
    plain = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=temps, seed=5)
    assert [c.text for c in plain] == [c.text for c in padded]
    assert plain[0].extra["padded_steps"] == 0


def test_the_prefix_cache_stays_valid_after_candidates(backend: LlamaCppBackend,
                                                       tiny_model: Path) -> None:
    backend.generate_many(PROMPT, 3, max_tokens=N)
    again = backend.generate(PROMPT, max_tokens=N)
    assert again.text == _alone(tiny_model)
    assert again.prompt_tokens_processed == 1          # the whole prompt was reused
    other = PROMPT + "Sum a list. "
    assert backend.generate(other, max_tokens=N).text == \
        LlamaCppBackend(tiny_model, shared=False, n_ctx=1024,
                        n_threads=1).generate(other, max_tokens=N).text


def test_adapters_change_every_candidate_as_they_change_generate(
        backend: LlamaCppBackend, tiny_model: Path, tiny_lora: Path) -> None:
    spec = [(str(tiny_lora), 1.0)]
    with_lora = _alone(tiny_model, adapters=spec)
    assert with_lora != _alone(tiny_model)
    many = backend.generate_many(PROMPT, 2, max_tokens=N, adapters=spec)
    assert [c.text for c in many] == [with_lora] * 2
    assert all(c.adapters == ((str(tiny_lora), 1.0),) for c in many)
    assert backend.generate(PROMPT, max_tokens=N).text == _alone(tiny_model)


def test_each_sequence_stops_at_its_own_stop_string(backend: LlamaCppBackend,
                                                    tiny_model: Path) -> None:
    texts = [_alone(tiny_model, temperature=0.9, seed=3 + i) for i in range(3)]
    stop = texts[1][5:8]                      # in sequence 1's text, early
    assert len({text.find(stop) for text in texts}) > 1    # cut elsewhere, or not at all
    many = backend.generate_many(PROMPT, 3, max_tokens=N, temperature=0.9, seed=3,
                                 stop=[stop])
    for text, c in zip(texts, many):
        cut = text.find(stop)
        assert c.text == (text if cut < 0 else text[:cut])
        assert c.finish_reason == ("length" if cut < 0 else "stop")
    assert many[1].completion_tokens < N


def test_max_tokens_and_streaming_of_sequence_zero(backend: LlamaCppBackend) -> None:
    pieces: list[str] = []
    many = backend.generate_many(PROMPT, 3, max_tokens=5, temperature=[0.0, 0.7, 0.7],
                                 on_token=pieces.append)
    assert "".join(pieces) == many[0].text
    assert all(c.completion_tokens == 5 for c in many)
    none = backend.generate_many(PROMPT, 2, max_tokens=0)
    assert [(c.text, c.finish_reason) for c in none] == [("", "length")] * 2


def test_cancel_stops_every_sequence_and_leaves_the_backend_usable(
        backend: LlamaCppBackend, tiny_model: Path) -> None:
    cancel, seen = threading.Event(), []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    with pytest.raises(Interrupted):
        backend.generate_many(PROMPT, 3, max_tokens=400, on_token=on_token, cancel=cancel)
    assert len(seen) == 3
    assert [c.text for c in backend.generate_many(PROMPT, 2, max_tokens=N)] == \
        [_alone(tiny_model)] * 2


def test_the_shared_kv_buffer_ends_candidates_by_length(tiny_model: Path,
                                                        llm_cache_home: Path) -> None:
    """Three sequences that diverge hold their own cells: together they run out where one
    alone would still go on, and each ends as "length"."""
    small = LlamaCppBackend(tiny_model, shared=False, n_ctx=128, n_threads=1)
    alone = small.generate(PROMPT, max_tokens=400)
    many = small.generate_many(PROMPT, 3, max_tokens=400, temperature=[1.5, 1.5, 1.5], seed=3)
    n_ctx, prompt = many[0].extra["n_ctx"], many[0].prompt_tokens   # (llama.cpp pads n_ctx)
    assert alone.completion_tokens == n_ctx - prompt and alone.finish_reason == "length"
    assert all(c.finish_reason == "length" for c in many)
    assert all(c.completion_tokens < alone.completion_tokens for c in many)
    cells = many[0].extra["decoded_cells"]
    assert n_ctx - 3 <= prompt + cells <= n_ctx + 3
    assert small.generate(PROMPT, max_tokens=4).completion_tokens == 4


def test_sequences_that_agree_share_their_cells(tiny_model: Path, llm_cache_home: Path) -> None:
    """Greedy sequences never diverge: each step decodes one entry for all three, so they
    go as far as one alone, and the context then holds the prompt plus sequence 0."""
    small = LlamaCppBackend(tiny_model, shared=False, n_ctx=128, n_threads=1)
    alone = small.generate(PROMPT, max_tokens=400)
    many = small.generate_many(PROMPT, 3, max_tokens=400)
    assert [c.text for c in many] == [alone.text] * 3
    assert many[0].extra["decoded_cells"] == alone.completion_tokens - 1
    assert small.generate(PROMPT, max_tokens=4).completion_tokens == 4


def test_one_candidate_is_a_plain_generation_and_bad_counts_are_refused(
        backend: LlamaCppBackend, tiny_model: Path) -> None:
    (one,) = backend.generate_many(PROMPT, 1, max_tokens=N)
    assert one.text == _alone(tiny_model) and one.extra["sequence"] == 0
    with pytest.raises(BatosError, match="at least one"):
        backend.generate_many(PROMPT, 0)
    with pytest.raises(BatosError, match="temperatures"):
        backend.generate_many(PROMPT, 3, temperature=[0.1, 0.2])


# --- the fake and the fallback ---------------------------------------------------------------

def test_the_fake_gives_the_candidates_of_one_scripted_answer() -> None:
    fake = FakeBackend([("wrong code", "right code"), "single"],
                       mean_logprobs=[-0.5, -0.2])
    two = fake.generate_many("p", 3)
    assert [c.text for c in two] == ["wrong code", "right code"]
    assert [c.extra["mean_logprob"] for c in two] == [-0.5, -0.2]
    assert [c.extra["sequence"] for c in two] == [0, 1]
    one = fake.generate_many("p", 3)
    assert [c.text for c in one] == ["single"] and fake.remaining == 0
    assert FakeBackend([("a", "b")]).generate("p").text == "a"
    assert FakeBackend([("a", "b", "c")]).generate_many("p", 2)[1].extra["mean_logprob"] \
        == pytest.approx(-0.2)


def test_the_fake_answers_examples_from_its_proposals_only() -> None:
    fake = FakeBackend(["code 1", "code 2"], proposals=["3 -> 6"])
    assert fake.generate("examples?", purpose="examples").text == "3 -> 6"
    assert fake.generate("write it").text == "code 1"
    assert fake.generate_many("examples?", 3, purpose="examples")[0].text == ""
    assert fake.generate_many("write it", 3)[0].text == "code 2"
    assert [c["purpose"] for c in fake.calls] == ["examples", "code", "examples", "code"]
    assert FakeBackend(["x"]).generate("e", purpose="examples").text == ""
    computed = FakeBackend(["x"], proposals=lambda prompt: prompt.upper())
    assert computed.generate("e", purpose="examples").text == "E"


def test_a_backend_without_generate_many_generates_one_after_another() -> None:
    class Wrapper:
        def __init__(self) -> None:
            self.inner = FakeBackend(["a", "b", "c"])

        def generate(self, prompt: str, **kw: Any) -> Any:
            return self.inner.generate(prompt, **kw)
    w = Wrapper()
    many = generate_many(w, "p", 3, temperature=[0.0, 0.5, 0.7], seed=4)
    assert [c.text for c in many] == ["a", "b", "c"]
    assert [c["seed"] for c in w.inner.calls] == [4, 5, 6]
    assert [c["temperature"] for c in w.inner.calls] == [0.0, 0.5, 0.7]


# --- HTTP: concurrent requests to llama-server's parallel slots --------------------------------

def test_http_candidates_go_concurrently_to_a_server_with_slots(
        tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from batos.llm.http import HTTPBackend
    from tests.fixtures_llama_server import TinyLlamaServer
    server = TinyLlamaServer(tiny_model, n_ctx=1024)
    try:
        be = HTTPBackend(server.url, timeout=30)
        alone = be.generate(PROMPT, max_tokens=N).text
        assert be.slots() == 1                       # the test server says one slot
        monkeypatch.setattr(HTTPBackend, "slots", lambda self: 3)
        many = be.generate_many(PROMPT, 3, max_tokens=N, seed=7)
        assert [c.text for c in many] == [alone] * 3
        assert all("note" not in c.extra and c.extra["slots"] == 3 for c in many)
        assert sorted(r["seed"] for r in server.requests[-3:]) == [7, 8, 9]
        assert all(r["cache_prompt"] for r in server.requests[-3:])   # same adapter set
        be.generate_many(PROMPT, 3, max_tokens=2, min_p=0.25)
        assert [r["min_p"] for r in server.requests[-3:]] == [0.25] * 3
    finally:
        server.close()
