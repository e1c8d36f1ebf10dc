"""A PEFT LoRA as a llama.cpp GGUF adapter, written with the ``gguf`` package alone.

PEFT's ``lora_A.weight`` (rank, in) and ``lora_B.weight`` (out, rank) go into the file
as they are (GGUF lists dims in reverse, so llama.cpp reads ``lora_a`` as [in, rank]
and ``lora_b`` as [rank, out], what the guardian's adapter audit expects); llama.cpp
scales by ``adapter.lora.alpha / rank`` as PEFT does (rsLoRA is not supported).
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

import numpy as np

# transformers (Qwen2/Llama) module names -> llama.cpp tensor kinds
MODULE_TO_GGUF = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v",
                  "o_proj": "attn_output", "gate_proj": "ffn_gate", "up_proj": "ffn_up",
                  "down_proj": "ffn_down"}
_KEY = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.\w+)?\.weight$")


def gguf_name(peft_key: str) -> str:
    """``...layers.3.self_attn.q_proj.lora_A.weight`` → ``blk.3.attn_q.weight.lora_a``;
    ValueError for anything else (embeddings and the output head are never adapted)."""
    m = _KEY.search(peft_key)
    if m is None or m.group(2) not in MODULE_TO_GGUF:
        raise ValueError(f"not a LoRA tensor of an attention or MLP projection: {peft_key}")
    return f"blk.{m.group(1)}.{MODULE_TO_GGUF[m.group(2)]}.weight.lora_{m.group(3).lower()}"


def write_lora_gguf(path: str | os.PathLike[str], tensors: Mapping[str, Any], *,
                    alpha: float, arch: str = "qwen2",
                    metadata: Mapping[str, str | int | float] | None = None) -> str:
    """Write PEFT state-dict ``tensors`` (name → array or torch tensor) as a GGUF LoRA
    adapter at ``path``; ``metadata`` adds ``batos.forge.*`` provenance keys."""
    import gguf
    path = os.fspath(path)
    tmp = path + ".part"
    w = gguf.GGUFWriter(tmp, arch)
    w.add_type("adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    for key, value in (metadata or {}).items():
        name = f"batos.forge.{key}"
        if isinstance(value, bool) or isinstance(value, int):
            w.add_int64(name, int(value))
        elif isinstance(value, float):
            w.add_float32(name, value)
        else:
            w.add_string(name, str(value))
    named = sorted(((gguf_name(k), v) for k, v in tensors.items()), key=lambda kv: kv[0])
    for name, value in named:
        array = value.detach().cpu().float().numpy() if hasattr(value, "detach") else value
        w.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``batos.forge.*`` keys of an adapter written by :func:`write_lora_gguf`."""
    from gguf import GGUFReader
    reader = GGUFReader(os.fspath(path))
    out: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key.startswith("batos.forge."):
            out[key[len("batos.forge."):]] = field.contents()
    return out


__all__ = ["write_lora_gguf", "gguf_name", "read_metadata", "MODULE_TO_GGUF"]
