"""The fixed prompt prefix's KV state kept on disk, across engines (processes)."""
from __future__ import annotations

from pathlib import Path

import pytest

from batos.llm.llamacpp import LlamaCppBackend
from tests.fixtures_llm import *  # noqa: F401,F403

PREFIX = "system: you write methods. " * 12
PROMPT = PREFIX + "user: write double. assistant:"


@pytest.fixture
def kv_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATOS_KV_DIR", str(tmp_path / "kv"))
    return tmp_path / "kv"


def _fresh(model: Path) -> LlamaCppBackend:
    return LlamaCppBackend(model, shared=False, n_ctx=1024)


def test_second_engine_restores_the_prefix_and_answers_the_same(tiny_model, kv_home):
    plain = _fresh(tiny_model).generate(PROMPT, max_tokens=12, seed=3)
    first = _fresh(tiny_model).generate(PROMPT, max_tokens=12, seed=3, prefix=PREFIX)
    assert list(kv_home.glob("*.kv")), "the prefix state was written"
    assert first.prompt_tokens_cached == 0
    second_backend = _fresh(tiny_model)
    second = second_backend.generate(PROMPT, max_tokens=12, seed=3, prefix=PREFIX)
    assert second.prompt_tokens_cached > 0.8 * (second.prompt_tokens - 10)
    assert second_backend.engine.stats.get("disk_restores") == 1
    assert first.text == second.text == plain.text


def test_prefix_state_is_not_shared_across_adapter_sets(tiny_model, tiny_lora, kv_home):
    _fresh(tiny_model).generate(PROMPT, max_tokens=4, prefix=PREFIX)
    with_adapter = _fresh(tiny_model)
    out = with_adapter.generate(PROMPT, max_tokens=4, prefix=PREFIX, adapters=[(str(tiny_lora), 1.0)])
    assert out.prompt_tokens_cached == 0
    assert with_adapter.engine.stats.get("disk_restores") is None
    assert len(list(kv_home.glob("*.kv"))) == 2


def test_prefix_state_from_another_llama_cpp_version_is_not_loaded(tiny_model, kv_home):
    _fresh(tiny_model).generate(PROMPT, max_tokens=4, prefix=PREFIX)
    other = _fresh(tiny_model)
    other.engine.ensure_loaded()
    assert other.engine.lib_version
    other.engine.lib_version = "0.0.0-another-build"
    out = other.generate(PROMPT, max_tokens=4, prefix=PREFIX)
    assert out.prompt_tokens_cached == 0
    assert other.engine.stats.get("disk_restores") is None
    assert len(list(kv_home.glob("*.kv"))) == 2
