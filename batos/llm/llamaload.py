"""Loading a model with llama-cpp-python, around ggml's AMX weight buffer.

A llama.cpp build compiled for the machine (``GGML_NATIVE``, the default when pip
builds llama-cpp-python from source) on a CPU with AMX (Sapphire Rapids and later
Xeons) puts Q4_K/Q6_K weights in an "AMX" extra buffer, and its matrix product
``ggml_backend_amx_mul_mat`` segfaults on the first ``llama_decode`` on some such
machines (llama.cpp issue 20824, open; seen with llama-cpp-python 0.3.36 and the
default Qwen2.5-Coder Q4_K_M model). Where the build has AMX, models are therefore
loaded with ``llama_model_params.use_extra_bufts = false`` (plain CPU buffers; this
also gives up the CPU_REPACK buffer). ``$BATOS_LLM_EXTRA_BUFFERS`` overrides: ``1``
keeps the extra buffers, ``0`` drops them everywhere.
"""
from __future__ import annotations

import os
import threading
from typing import Any

_PARAMS_LOCK = threading.Lock()


def amx_in_build(lc: Any) -> bool:
    """Whether the llama.cpp build of the ``llama_cpp`` package ``lc`` has AMX kernels
    (it then prefers the AMX buffer for the weights it supports)."""
    try:
        return b"AMX_INT8 = 1" in lc.llama_print_system_info()
    except (AttributeError, TypeError):
        return False


def use_extra_buffers(lc: Any) -> bool:
    """Whether models load with llama.cpp's extra weight buffers (AMX, CPU_REPACK)."""
    env = os.environ.get("BATOS_LLM_EXTRA_BUFFERS", "").strip()
    if env in ("0", "1"):
        return env == "1"
    return not amx_in_build(lc)


def open_llama(lc: Any, path: str, **kwargs: Any) -> Any:
    """``lc.Llama(model_path=path, **kwargs)``, without the extra weight buffers where
    :func:`use_extra_buffers` says so. ``Llama`` takes no argument for
    ``use_extra_bufts``: the default model params are patched while it loads."""
    mod = lc.llama_cpp
    if use_extra_buffers(lc) or not any(
            name == "use_extra_bufts" for name, _ in mod.llama_model_params._fields_):
        return lc.Llama(model_path=path, **kwargs)
    with _PARAMS_LOCK:
        default = mod.llama_model_default_params

        def params() -> Any:
            p = default()
            p.use_extra_bufts = False
            return p
        mod.llama_model_default_params = params
        try:
            return lc.Llama(model_path=path, **kwargs)
        finally:
            mod.llama_model_default_params = default
