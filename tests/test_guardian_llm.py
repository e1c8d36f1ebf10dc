"""The guardian next to a real llama.cpp model: adapter audits against the tiny model's
real dimensions, and the limits' tick running while llama.cpp generates."""
from __future__ import annotations

from pathlib import Path

import pytest

from batos.errors import LimitExceeded
from batos.guardian import audit_adapter
from batos.guardian.limits import limits, paused

fixtures = pytest.importorskip("tests.fixtures_llm")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fixtures.write_tiny_model(tmp_path_factory.mktemp("guardian") / "tiny.gguf")


def test_adapter_audit_against_the_real_base(model: Path, tmp_path: Path) -> None:
    from batos.llm.models import model_arch_and_dims, tensor_shapes
    arch, dims = model_arch_and_dims(model)
    lora = fixtures.write_tiny_lora(tmp_path / "lora.gguf", targets=("attn_q", "attn_v",
                                                                      "ffn_up"))
    report = audit_adapter(lora, base_arch=arch, base_dims=dims)
    assert report.verdict == "accepted", report.findings
    assert audit_adapter(lora, base_dims={"tensors": tensor_shapes(model)}).accepted
    other = fixtures.write_tiny_lora(tmp_path / "qwen.gguf", arch="qwen2")
    assert "A003" in {f["rule"] for f in audit_adapter(other, base_arch=arch).findings}
    assert not audit_adapter(lora, base_arch=arch, base_dims=dict(dims, n_embd=32)).accepted


@pytest.fixture(scope="module")
def llama(model: Path):  # noqa: ANN201
    llama_cpp = pytest.importorskip("llama_cpp")
    return llama_cpp.Llama(model_path=str(model), n_ctx=512, n_threads=1, seed=1,
                           verbose=False)


def _generate(llm, n: int) -> str:  # noqa: ANN001
    out = llm.create_completion("the", max_tokens=n, temperature=0.0, seed=1)
    return out["choices"][0]["text"]


def test_generation_is_undisturbed_by_the_tick(llama) -> None:  # noqa: ANN001
    bare = _generate(llama, 48)
    with limits(timeout=30):
        ticked = _generate(llama, 48)
    assert ticked == bare and len(bare) > 0


def test_a_long_generation_is_stopped_between_tokens_unless_paused(llama) -> None:  # noqa: ANN001
    import time
    t0 = time.monotonic()
    _generate(llama, 400)
    took = time.monotonic() - t0
    limit = max(took / 4, 0.02)
    with pytest.raises(LimitExceeded, match="time limit"):
        with limits(timeout=limit):
            _generate(llama, 400)
    with limits(timeout=limit):
        with paused():
            assert _generate(llama, 400)
    assert _generate(llama, 8)  # the model still works afterwards
