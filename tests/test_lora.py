"""Persona LoRA adapters: the cold tier (blobs in the image), audit, and hot-apply on llama.cpp."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import batos
from batos.errors import AuditRejected, BatosError
from batos.llm.llamacpp import LlamaCppBackend
from batos.mind.adapters import (Adapter, add_adapter, adapter_path, list_adapters,
                                 offer_loras, remove_adapter)
from batos.mind.personas import adapter_specs, generate_as
from tests.fixtures_llm import *  # noqa: F401,F403
from tests.fixtures_llm import write_tiny_lora

PROMPT = "You are BRICK. Write one Python method for the counter prototype. " * 2


@pytest.fixture(autouse=True)
def base(tiny_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The tiny model is the base model adapters are audited against (set before the
    shared ``image`` fixture opens: autouse fixtures come first)."""
    monkeypatch.setenv("BATOS_MODEL", str(tiny_model))
    monkeypatch.delenv("BATOS_LLM_URL", raising=False)
    monkeypatch.setenv("BATOS_LORAS", str(tmp_path / "no-loras"))
    return tiny_model


def _blob_files(image_path: Path) -> list[Path]:
    return sorted(p for p in Path(str(image_path) + ".blobs").rglob("*.blob"))


def test_add_list_remove_and_reopen(base: Path, tiny_lora: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.fs"
    with batos.open_image(path) as im:
        adapter = im.execute(lambda: add_adapter(im, "brick", tiny_lora, scale=0.75),
                             note="lora add")
        assert isinstance(adapter, Adapter) and adapter.persona == "BRICK"
        assert adapter.name == "lora-a.gguf" and adapter.size == tiny_lora.stat().st_size
        assert adapter.arch == "llama" and adapter.audit.verdict == "accepted"
        assert im.globals["BRICK"].adapter is adapter
        assert [(p, a.name, s) for p, a, s in list_adapters(im)] == [("BRICK", "lora-a.gguf",
                                                                      0.75)]
    with batos.open_image(path) as im:                       # survives reopen
        adapter = im.globals["BRICK"].adapter
        file = adapter_path(adapter)
        assert Path(file).read_bytes() == tiny_lora.read_bytes()
        assert Path(file).resolve().is_relative_to(Path(str(path) + ".blobs").resolve())
        assert adapter_specs(im.globals["BRICK"]) == [(file, 0.75)]
        assert adapter_specs(im.globals["ROBIN"]) == []
        removed = im.execute(lambda: remove_adapter(im, "BRICK"), note="lora rm")
        assert removed.sha256 == adapter.sha256
        with pytest.raises(BatosError, match="has no adapter"):
            remove_adapter(im, "BRICK")
        im.abort()
    with batos.open_image(path) as im:
        assert im.globals["BRICK"].adapter is None and list_adapters(im) == []


def test_a_rejected_adapter_leaves_nothing(image: Any, tmp_path: Path) -> None:
    wrong_arch = write_tiny_lora(tmp_path / "qwen.gguf", arch="qwen2")
    blobs_before = _blob_files(image.path)
    tid = image.history(1)[0]["id"]
    with pytest.raises(AuditRejected, match="A003") as info:
        image.execute(lambda: add_adapter(image, "ROBIN", wrong_arch), note="lora add")
    assert info.value.report.verdict == "rejected"
    assert image.globals["ROBIN"].adapter is None and list_adapters(image) == []
    assert image.history(1)[0]["id"] == tid and _blob_files(image.path) == blobs_before
    big = tmp_path / "big.gguf"
    import gguf
    w = gguf.GGUFWriter(str(big), "llama")
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_tensor("blk.0.attn_q.weight.lora_a", np.zeros((4, 128), np.float32))  # n_embd is 64
    w.add_tensor("blk.0.attn_q.weight.lora_b", np.zeros((64, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(AuditRejected, match="A005"):
        add_adapter(image, "ROBIN", big)
    not_lora = tmp_path / "model-copy.gguf"
    shutil.copy(os.environ["BATOS_MODEL"], not_lora)
    with pytest.raises(AuditRejected, match="A002"):
        add_adapter(image, "ROBIN", not_lora)
    with pytest.raises(BatosError, match="no adapter file"):
        add_adapter(image, "ROBIN", tmp_path / "missing.gguf")
    with pytest.raises(BatosError, match="no persona named"):
        add_adapter(image, "BATMAN", tmp_path / "qwen.gguf")


def test_without_a_base_model_the_audit_warns(image: Any, tiny_lora: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM_URL", "http://unused.invalid")
    adapter = add_adapter(image, "BABS", tiny_lora)
    warnings = [f for f in adapter.audit.findings if f["severity"] == "warning"]
    assert adapter.audit.accepted and any("no base model" in f["message"] for f in warnings)
    # before the commit, the blob's file is still usable (no temporary copy of our own)
    assert Path(adapter_path(adapter)).read_bytes() == tiny_lora.read_bytes()


def test_persona_adapter_changes_logits_and_removal_restores_them(
        image: Any, base: Path, tiny_lora: Path) -> None:
    backend = LlamaCppBackend(base, shared=False, n_ctx=1024)
    brick = image.globals["BRICK"]
    plain = backend.logits(PROMPT, adapter_specs(brick), use_cache=False)
    image.execute(lambda: add_adapter(image, "BRICK", tiny_lora), note="add")
    specs = adapter_specs(brick)
    assert specs == [(brick.adapter.blob.committed(), 1.0)]
    hot = backend.logits(PROMPT, specs, use_cache=False)
    assert not np.allclose(plain, hot)
    assert int(np.argmax(plain)) != int(np.argmax(hot)) or np.abs(plain - hot).max() > 0.1
    brick.adapter_scale = 0.5
    image.commit("half")
    half = backend.logits(PROMPT, adapter_specs(brick), use_cache=False)
    assert not np.allclose(half, hot) and not np.allclose(half, plain)
    image.execute(lambda: remove_adapter(image, "BRICK"), note="rm")
    assert adapter_specs(brick) == []
    again = backend.logits(PROMPT, adapter_specs(brick), use_cache=False)
    assert np.array_equal(again, plain)                         # exactly back
    # through the prefix cache (last token re-evaluated alone: float rounding only)
    assert np.allclose(backend.logits(PROMPT, []), plain, atol=1e-4)


def test_persona_switch_hot_applies_without_reload(image: Any, base: Path, tiny_lora: Path,
                                                   tiny_lora_b: Path) -> None:
    image.execute(lambda: (add_adapter(image, "BRICK", tiny_lora),
                           add_adapter(image, "ROBIN", tiny_lora_b)), note="two")
    backend = LlamaCppBackend(base, shared=False, n_ctx=1024)
    image.options["backend"] = backend
    brick, robin = image.globals["BRICK"], image.globals["ROBIN"]
    a1 = generate_as(image, brick, "hello", max_tokens=10, seed=1).text
    b1 = generate_as(image, robin, "hello", max_tokens=10, seed=1).text
    a2 = generate_as(image, brick, "hello", max_tokens=10, seed=1).text
    engine = backend.engine
    assert a1 == a2 and a1 != b1
    assert engine.stats["adapter_loads"] == 2 and engine.stats["adapter_switches"] == 3
    fresh = LlamaCppBackend(base, shared=False, n_ctx=1024)
    image.options["backend"] = fresh
    assert generate_as(image, brick, "hello", max_tokens=10, seed=1).text == a2


def test_loras_offered_at_awakening(base: Path, tiny_lora: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    offered = tmp_path / "offered"
    offered.mkdir()
    shutil.copy(tiny_lora, offered / "robin.gguf")
    write_tiny_lora(offered / "babs.gguf", arch="qwen2")   # rejected: skipped
    (offered / "other.gguf").write_bytes(b"ignored")
    monkeypatch.setenv("BATOS_LORAS", str(offered))
    path = tmp_path / "o.fs"
    with batos.open_image(path) as im:
        assert [p for p, _, _ in list_adapters(im)] == ["ROBIN"]
        assert im.globals["ROBIN"].adapter.name == "robin.gguf"
        assert im.globals["BABS"].adapter is None
        assert offer_loras(im) == []                      # persona already has one
    with batos.open_image(path) as im:
        assert Path(adapter_path(im.globals["ROBIN"].adapter)).is_file()
