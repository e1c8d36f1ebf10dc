"""Adapter audits on tiny LoRA GGUF files written with gguf.GGUFWriter."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from batos.guardian import audit_adapter  # noqa: E402

BASE = {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_head_kv": 2, "n_ff": 128}


def write_adapter(path: Path, tensors: dict[str, tuple[int, int]], *, arch: str = "llama",
                  general_type: str = "adapter", adapter_type: str = "lora",
                  alpha: float | None = 16.0) -> Path:
    """Write a GGUF; shapes are numpy shapes (rows, cols) = ne reversed."""
    w = gguf.GGUFWriter(str(path), arch)
    w.add_string("general.type", general_type)
    w.add_string("adapter.type", adapter_type)
    if alpha is not None:
        w.add_float32("adapter.lora.alpha", alpha)
    for name, shape in tensors.items():
        w.add_tensor(name, np.zeros(shape, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def good(tmp_path: Path, **kw: object) -> Path:
    # lora_a numpy (rank, n_in) -> ne [n_in, rank]; lora_b numpy (n_out, rank) -> ne [rank, n_out]
    return write_adapter(tmp_path / "good.gguf", {
        "blk.0.attn_q.weight.lora_a": (4, 64), "blk.0.attn_q.weight.lora_b": (64, 4),
        "blk.1.attn_k.weight.lora_a": (4, 64), "blk.1.attn_k.weight.lora_b": (32, 4),
        "blk.1.ffn_down.weight.lora_a": (4, 128), "blk.1.ffn_down.weight.lora_b": (64, 4),
    }, **kw)  # type: ignore[arg-type]


def rules(report) -> set[str]:  # noqa: ANN001
    return {f["rule"] for f in report.findings}


def test_matching_adapter_is_accepted(tmp_path: Path) -> None:
    r = audit_adapter(good(tmp_path), base_arch="llama", base_dims=BASE)
    assert r.verdict == "accepted", r.findings
    assert r.kind == "adapter" and len(r.source_hash) == 64
    assert r.to_json()["rules_checked"][0] == "A001"


def test_no_base_given_checks_only_the_file(tmp_path: Path) -> None:
    assert audit_adapter(good(tmp_path)).accepted


def test_wrong_architecture(tmp_path: Path) -> None:
    r = audit_adapter(good(tmp_path), base_arch="qwen2", base_dims=BASE)
    assert "A003" in rules(r) and not r.accepted
    assert "qwen2" in r.summary()


def test_wrong_dimensions(tmp_path: Path) -> None:
    r = audit_adapter(good(tmp_path), base_arch="llama", base_dims=dict(BASE, n_embd=32))
    assert "A005" in rules(r)


def test_block_beyond_the_base(tmp_path: Path) -> None:
    r = audit_adapter(good(tmp_path), base_dims=dict(BASE, n_layer=1))
    assert "A006" in rules(r)


def test_exact_base_tensor_shapes(tmp_path: Path) -> None:
    tensors = {"blk.0.attn_q.weight": (64, 64), "blk.1.attn_k.weight": (64, 32),
               "blk.1.ffn_down.weight": (128, 64)}
    assert audit_adapter(good(tmp_path), base_dims={"tensors": tensors}).accepted
    bad = dict(tensors, **{"blk.1.ffn_down.weight": (128, 65)})
    assert "A005" in rules(audit_adapter(good(tmp_path), base_dims=bad))
    missing = {k: v for k, v in tensors.items() if "attn_q" not in k}
    assert "A005" in rules(audit_adapter(good(tmp_path), base_dims={"tensors": missing}))


@pytest.mark.parametrize("name", ["token_embd.weight", "output.weight"])
def test_token_embd_and_output_are_forbidden(tmp_path: Path, name: str) -> None:
    p = write_adapter(tmp_path / "x.gguf", {f"{name}.lora_a": (4, 64),
                                            f"{name}.lora_b": (100, 4)})
    r = audit_adapter(p, base_arch="llama")
    assert "A007" in rules(r) and not r.accepted


def test_not_an_adapter(tmp_path: Path) -> None:
    p = write_adapter(tmp_path / "m.gguf", {"blk.0.attn_q.weight": (64, 64)},
                      general_type="model")
    r = audit_adapter(p)
    assert {"A002", "A004"} <= rules(r)


def test_control_vector_is_not_lora(tmp_path: Path) -> None:
    p = write_adapter(tmp_path / "cv.gguf", {"blk.0.attn_q.weight.lora_a": (4, 64),
                                             "blk.0.attn_q.weight.lora_b": (64, 4)},
                      adapter_type="control_vector")
    assert "A002" in rules(audit_adapter(p))


def test_unpaired_and_rank_mismatch(tmp_path: Path) -> None:
    p = write_adapter(tmp_path / "u.gguf", {"blk.0.attn_q.weight.lora_a": (4, 64),
                                            "blk.0.attn_v.weight.lora_a": (4, 64),
                                            "blk.0.attn_v.weight.lora_b": (32, 8)})
    r = audit_adapter(p)
    msgs = " ".join(f["message"] for f in r.findings)
    assert "lora_b is missing" in msgs and "rank" in msgs


def test_missing_alpha_is_a_warning(tmp_path: Path) -> None:
    r = audit_adapter(good(tmp_path, alpha=None))
    assert r.accepted and "A008" in rules(r)


def test_garbage_file(tmp_path: Path) -> None:
    p = tmp_path / "junk.gguf"
    p.write_bytes(b"not a gguf at all")
    r = audit_adapter(p)
    assert r.verdict == "rejected" and "A001" in rules(r)
    r = audit_adapter(tmp_path / "missing.gguf")
    assert r.verdict == "rejected"
