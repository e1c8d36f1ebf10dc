"""Fixtures for the model layer: a tiny random llama GGUF model and tiny LoRA adapters.

The model is a real llama.cpp model (~0.3 MB): a SentencePiece ("llama")
vocabulary of printable characters, a few bigrams and the 256 byte-fallback
tokens, 2 layers of n_embd 64, random F32 weights, and a ChatML chat template.
Its embeddings carry a constant positive component that the output rows of
the special and byte tokens weigh negatively, so the model never ends a
generation by itself and only writes printable text (max_tokens and stop strings decide, which keeps the tests exact).

Use with ``-p tests.fixtures_llm`` or ``from tests.fixtures_llm import *``.
"""
from __future__ import annotations

import string
from pathlib import Path

import pytest

__all__ = ["tiny_model", "tiny_lora", "tiny_lora_b", "tiny_lora_pair", "llm_cache_home",
           "write_tiny_model", "write_tiny_lora", "write_random_lora", "TINY"]

TINY = dict(n_embd=64, n_layer=2, n_head=4, n_head_kv=2, n_ff=128, n_ctx=2048)

_SPECIALS = ["<unk>", "<s>", "</s>"]
_BIGRAMS = ["▁t", "th", "he", "▁a", "an", "in", "er", "on", "re", "▁s", "se", "el", "lf",
            "▁d", "de", "ef", "▁r", "et", "ur", "rn", "()", "):", "▁=", "▁+", "\n▁"]
_CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
           "{{ message['content'] }}<|im_end|>\n{% endfor %}"
           "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _vocab() -> tuple[list[str], list[float], list[int]]:
    tokens = list(_SPECIALS)
    types = [2, 3, 3]  # UNKNOWN, CONTROL, CONTROL
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256  # BYTE
    chars = ["▁"] + [c for c in string.printable if c not in " \t\r\x0b\x0c"]
    tokens += chars + _BIGRAMS
    types += [1] * (len(chars) + len(_BIGRAMS))
    scores = [0.0] * (3 + 256) + [-float(i) for i in range(len(chars))] + \
             [10.0 - 0.1 * i for i in range(len(_BIGRAMS))]
    return tokens, scores, types


def write_tiny_model(path: Path, seed: int = 1234, name: str = "tiny-llama",
                     chat_template: str | None = _CHATML) -> Path:
    """Write the tiny random llama GGUF model to ``path`` (``chat_template`` None: none)."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()
    n_vocab = len(tokens)
    e, L, h, hkv, ff = (TINY[k] for k in ("n_embd", "n_layer", "n_head", "n_head_kv", "n_ff"))
    head_dim = e // h

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(TINY["n_ctx"])
    w.add_embedding_length(e)
    w.add_block_count(L)
    w.add_feed_forward_length(ff)
    w.add_head_count(h)
    w.add_head_count_kv(hkv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_file_type(0)  # ALL_F32
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    if chat_template is not None:
        w.add_chat_template(chat_template)

    def rand(*shape: int, std: float = 0.3) -> "np.ndarray":
        return (rng.standard_normal(shape) * std).astype(np.float32)

    embd = rand(n_vocab, e, std=1.0)
    embd[:, 0] = 4.0  # the constant component the special tokens' output rows avoid
    out = rand(n_vocab, e, std=1.0)
    out[:, 0] = 0.0
    out[:259, :] = 0.0
    out[:259, 0] = -8.0  # <unk>, <s>, </s> and the byte tokens: never sampled
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(e, dtype=np.float32))
    w.add_tensor("output.weight", out)
    for i in range(L):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(e, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", rand(e, e))
        w.add_tensor(p + "attn_k.weight", rand(hkv * head_dim, e))
        w.add_tensor(p + "attn_v.weight", rand(hkv * head_dim, e))
        w.add_tensor(p + "attn_output.weight", rand(e, e))
        w.add_tensor(p + "ffn_norm.weight", np.ones(e, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", rand(ff, e))
        w.add_tensor(p + "ffn_up.weight", rand(ff, e))
        w.add_tensor(p + "ffn_down.weight", rand(e, ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def write_tiny_lora(path: Path, seed: int = 7, rank: int = 4, alpha: float = 8.0,
                    targets: tuple[str, ...] = ("attn_q", "attn_v", "ffn_up"),
                    f16: bool = False, arch: str = "llama") -> Path:
    """Write a tiny random LoRA adapter for the tiny model to ``path``."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    e, L, hkv, ff = (TINY[k] for k in ("n_embd", "n_layer", "n_head_kv", "n_ff"))
    kv = hkv * (e // TINY["n_head"])
    out_dims = {"attn_q": e, "attn_k": kv, "attn_v": kv, "attn_output": e,
                "ffn_up": ff, "ffn_gate": ff}
    dtype = np.float16 if f16 else np.float32
    w = gguf.GGUFWriter(str(path), arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", alpha)
    for i in range(L):
        for t in targets:
            a = (rng.standard_normal((rank, e)) * 0.5).astype(dtype)
            b = (rng.standard_normal((out_dims[t], rank)) * 0.5).astype(dtype)
            w.add_tensor(f"blk.{i}.{t}.weight.lora_a", a)
            w.add_tensor(f"blk.{i}.{t}.weight.lora_b", b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def write_random_lora(model: Path, dest: Path, rank: int = 8,
                      targets: tuple[str, ...] = ("attn_q", "attn_v"), std: float = 0.01,
                      seed: int = 0) -> Path:
    """A random F16 LoRA GGUF whose shapes fit any ``model`` (read from its header)."""
    import gguf
    import numpy as np

    from batos.llm.models import model_arch_and_dims, tensor_shapes
    arch, _ = model_arch_and_dims(model)
    shapes = tensor_shapes(model)
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(dest), arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(rank))
    for name, dims in shapes.items():
        if name.startswith("blk.") and name.split(".")[2] in targets and name.endswith(".weight"):
            n_in, n_out = dims[0], dims[1]
            w.add_tensor(name + ".lora_a", (rng.standard_normal((rank, n_in)) * std)
                         .astype(np.float16))
            w.add_tensor(name + ".lora_b", (rng.standard_normal((n_out, rank)) * std)
                         .astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return dest


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the tiny random llama GGUF model (written once per session)."""
    return write_tiny_model(tmp_path_factory.mktemp("tinymodel") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a tiny LoRA adapter (F32) for :func:`tiny_model`."""
    return write_tiny_lora(tmp_path_factory.mktemp("tinylora") / "lora-a.gguf", seed=7)


@pytest.fixture(scope="session")
def tiny_lora_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, different tiny LoRA adapter (F16) for :func:`tiny_model`."""
    return write_tiny_lora(tmp_path_factory.mktemp("tinylora") / "lora-b.gguf", seed=99,
                           f16=True, targets=("attn_q", "attn_k", "ffn_gate"))


@pytest.fixture(scope="session")
def tiny_lora_pair(tiny_lora: Path, tiny_lora_b: Path) -> tuple[Path, Path]:
    """Both tiny adapters."""
    return tiny_lora, tiny_lora_b


@pytest.fixture
def llm_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the model cache and config at a temp dir; clear BATOS_MODEL/BATOS_LLM_URL."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BATOS_MODEL", raising=False)
    monkeypatch.delenv("BATOS_LLM_URL", raising=False)
    return tmp_path
