"""One set of behaviour tests, run against every generation backend (the ZODB habit).

The backends of :mod:`batos.llm.backend`: the scripted fake, the in-process llama.cpp
backend on the tiny random GGUF model, and the HTTP backend against a real local server
(:class:`tests.fixtures_llama_server.TinyLlamaServer`: llama-server's native protocol over
the same tiny model). Each test states the contract once -- cancel, Ctrl-C, stop strings,
adapters, prefix reuse, errors -- and, where a backend legitimately differs, asserts its
documented behaviour (the fake records adapters but its answers are scripted; the fake
caches nothing; only the in-process backend keeps prefix states on disk).
"""
from __future__ import annotations

import hashlib
import signal
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from batos.errors import BatosError, Interrupted, ModelError
from batos.llm.backend import Backend, Completion
from batos.llm.fake import FakeBackend
from batos.llm.http import HTTPBackend
from batos.llm.llamacpp import LlamaCppBackend
from tests.fixtures_llama_server import TinyLlamaServer

N_CTX = 1024
PROMPT = "You are BRICK. Write one Python method for the counter prototype. "
# ends with a newline: the continuations then tokenize the boundary alike (a prefix's
# on-disk state is keyed by its exact tokens)
PREFIX = ("You are BRICK. Write one Python method. Keep state in slots; "
          "set self._p_changed = True after mutation.\n") * 2
REF_TOKENS = 40
_WORDS = "alpha beta gamma delta self return items count total value len sum".split()


def _fake_answer(prompt: str) -> str:
    """The fake's "model": a fixed text per prompt, 128 words."""
    digest = hashlib.sha256(prompt.encode()).digest() * 4
    return " ".join(_WORDS[b % len(_WORDS)] for b in digest)


@dataclass
class Harness:
    """One backend under test and what its documentation says it does."""

    kind: str                                   # Completion.backend and Backend.name
    make: Callable[[], Backend]                 # a new backend with its own cache state
    adapter: str                                # a LoRA this backend can be given
    broken: Callable[[], tuple[Backend, str]]   # (backend whose model is unreachable, its name)
    applies_adapters: bool                      # False: recorded only (the fake)
    reports_cache: bool                         # prompt_tokens_cached is measured
    keeps_states_per_adapter_set: bool          # switching back reuses the old set's prefix
    prefix_on_disk: bool                        # ``prefix=`` survives into a new instance
    n_ctx: int | None                           # None: no context limit (the fake)
    server: TinyLlamaServer | None = None

    def reference(self, prompt: str = PROMPT, **kw: Any) -> Completion:
        """What a fresh backend answers (greedy, so the same on every call)."""
        return self.make().generate(prompt, max_tokens=kw.pop("max_tokens", REF_TOKENS), **kw)


@pytest.fixture(scope="module")
def llama_server(tiny_model: Path, tiny_lora: Path) -> Iterator[TinyLlamaServer]:
    server = TinyLlamaServer(tiny_model, [tiny_lora], n_ctx=N_CTX)
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["fake", "llama.cpp", "http"])
def harness(request: pytest.FixtureRequest, tiny_model: Path, tiny_lora: Path,
            llm_cache_home: Path) -> Iterator[Harness]:
    kind = request.param
    if kind == "fake":
        def broken_fake() -> tuple[Backend, str]:
            return FakeBackend([]), "no answer for call 1"
        yield Harness(kind, lambda: FakeBackend(_fake_answer), "/loras/brick.gguf",
                      broken_fake, applies_adapters=False, reports_cache=False,
                      keeps_states_per_adapter_set=False, prefix_on_disk=False, n_ctx=None)
    elif kind == "llama.cpp":
        def make_llama() -> Backend:
            return LlamaCppBackend(tiny_model, shared=False, n_ctx=N_CTX, n_threads=1)

        def broken_llama() -> tuple[Backend, str]:
            missing = llm_cache_home / "missing.gguf"
            return LlamaCppBackend(missing, shared=False, n_threads=1), str(missing)
        yield Harness(kind, make_llama, str(tiny_lora), broken_llama, applies_adapters=True,
                      reports_cache=True, keeps_states_per_adapter_set=True,
                      prefix_on_disk=True, n_ctx=N_CTX)
    else:
        server: TinyLlamaServer = request.getfixturevalue("llama_server")

        def broken_http() -> tuple[Backend, str]:
            url = f"http://127.0.0.1:{_free_port()}"
            return HTTPBackend(url, timeout=10), url
        yield Harness(kind, lambda: HTTPBackend(server.url, timeout=30), str(tiny_lora),
                      broken_http, applies_adapters=True, reports_cache=True,
                      keeps_states_per_adapter_set=False, prefix_on_disk=False,
                      n_ctx=N_CTX, server=server)
        server.token_delay = 0.0


