"""End-to-end with the real embedded default model (Qwen2.5-Coder-1.5B, ~1.1 GB).

Marked ``model``: deselect with ``-m "not model"``. The model is assembled into the
user cache on first use (a few seconds), then reused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from batos.llm import models
from batos.llm.llamacpp import LlamaCppBackend
from tests.fixtures_llm import write_random_lora

pytestmark = pytest.mark.model

SYSTEM = ("You write one Python method for a prototype object. Reply with the method only, "
          "in one ```python block.")


@pytest.fixture(scope="module")
def qwen() -> Iterator[LlamaCppBackend]:
    path = models.default_model_path()
    be = LlamaCppBackend(path, shared=False, n_ctx=2048)
    yield be
    be.engine.close()


def _prompt(be: LlamaCppBackend, ask: str) -> str:
    return be.format_chat([{"role": "system", "content": SYSTEM},
                           {"role": "user", "content": ask}])


def test_default_model_is_the_published_one() -> None:
    path = models.default_model_path()
    assert models.default_model_ready()
    info = models.model_info(path)
    assert info["sha256"] == models.DEFAULT_SHA256
    assert (info["arch"], info["quantization"], info["chat_template"]) == ("qwen2", "Q4_K_M",
                                                                           True)


def test_writes_a_method_and_reuses_the_prefix(qwen: LlamaCppBackend) -> None:
    pieces: list[str] = []
    first = qwen.generate(_prompt(qwen, "Write `def double(self, x):` returning twice x."),
                          max_tokens=60, stop=["\n```\n"], on_token=pieces.append)
    assert "def double(self, x):" in first.text and "return" in first.text
    assert "".join(pieces) == first.text
    assert first.model_sha256 == models.DEFAULT_SHA256 and first.finish_reason == "stop"
    second = qwen.generate(_prompt(qwen, "Write `def halve(self, x):` returning x / 2."),
                           max_tokens=60, stop=["\n```\n"])
    assert "def halve(self, x):" in second.text
    assert second.prompt_tokens_cached > 20
    assert second.prompt_tokens_processed < first.prompt_tokens_processed


def test_hot_lora_on_the_default_model(qwen: LlamaCppBackend, tmp_path: Path) -> None:
    lora = write_random_lora(Path(qwen.model_path), tmp_path / "p.gguf", std=0.05)
    prompt = _prompt(qwen, "Say hi.")
    base = qwen.logits(prompt, use_cache=False)
    with_lora = qwen.logits(prompt, [(str(lora), 1.0)], use_cache=False)
    assert np.abs(with_lora - base).max() > 1e-3
    assert np.array_equal(qwen.logits(prompt, use_cache=False), base)
