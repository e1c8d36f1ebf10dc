"""A tiny random Qwen2 model built with transformers and written to GGUF (forge tests).

The weights come from ``transformers.Qwen2ForCausalLM`` (a ``Qwen2Config`` with two
layers); the GGUF holds them in F32 under llama.cpp's qwen2 tensor names, with the
tiny SentencePiece vocabulary of :mod:`tests.fixtures_llm` (llama.cpp chooses the
tokenizer by ``tokenizer.ggml.model``, not by the architecture).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures_llm import _CHATML, _vocab

TINY_QWEN = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                 num_key_value_heads=2, intermediate_size=128, max_position_embeddings=1024,
                 rms_norm_eps=1e-6, tie_word_embeddings=False)
_RENAME = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
           "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
           "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
           "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def gguf_tensor_name(hf: str) -> str:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")  # model.layers.N.<module...>.(weight|bias)
    module = ".".join(parts[3:-1])
    return f"blk.{parts[2]}.{_RENAME[module]}.{parts[-1]}"


def write_tiny_qwen2(path: Path, seed: int = 0) -> Path:
    """Build the tiny random Qwen2 with transformers and write it as a GGUF at ``path``."""
    import gguf
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokens, scores, types = _vocab()
    cfg = Qwen2Config(vocab_size=len(tokens), **TINY_QWEN)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg)
    with torch.no_grad():  # larger than the default init, so logits differ visibly
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.normal_(0.0, 0.15)
    theta = float(getattr(cfg, "rope_theta", None) or
                  (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta", 10000.0))
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_name("tiny-qwen2")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_rope_freq_base(theta)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_chat_template(_CHATML)
    for name, value in model.state_dict().items():
        w.add_tensor(gguf_tensor_name(name), value.float().numpy())
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def llama_logits(model_path: Path, text: str, adapter: Path | None = None) -> Any:
    """The tiny model's logits (numpy, one row per token) for ``text`` from llama.cpp,
    with ``adapter`` applied at scale 1; also answers the tokens."""
    import llama_cpp
    import numpy as np
    from batos.llm.llamaload import open_llama
    llm = open_llama(llama_cpp, str(model_path), n_ctx=256, logits_all=True, verbose=False,
                     n_threads=1, **({"lora_path": str(adapter)} if adapter else {}))
    try:
        ids = llm.tokenize(text.encode(), add_bos=True, special=True)
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)], dtype=np.float64), ids
    finally:
        llm.close()