# --- the basics: streaming, max_tokens, determinism, provenance, chat ------------------------------

def test_streams_the_text_it_returns(harness: Harness) -> None:
    be = harness.make()
    pieces: list[str] = []
    done = be.generate(PROMPT, max_tokens=REF_TOKENS, on_token=pieces.append)
    assert isinstance(be, Backend) and be.name == harness.kind == done.backend
    assert len(pieces) > 5 and "".join(pieces) == done.text and done.text.strip()
    assert done.completion_tokens == REF_TOKENS and done.finish_reason == "length"
    assert done.prompt_tokens > 0 and done.adapters == ()
    assert (done.model, done.model_sha256) == be.model_identity()
    assert done.text == harness.reference().text            # greedy: the same every time
    assert be.generate(PROMPT, max_tokens=3).completion_tokens == 3


def test_chat_is_rendered_with_the_model_template(harness: Harness) -> None:
    text = harness.make().format_chat([{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hi"}])
    assert text == ("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
                    "<|im_start|>assistant\n")


# --- cancel and Ctrl-C -------------------------------------------------------------------------------

def test_cancel_stops_the_stream_between_tokens(harness: Harness) -> None:
    ref = harness.reference(max_tokens=400).text
    if harness.server is not None:
        harness.server.token_delay = 0.003      # a model slow enough to outlive the client
    be, cancel, seen = harness.make(), threading.Event(), []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    with pytest.raises(Interrupted) as info:
        be.generate(PROMPT, max_tokens=400, on_token=on_token, cancel=cancel)
    assert len(seen) == 3 and ref.startswith("".join(seen))
    if harness.server is not None:
        # generate closed the stream, which stopped the server -- even while the caller
        # still holds the exception (and so the traceback's frames, a REPL does)
        with harness.server.lock:               # (once it has finished with the request)
            assert harness.server.generated[-1] < 400 and harness.server.disconnects >= 1
    del info
    # the backend is still good, and nothing of the cancelled stream leaks into the next
    assert be.generate(PROMPT, max_tokens=REF_TOKENS).text == harness.reference().text


def test_a_cancel_set_before_the_call_streams_nothing(harness: Harness) -> None:
    cancel, seen = threading.Event(), []
    cancel.set()
    with pytest.raises(Interrupted):
        harness.make().generate(PROMPT, on_token=seen.append, cancel=cancel)
    assert seen == []


def test_ctrl_c_in_the_stream_propagates_and_leaves_the_backend_usable(
        harness: Harness) -> None:
    """SIGINT while tokens stream (the REPL's Ctrl-C) raises KeyboardInterrupt out of
    generate -- not swallowed, not turned into another error -- and the next
    generation is exactly what a fresh backend answers."""
    ref = harness.reference()
    be, seen = harness.make(), []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            signal.raise_signal(signal.SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            be.generate(PROMPT, max_tokens=REF_TOKENS, on_token=on_token)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(seen) == 3 and ref.text.startswith("".join(seen))
    again = be.generate(PROMPT, max_tokens=REF_TOKENS)
    assert again.text == ref.text and again.completion_tokens == REF_TOKENS


# --- stop strings ------------------------------------------------------------------------------------

def test_a_stop_string_ends_the_text_and_is_not_part_of_it(harness: Harness) -> None:
    ref = harness.reference().text
    stop = ref[12:15]
    cut = ref.find(stop)
    pieces: list[str] = []
    done = harness.make().generate(PROMPT, max_tokens=REF_TOKENS, stop=[stop],
                                   on_token=pieces.append)
    assert done.text == ref[:cut] and "".join(pieces) == done.text
    assert done.finish_reason == "stop" and done.completion_tokens < REF_TOKENS


def test_the_earliest_of_several_stop_strings_wins(harness: Harness) -> None:
    ref = harness.reference().text
    stops = [ref[25:28], ref[8:10], "never-in-there", ""]
    cut = min(i for i in (ref.find(s) for s in stops if s) if i >= 0)
    done = harness.make().generate(PROMPT, max_tokens=REF_TOKENS, stop=stops)
    assert done.text == ref[:cut] and done.finish_reason == "stop"


def test_a_stop_string_at_the_start_gives_empty_text(harness: Harness) -> None:
    ref = harness.reference().text
    pieces: list[str] = []
    done = harness.make().generate(PROMPT, max_tokens=REF_TOKENS, stop=[ref[:2]],
                                   on_token=pieces.append)
    assert done.text == "" and "".join(pieces) == "" and done.finish_reason == "stop"


def test_stop_strings_that_never_appear_change_nothing(harness: Harness) -> None:
    ref = harness.reference()
    done = harness.make().generate(PROMPT, max_tokens=REF_TOKENS, stop=["never-in-there"])
    assert done.text == ref.text and done.finish_reason == "length"


# --- adapters ----------------------------------------------------------------------------------------

def test_an_adapter_applies_to_its_generation_only(harness: Harness) -> None:
    ref = harness.reference()
    be = harness.make()
    spec = [(harness.adapter, 1.0)]
    with_lora = be.generate(PROMPT, max_tokens=REF_TOKENS, adapters=spec)
    assert with_lora.adapters == ((harness.adapter, 1.0),)
    if harness.applies_adapters:
        assert with_lora.text != ref.text
    else:  # the fake answers from its script and records the adapters it was given
        assert with_lora.text == ref.text
        assert be.calls[-1]["adapters"] == ((harness.adapter, 1.0),)  # type: ignore[attr-defined]
    assert with_lora.text == harness.reference(adapters=spec).text   # same set, same text
    after = be.generate(PROMPT, max_tokens=REF_TOKENS)
    assert after.text == ref.text and after.adapters == ()


def test_a_scale_of_zero_is_no_adapter(harness: Harness) -> None:
    done = harness.make().generate(PROMPT, max_tokens=REF_TOKENS,
                                   adapters=[(harness.adapter, 0.0)])
    assert done.adapters == () and done.text == harness.reference().text


def test_an_unknown_adapter_is_refused_clearly_or_recorded(harness: Harness,
                                                           tmp_path: Path) -> None:
    ghost = str(tmp_path / "ghost-lora.gguf")
    be, seen = harness.make(), []
    if harness.kind == "fake":
        done = be.generate(PROMPT, max_tokens=REF_TOKENS, adapters=[(ghost, 1.0)])
        assert done.adapters == ((ghost, 1.0),) and done.text == harness.reference().text
    else:
        with pytest.raises(ModelError) as info:
            be.generate(PROMPT, max_tokens=REF_TOKENS, adapters=[(ghost, 1.0)],
                        on_token=seen.append)
        assert ghost in str(info.value) and seen == []
        if harness.kind == "http":          # says how to give the server the adapter
            assert f"--lora {ghost}" in str(info.value)
    assert be.generate(PROMPT, max_tokens=REF_TOKENS).text == harness.reference().text


@pytest.mark.parametrize("spec", [["just-a-path"], [("a.gguf", 1.0, "extra")], [None]])
def test_a_malformed_adapter_spec_is_a_batos_error(harness: Harness, spec: Any) -> None:
    with pytest.raises(BatosError, match=r"must be \(path, scale\)"):
        harness.make().generate(PROMPT, adapters=spec)


# --- prefix reuse --------------------------------------------------------------------------------------

def test_the_second_call_with_the_same_prefix_evaluates_fewer_tokens(harness: Harness) -> None:
    be = harness.make()
    first = be.generate(PREFIX + "count up", max_tokens=8)
    second = be.generate(PREFIX + "sum a list", max_tokens=8)
    fresh = harness.make().generate(PREFIX + "sum a list", max_tokens=8)
    assert first.prompt_tokens_cached == 0
    assert second.prompt_tokens == fresh.prompt_tokens and second.text == fresh.text
    if harness.reports_cache:
        assert second.prompt_tokens_cached > 0
        assert second.prompt_tokens_processed < first.prompt_tokens_processed / 2
        same = be.generate(PREFIX + "sum a list", max_tokens=8)     # the identical prompt
        assert same.prompt_tokens_processed == 1 and same.text == second.text
    else:  # the fake caches nothing: every prompt token counts as processed
        assert second.prompt_tokens_cached == 0
        assert second.prompt_tokens_processed == second.prompt_tokens


def test_a_prefix_is_never_reused_across_adapter_sets(harness: Harness) -> None:
    """KV computed under one adapter set is never served to another (llama.cpp issue
    26207), and every answer equals a fresh backend's."""
    be, spec = harness.make(), [(harness.adapter, 1.0)]
    be.generate(PREFIX + "count up", max_tokens=8)
    other = be.generate(PREFIX + "sum a list", max_tokens=8, adapters=spec)
    assert other.prompt_tokens_cached == 0
    assert other.text == harness.make().generate(PREFIX + "sum a list", max_tokens=8,
                                                 adapters=spec).text
    back = be.generate(PREFIX + "reverse it", max_tokens=8)
    assert back.text == harness.make().generate(PREFIX + "reverse it", max_tokens=8).text
    if harness.keeps_states_per_adapter_set:   # the plain set's prefix state was kept
        assert back.prompt_tokens_cached > 0
    else:  # HTTP: the server's cache is per slot, so a changed set starts over
        assert back.prompt_tokens_cached == 0


def test_a_fixed_prefix_outlives_the_backend_only_on_disk(harness: Harness) -> None:
    harness.make().generate(PREFIX + "count up", max_tokens=4, prefix=PREFIX)
    later = harness.make().generate(PREFIX + "sum a list", max_tokens=8, prefix=PREFIX)
    if harness.prefix_on_disk:     # llama.cpp: the prefix's KV state was saved to disk
        assert later.prompt_tokens_cached > 0
    else:                          # HTTP and the fake accept ``prefix`` and keep nothing
        assert later.prompt_tokens_cached == 0
    assert later.text == harness.make().generate(PREFIX + "sum a list", max_tokens=8).text


# --- errors ---------------------------------------------------------------------------------------------

def test_a_missing_model_or_unreachable_server_is_a_clear_error(harness: Harness) -> None:
    be, name = harness.broken()
    seen: list[str] = []
    if harness.kind == "fake":   # the fake's model is its script: it says when it runs out
        with pytest.raises(BatosError, match=name):
            be.generate(PROMPT, on_token=seen.append)
        scripted = ModelError("model file not found: /m.gguf")
        with pytest.raises(ModelError) as info:
            FakeBackend([scripted]).generate(PROMPT, on_token=seen.append)
        assert info.value is scripted and seen == []     # raised as scripted, not wrapped
        return
    with pytest.raises(ModelError) as info:
        be.generate(PROMPT, on_token=seen.append)
    message = str(info.value)
    assert name in message and "hint:" in message and seen == []
    with pytest.raises(ModelError, match="hint:"):       # and again: nothing half-loaded
        be.generate(PROMPT)


def test_a_prompt_beyond_the_context_is_refused_and_the_backend_goes_on(
        harness: Harness) -> None:
    long_prompt = "count the items in the list; " * 200
    be = harness.make()
    if harness.n_ctx is None:    # the fake has no context: it answers
        assert be.generate(long_prompt, max_tokens=4).completion_tokens == 4
    else:
        with pytest.raises(BatosError, match="context"):
            be.generate(long_prompt, max_tokens=4)
    assert be.generate(PROMPT, max_tokens=REF_TOKENS).text == harness.reference().text


# --- candidates: generate_many ------------------------------------------------------------------------

def test_generate_many_gives_candidates_that_each_stand_alone(harness: Harness) -> None:
    """Greedy candidates are each the lone greedy answer; sequence 0 streams; every
    candidate says its index and a mean log-probability; the backend goes on after."""
    ref = harness.reference()
    be, pieces = harness.make(), []
    many = be.generate_many(PROMPT, 3, max_tokens=REF_TOKENS, on_token=pieces.append)
    assert 1 <= len(many) <= 3
    assert [c.extra["sequence"] for c in many] == list(range(len(many)))
    assert "".join(pieces) == many[0].text
    for c in many:
        assert c.text == ref.text and c.backend == harness.kind
        assert isinstance(c.extra["mean_logprob"], float) and c.extra["mean_logprob"] <= 0.0
    if harness.kind == "fake":      # one scripted answer per call: one candidate here
        assert len(many) == 1 and be.calls[-1]["n"] == 3  # type: ignore[attr-defined]
    else:
        assert len(many) == 3 and all(c.completion_tokens == REF_TOKENS for c in many)
    if harness.kind == "http":      # the test server has one slot: it says so
        assert "one slot" in many[1].extra["note"]
    stop = ref.text[12:15]
    cut = [c.text for c in be.generate_many(PROMPT, 2, max_tokens=REF_TOKENS, stop=[stop])]
    assert all(t == ref.text[:ref.text.find(stop)] for t in cut)
    assert be.generate(PROMPT, max_tokens=REF_TOKENS).text == ref.text
