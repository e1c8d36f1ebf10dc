"""The in-process llama.cpp backend, for real, on the tiny random GGUF model."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pytest

from batos.errors import BatosError, Interrupted, ModelError
from batos.llm.llamacpp import Engine, LlamaCppBackend, get_engine
from batos.llm.models import sha256_file
from tests.fixtures_llm import *  # noqa: F401,F403
from tests.fixtures_llm import TINY, write_tiny_lora

PREFIX = ("You are BRICK. Write one Python method. Keep state in slots; "
          "set self._p_changed = True after mutation. ") * 3


@pytest.fixture
def backend(tiny_model: Path, llm_cache_home: Path) -> LlamaCppBackend:
    """A backend with its own private context (no state leaks between tests)."""
    return LlamaCppBackend(tiny_model, shared=False, n_ctx=1024)


def fresh(tiny_model: Path) -> LlamaCppBackend:
    return LlamaCppBackend(tiny_model, shared=False, n_ctx=1024)


# --- loading, generating, streaming ----------------------------------------------------------

def test_lazy_load_and_generate(backend: LlamaCppBackend, tiny_model: Path) -> None:
    assert not backend.loaded
    done = backend.generate("def the", max_tokens=12)
    assert backend.loaded
    assert done.completion_tokens == 12 and done.finish_reason == "length"
    assert done.text and done.text.isprintable()
    assert done.prompt_tokens == len(backend.engine.tokenize("def the"))
    assert done.prompt_tokens_cached == 0
    assert done.model_sha256 == sha256_file(tiny_model)
    assert done.backend == "llama.cpp" and done.adapters == ()
    assert 0 < done.prompt_seconds <= done.seconds


def test_greedy_is_deterministic_and_streams(backend: LlamaCppBackend) -> None:
    pieces: list[str] = []
    a = backend.generate(PREFIX + "go", max_tokens=20, on_token=pieces.append)
    b = fresh(backend.model_path).generate(PREFIX + "go", max_tokens=20)
    assert a.text == b.text
    assert len(pieces) > 5 and "".join(pieces) == a.text


def test_max_tokens(backend: LlamaCppBackend) -> None:
    for n in (1, 7):
        assert backend.generate("abc", max_tokens=n).completion_tokens == n


def test_stop_strings_are_excluded(backend: LlamaCppBackend) -> None:
    full = backend.generate(PREFIX, max_tokens=40).text
    stop = full[10:12]
    cut = full.find(stop)
    pieces: list[str] = []
    done = backend.generate(PREFIX, max_tokens=40, stop=[stop, "never-there"],
                            on_token=pieces.append)
    assert done.text == full[:cut]
    assert "".join(pieces) == full[:cut]
    assert done.finish_reason == "stop"


def test_seeded_sampling(backend: LlamaCppBackend) -> None:
    a = backend.generate("abc", max_tokens=24, temperature=1.0, seed=11)
    b = backend.generate("abc", max_tokens=24, temperature=1.0, seed=11)
    c = backend.generate("abc", max_tokens=24, temperature=1.0, seed=12)
    assert a.text == b.text
    assert a.text != c.text


def test_cancel_mid_stream(backend: LlamaCppBackend) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    with pytest.raises(Interrupted):
        backend.generate(PREFIX, max_tokens=50, on_token=on_token, cancel=cancel)
    assert len(seen) == 3
    # the context stays usable and correct after the interruption
    again = backend.generate(PREFIX, max_tokens=10)
    assert again.text == fresh(backend.model_path).generate(PREFIX, max_tokens=10).text
    with pytest.raises(Interrupted):  # already set: nothing runs
        backend.generate("x", cancel=cancel)


def test_callback_errors_pass_through_untouched(backend: LlamaCppBackend) -> None:
    class Full(Exception):
        pass

    def on_token(piece: str) -> None:
        raise Full(piece)
    with pytest.raises(Full):
        backend.generate(PREFIX, max_tokens=5, on_token=on_token)
    again = backend.generate(PREFIX + "x", max_tokens=3)
    assert again.prompt_tokens_cached > 0  # the context was kept


def test_grammar(backend: LlamaCppBackend) -> None:
    done = backend.generate("abc", max_tokens=16, grammar='root ::= ("ab" | "cd")+')
    assert re.fullmatch(r"(ab|cd)+", done.text)
    with pytest.raises(BatosError, match="grammar"):
        backend.generate("abc", max_tokens=4, grammar="this is not gbnf")


def test_chat_template_from_gguf(backend: LlamaCppBackend) -> None:
    text = backend.format_chat([{"role": "system", "content": "S"},
                                {"role": "user", "content": "U"}])
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n" \
                   "<|im_start|>assistant\n"
    assert not backend.loaded  # formatting reads the GGUF header only


def test_prompt_too_long(backend: LlamaCppBackend) -> None:
    with pytest.raises(BatosError, match="context"):
        backend.generate("abcdefgh " * 400, max_tokens=4)


# --- LoRA: hot apply, exact restore, A after B, warm LRU -----------------------------------------

def test_adapter_changes_logits_and_removal_restores_them_exactly(
        backend: LlamaCppBackend, tiny_lora: Path) -> None:
    base = backend.logits(PREFIX, use_cache=False)
    with_a = backend.logits(PREFIX, [(str(tiny_lora), 1.0)], use_cache=False)
    assert np.abs(with_a - base).max() > 1e-2
    again = backend.logits(PREFIX, use_cache=False)
    assert np.array_equal(again, base)
    # through the keyed cache too (restored prefix state + last token re-evaluated)
    cached = backend.logits(PREFIX)
    np.testing.assert_allclose(cached, base, rtol=1e-4, atol=1e-4)


def test_adapter_scale(backend: LlamaCppBackend, tiny_lora: Path) -> None:
    base = backend.logits(PREFIX, use_cache=False)
    half = backend.logits(PREFIX, [(str(tiny_lora), 0.5)], use_cache=False)
    full = backend.logits(PREFIX, [(str(tiny_lora), 1.0)], use_cache=False)
    zero = backend.logits(PREFIX, [(str(tiny_lora), 0.0)], use_cache=False)
    assert not np.allclose(half, full) and not np.allclose(half, base)
    assert np.array_equal(zero, base)


def test_adapter_a_after_b_equals_fresh_context_with_a(
        tiny_model: Path, tiny_lora: Path, tiny_lora_b: Path) -> None:
    a, b = [(str(tiny_lora), 1.0)], [(str(tiny_lora_b), 1.0)]
    used = fresh(tiny_model)
    text_b = used.generate(PREFIX, max_tokens=20, adapters=b).text
    after_b = used.generate(PREFIX, max_tokens=20, adapters=a)
    new = fresh(tiny_model).generate(PREFIX, max_tokens=20, adapters=a)
    assert after_b.text == new.text != text_b
    assert after_b.prompt_tokens_cached == 0  # B's KV was never reused for A
    logits_after = used.logits(PREFIX + "x", b, use_cache=False)
    logits_after = used.logits(PREFIX + "x", a, use_cache=False)
    assert np.array_equal(logits_after, fresh(tiny_model).logits(PREFIX + "x", a))


def test_two_adapters_at_once(backend: LlamaCppBackend, tiny_lora: Path,
                              tiny_lora_b: Path) -> None:
    a, b = (str(tiny_lora), 1.0), (str(tiny_lora_b), 1.0)
    both = backend.logits(PREFIX, [a, b], use_cache=False)
    only_a = backend.logits(PREFIX, [a], use_cache=False)
    assert not np.allclose(both, only_a)
    done = backend.generate(PREFIX, max_tokens=5, adapters=[a, b])
    assert done.adapters == (a, b)
    with pytest.raises(BatosError, match="twice"):
        backend.generate(PREFIX, adapters=[a, a])


def test_warm_lru_evicts_and_reloads(tiny_model: Path, tiny_lora: Path,
                                     tiny_lora_b: Path, tmp_path: Path) -> None:
    third = write_tiny_lora(tmp_path / "c.gguf", seed=5)
    be = LlamaCppBackend(tiny_model, shared=False, n_ctx=1024, warm_size=2)
    e = be.engine
    ref = be.logits(PREFIX, [(str(tiny_lora), 1.0)], use_cache=False)
    be.logits(PREFIX, [(str(tiny_lora_b), 1.0)], use_cache=False)
    be.logits(PREFIX, [(str(third), 1.0)], use_cache=False)
    assert e.warm_adapters() == [str(tiny_lora_b.resolve()), str(third.resolve())]
    assert e.stats["adapter_loads"] == 3 and e.stats["adapter_evictions"] == 1
    again = be.logits(PREFIX, [(str(tiny_lora), 1.0)], use_cache=False)  # reloaded
    assert e.stats["adapter_loads"] == 4
    assert np.array_equal(again, ref)
    # a request needing more adapters than the bound still works
    be.generate(PREFIX, max_tokens=2, adapters=[(str(tiny_lora), 1.0), (str(tiny_lora_b), 1.0),
                                                (str(third), 1.0)])


def test_env_bounds_warm_tier(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LORA_WARM", "7")
    assert Engine(str(tiny_model)).warm_size == 7
    monkeypatch.setenv("BATOS_LORA_WARM", "lots")
    with pytest.raises(BatosError, match="BATOS_LORA_WARM"):
        Engine(str(tiny_model))


def test_bad_adapters(backend: LlamaCppBackend, tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read|not found"):
        backend.generate("x", adapters=[(str(tmp_path / "nope.gguf"), 1.0)])
    with pytest.raises(ModelError, match="not a LoRA adapter"):
        backend.generate("x", adapters=[(str(tiny_model), 1.0)])
    wrong = write_tiny_lora(tmp_path / "qwen.gguf", arch="qwen2")
    with pytest.raises(ModelError, match="qwen2"):
        backend.generate("x", adapters=[(str(wrong), 1.0)])
    assert backend.generate("x", max_tokens=2).completion_tokens == 2  # still fine


# --- the keyed prefix cache ---------------------------------------------------------------------

def test_prefix_cache_reuses_the_shared_prefix(backend: LlamaCppBackend) -> None:
    first = backend.generate(PREFIX + "count up", max_tokens=8)
    second = backend.generate(PREFIX + "sum a list", max_tokens=8)
    n_prefix = len(backend.engine.tokenize(PREFIX))
    assert first.prompt_tokens_cached == 0
    assert second.prompt_tokens_cached >= n_prefix - 1
    assert second.prompt_tokens_processed < first.prompt_tokens_processed / 2
    assert second.text == fresh(backend.model_path).generate(PREFIX + "sum a list",
                                                             max_tokens=8).text
    same = backend.generate(PREFIX + "sum a list", max_tokens=8)  # identical prompt
    assert same.prompt_tokens_processed == 1 and same.text == second.text


def test_prefix_cache_is_not_shared_across_adapter_sets(
        tiny_model: Path, tiny_lora: Path, tiny_lora_b: Path) -> None:
    a, b = [(str(tiny_lora), 1.0)], [(str(tiny_lora_b), 1.0)]
    be = fresh(tiny_model)
    be.generate(PREFIX + "one", max_tokens=4, adapters=a)
    with_b = be.generate(PREFIX + "two", max_tokens=4, adapters=b)
    assert with_b.prompt_tokens_cached == 0
    scaled = be.generate(PREFIX + "two", max_tokens=4, adapters=[(str(tiny_lora_b), 0.5)])
    assert scaled.prompt_tokens_cached == 0  # a different scale is a different set
    # back to A: its saved prefix state is restored, and the result is exact
    back = be.generate(PREFIX + "three", max_tokens=8, adapters=a)
    assert back.prompt_tokens_cached >= len(be.engine.tokenize(PREFIX)) - 1
    assert back.text == fresh(tiny_model).generate(PREFIX + "three", max_tokens=8,
                                                   adapters=a).text


def test_without_saved_states_a_switch_starts_over(tiny_model: Path, tiny_lora: Path) -> None:
    be = LlamaCppBackend(tiny_model, shared=False, n_ctx=1024, saved_states=0)
    be.generate(PREFIX + "one", max_tokens=4)
    be.generate(PREFIX + "two", max_tokens=4, adapters=[(str(tiny_lora), 1.0)])
    back = be.generate(PREFIX + "three", max_tokens=4)
    assert back.prompt_tokens_cached == 0
    assert be.engine.cache_info()["saved"] == {}


def test_changed_adapter_file_is_a_new_key(tiny_model: Path, tmp_path: Path) -> None:
    path = write_tiny_lora(tmp_path / "p.gguf", seed=1)
    be = fresh(tiny_model)
    be.generate(PREFIX, max_tokens=2, adapters=[(str(path), 1.0)])
    key1 = be.engine.cache_info()["context_key"]
    before = be.logits(PREFIX, [(str(path), 1.0)], use_cache=False)
    write_tiny_lora(path, seed=2, rank=8)  # rewritten in place: reloaded, new cache key
    done = be.generate(PREFIX, max_tokens=2, adapters=[(str(path), 1.0)])
    assert be.engine.cache_info()["context_key"] != key1
    assert done.prompt_tokens_cached == 0 and be.engine.stats["adapter_loads"] == 2
    after = be.logits(PREFIX, [(str(path), 1.0)], use_cache=False)
    assert not np.allclose(before, after)


# --- model errors and sharing --------------------------------------------------------------------

def test_missing_and_bad_model_files(tmp_path: Path, tiny_lora: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        LlamaCppBackend(tmp_path / "missing.gguf", shared=False).generate("x")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all" * 10)
    with pytest.raises(ModelError, match="not a GGUF"):
        LlamaCppBackend(junk, shared=False).generate("x")
    with pytest.raises(ModelError, match="adapter, not a model"):
        LlamaCppBackend(tiny_lora, shared=False).generate("x")


def test_truncated_model_is_a_model_error(tmp_path: Path, tiny_model: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[: 200_000])
    with pytest.raises(ModelError) as info:
        LlamaCppBackend(cut, shared=False).generate("x")
    assert "batos model use" in str(info.value)


def test_shared_engine_per_model(tiny_model: Path, llm_cache_home: Path) -> None:
    one, two = LlamaCppBackend(tiny_model), LlamaCppBackend(str(tiny_model))
    assert one.engine is two.engine is get_engine(tiny_model, n_ctx=4096)
    one.generate("abc", max_tokens=3)
    assert two.loaded
    assert two.engine.n_ctx == TINY["n_ctx"]  # capped at the model's training context


def test_switching_personas_never_reloads(backend: LlamaCppBackend, tiny_lora: Path,
                                          tiny_lora_b: Path) -> None:
    backend.generate("abc", max_tokens=1)
    llm = backend.engine.llm
    for i in range(6):
        adapters = [[(str(tiny_lora), 1.0)], [(str(tiny_lora_b), 0.5)], []][i % 3]
        backend.generate(PREFIX + str(i), max_tokens=2, adapters=adapters)
    assert backend.engine.llm is llm
    assert backend.engine.stats["adapter_loads"] == 2
    assert backend.engine.stats["adapter_switches"] == 6
    assert backend.engine.stats["state_restores"] >= 3  # each set found its own prefix again


def test_ctrl_c_during_a_long_prompt_stops_between_slices_and_keeps_a_valid_prefix(
        backend: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    import batos.llm.llamacpp as engine_mod
    monkeypatch.setattr(engine_mod, "EVAL_SLICE", 8)
    engine = backend.engine
    engine.ensure_loaded()
    real_eval, calls = engine.llm.eval, []

    def eval_then_interrupt(tokens):  # a Ctrl-C arriving during the second slice
        calls.append(len(tokens))
        real_eval(tokens)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(engine.llm, "eval", eval_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        backend.generate(PREFIX + "count up", max_tokens=4)
    assert calls == [8, 8] and engine.llm.n_tokens == 16
    monkeypatch.setattr(engine.llm, "eval", real_eval)
    again = backend.generate(PREFIX + "count up", max_tokens=4)
    assert again.prompt_tokens_cached == 16  # the slices done before Ctrl-C are reused
    assert again.text == fresh(backend.model_path).generate(PREFIX + "count up",
                                                            max_tokens=4).text
