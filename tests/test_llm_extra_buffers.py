"""Models load without ggml's AMX weight buffer where the build has one (it segfaults)."""
from __future__ import annotations

import ctypes
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from batos.llm import llamacpp, llamaload
from tests.fixtures_llm import *  # noqa: F401,F403

AMX_INFO = b"CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 | REPACK = 1 | "
PLAIN_INFO = b"CPU : AVX2 = 1 | AVX512 = 1 | OPENMP = 1 | REPACK = 1 | "


class _Params(ctypes.Structure):
    _fields_ = [("n_gpu_layers", ctypes.c_int32), ("use_extra_bufts", ctypes.c_bool)]


def _fake_lc(info: bytes, *, fail: bool = False) -> Any:
    """A stand-in for the llama_cpp package: Llama records the params it loads with."""
    def default() -> _Params:
        return _Params(0, True)
    mod = SimpleNamespace(llama_model_params=_Params, llama_model_default_params=default)
    seen: list[bool] = []

    def llama(model_path: str, **kw: Any) -> Any:
        seen.append(bool(mod.llama_model_default_params().use_extra_bufts))
        if fail:
            raise ValueError("cannot load")
        return SimpleNamespace(path=model_path, kw=kw)
    return SimpleNamespace(llama_cpp=mod, Llama=llama, seen=seen, default=default,
                           llama_print_system_info=lambda: info)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATOS_LLM_EXTRA_BUFFERS", raising=False)


def test_amx_build_is_detected_from_the_system_info() -> None:
    assert llamaload.amx_in_build(_fake_lc(AMX_INFO))
    assert not llamaload.amx_in_build(_fake_lc(PLAIN_INFO))
    assert not llamaload.use_extra_buffers(_fake_lc(AMX_INFO))
    assert llamaload.use_extra_buffers(_fake_lc(PLAIN_INFO))


def test_environment_overrides_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM_EXTRA_BUFFERS", "1")
    assert llamaload.use_extra_buffers(_fake_lc(AMX_INFO))
    monkeypatch.setenv("BATOS_LLM_EXTRA_BUFFERS", "0")
    assert not llamaload.use_extra_buffers(_fake_lc(PLAIN_INFO))


@pytest.mark.parametrize("info, extra", [(AMX_INFO, False), (PLAIN_INFO, True)])
def test_open_llama_loads_with_the_chosen_params_and_restores_the_defaults(
        info: bytes, extra: bool) -> None:
    lc = _fake_lc(info)
    llm = llamaload.open_llama(lc, "m.gguf", n_ctx=64)
    assert (llm.path, llm.kw) == ("m.gguf", {"n_ctx": 64})
    assert lc.seen == [extra]
    assert lc.llama_cpp.llama_model_default_params is lc.default


def test_defaults_are_restored_when_loading_fails() -> None:
    lc = _fake_lc(AMX_INFO, fail=True)
    with pytest.raises(ValueError):
        llamaload.open_llama(lc, "m.gguf")
    assert lc.seen == [False]
    assert lc.llama_cpp.llama_model_default_params is lc.default


def test_a_build_without_the_field_loads_as_before() -> None:
    lc = _fake_lc(AMX_INFO)
    lc.llama_cpp.llama_model_params = type("Old", (ctypes.Structure,),
                                           {"_fields_": [("n_gpu_layers", ctypes.c_int32)]})
    llamaload.open_llama(lc, "m.gguf")
    assert lc.seen == [True]


def test_engine_loads_the_real_library_without_extra_buffers_when_told(
        tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    monkeypatch.setenv("BATOS_LLM_EXTRA_BUFFERS", "0")
    engine = llamacpp.Engine(str(tiny_model), n_ctx=256)
    try:
        llm = engine.ensure_loaded()
        assert llm.model_params.use_extra_bufts is False
        assert engine.lib_version and engine.lib_version != "unknown"
        out = engine.generate("hello there", max_tokens=4)
        assert out.completion_tokens > 0 or out.finish_reason == "stop"
    finally:
        engine.close()
    import llama_cpp
    assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts is True
