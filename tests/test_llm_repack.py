"""Q4 weights go back to ggml's CPU_REPACK buffer where batos drops the extra buffers
(:mod:`batos.llm.repack`): the GGUF header reader, the selection rule, and on the default
model a load that repacks and answers as the plain load does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

from batos.llm import models, repack
from tests.fixtures_llm import write_tiny_model

Q = gguf.GGMLQuantizationType


def _write(path: Path, tensors: dict[str, tuple[np.ndarray, Q]]) -> Path:
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(300)])
    w.add_string("general.name", "repack-probe")
    for name, (values, kind) in tensors.items():
        if kind == Q.F32:
            w.add_tensor(name, values)
        else:  # the reader reads only the header: zero blocks of the right size will do
            block, size = gguf.GGML_QUANT_SIZES[kind]
            raw = np.zeros((values.shape[0], values.shape[1] // block * size), np.uint8)
            w.add_tensor(name, raw, raw_dtype=kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_the_header_reader_agrees_with_the_gguf_package(tmp_path: Path) -> None:
    model = write_tiny_model(tmp_path / "tiny.gguf")
    ours = repack.tensor_infos(model)
    theirs = [(t.name, int(t.tensor_type), tuple(int(d) for d in t.shape))
              for t in gguf.GGUFReader(str(model)).tensors]
    assert ours == theirs and len(ours) > 5


def test_only_matrices_ggml_can_repack_are_chosen(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def m(rows: int, cols: int) -> np.ndarray:
        return rng.standard_normal((rows, cols)).astype(np.float32)
    path = _write(tmp_path / "probe.gguf", {
        "token_embd.weight": (m(16, 256), Q.Q4_0),       # read by row: never repacked
        "blk.0.ffn_up.weight": (m(16, 256), Q.Q4_K),     # 16 rows of 256: yes
        "blk.0.attn_q.weight": (m(8, 64), Q.Q4_0),       # Q4_0, 8 rows: yes
        "blk.0.attn_k.weight": (m(12, 64), Q.Q4_0),      # 12 rows: not a multiple of 8
        "blk.0.ffn_down.weight": (m(16, 256), Q.Q6_K),   # Q6_K: no repack on x86
        "blk.0.attn_norm.weight": (m(1, 64)[0], Q.F32),
    })
    assert repack.repackable(path) == ["blk.0.ffn_up.weight", "blk.0.attn_q.weight"]


def test_a_file_that_is_not_gguf_is_refused_and_loading_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all, only text" * 4)
    with pytest.raises(ValueError, match="not a GGUF"):
        repack.tensor_infos(bad)
    import llama_cpp
    assert repack.overrides(llama_cpp, bad) is None


def test_repack_is_off_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp
    monkeypatch.setenv("BATOS_LLM_REPACK", "0")
    assert not repack.wanted(llama_cpp)


_LOAD = """
import sys
from batos.llm.llamaload import import_llama_cpp, open_llama
lc = import_llama_cpp()
llm = open_llama(lc, sys.argv[1], n_ctx=256, n_threads=2, verbose=True, logits_all=False)
out = llm.create_completion("def is_even(n):", max_tokens=12, temperature=0)
print("TEXT=" + repr(out["choices"][0]["text"]))
"""


@pytest.mark.model
def test_the_default_model_repacks_its_q4_weights_and_answers_the_same() -> None:
    """On an AMX build the weights load with ``use_extra_bufts`` off; the Q4_K matrices
    are then overridden into CPU_REPACK, and greedy output matches a plain load."""
    import llama_cpp
    if not repack.wanted(llama_cpp):
        pytest.skip("this llama.cpp build has no AVX2 repack")
    path = str(models.default_model_path())

    def load(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _LOAD, path], capture_output=True,
                              text=True, timeout=300,
                              env={**os.environ, "BATOS_LLM_DEBUG": "1", **env})
    fast, plain = load(), load(BATOS_LLM_REPACK="0")
    assert fast.returncode == 0 and plain.returncode == 0, fast.stderr[-2000:]
    from batos.llm.llamaload import amx_in_build
    if amx_in_build(llama_cpp):
        moved = fast.stderr.count("buffer type overridden to CPU_REPACK")
        assert moved == len(repack.repackable(path)) > 100
        assert "overridden to CPU_REPACK" not in plain.stderr
    text = [line for line in fast.stdout.splitlines() if line.startswith("TEXT=")]
    assert text and text == [ln for ln in plain.stdout.splitlines() if ln.startswith("TEXT=")]
