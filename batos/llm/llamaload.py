"""Loading a model with llama-cpp-python, around ggml's AMX weight buffer.

A llama.cpp build compiled for the machine (``GGML_NATIVE``, the default when pip
builds llama-cpp-python from source) on a CPU with AMX (Sapphire Rapids and later
Xeons) puts Q4_K/Q6_K weights in an "AMX" extra buffer, and its matrix product
``ggml_backend_amx_mul_mat`` segfaults on the first ``llama_decode`` on some such
machines (llama.cpp issue 20824, open; seen with llama-cpp-python 0.3.36 and the
default Qwen2.5-Coder Q4_K_M model). Where the build has AMX, models are therefore
loaded with ``llama_model_params.use_extra_bufts = false`` (plain CPU buffers), and the
weights the CPU_REPACK buffer takes are put back in it one by one
(:mod:`batos.llm.repack`). ``$BATOS_LLM_EXTRA_BUFFERS`` overrides: ``1`` keeps the
extra buffers, ``0`` drops them everywhere.

Also here: importing ``llama_cpp`` once with llama.cpp's log routed to a quiet sink
(:func:`import_llama_cpp`), and contexts able to hold several sequences in one unified KV
buffer (``n_seq_max``), so candidates decoded together share their prompt's KV cells
(:mod:`batos.llm.parallel`).
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

from batos.errors import ModelError

_PARAMS_LOCK = threading.Lock()
_log_callback: Any = None
_PENDING_INTERRUPT = False


def import_llama_cpp() -> Any:
    """Import llama_cpp (once) and route llama.cpp's log through :func:`_quiet_log`."""
    global _log_callback
    try:
        import llama_cpp
        import llama_cpp._logger  # noqa: F401  (installs its callback; ours replaces it)
    except ImportError as e:
        raise ModelError(f"llama-cpp-python is not installed or broken ({e})\n"
                         "hint: pip install llama-cpp-python, or run a llama.cpp server "
                         "and set BATOS_LLM_URL") from None
    if _log_callback is None:
        _log_callback = llama_cpp.llama_log_callback(_quiet_log)
        llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
    return llama_cpp


def _quiet_log(level: int, text: bytes, user_data: Any) -> None:
    """llama.cpp log sink: silent unless $BATOS_LLM_DEBUG is set.

    (llama-cpp-python's own sink maps ggml's current log levels wrongly and prints
    warnings such as the per-tensor LoRA buffer fallbacks even when not verbose.)
    """
    global _PENDING_INTERRUPT
    try:
        if os.environ.get("BATOS_LLM_DEBUG"):
            import sys
            sys.stderr.write(text.decode("utf-8", "replace"))
    except KeyboardInterrupt:
        _PENDING_INTERRUPT = True


def raise_pending_interrupt() -> None:
    """Re-raise a Ctrl-C that arrived inside llama.cpp's log callback (ctypes drops it)."""
    global _PENDING_INTERRUPT
    if _PENDING_INTERRUPT:
        _PENDING_INTERRUPT = False
        raise KeyboardInterrupt


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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


def open_llama(lc: Any, path: str, *, n_seq_max: int = 1, **kwargs: Any) -> Any:
    """``lc.Llama(model_path=path, **kwargs)``, without the extra weight buffers where
    :func:`use_extra_buffers` says so. ``Llama`` takes no argument for
    ``use_extra_bufts`` nor ``n_seq_max``: the default params are patched while it loads.
    ``n_seq_max`` > 1 makes a context of that many sequences over one unified KV buffer
    of ``n_ctx`` cells (``kv_unified``), where a sequence copy shares cells."""
    mod = lc.llama_cpp
    drop_extra = not use_extra_buffers(lc) and any(
        name == "use_extra_bufts" for name, _ in mod.llama_model_params._fields_)
    if not drop_extra and n_seq_max <= 1:
        return lc.Llama(model_path=path, **kwargs)
    with _PARAMS_LOCK:
        model_default = mod.llama_model_default_params
        context_default = getattr(mod, "llama_context_default_params", None)

        repacked = None
        if drop_extra:
            from batos.llm.repack import overrides
            repacked = overrides(lc, path)

        def model_params() -> Any:
            p = model_default()
            if drop_extra:
                p.use_extra_bufts = False
                if repacked is not None:
                    p.tensor_buft_overrides = repacked
            return p

        def context_params() -> Any:
            p = context_default()  # type: ignore[misc]
            p.n_seq_max = int(n_seq_max)
            p.kv_unified = True
            return p
        if drop_extra:
            mod.llama_model_default_params = model_params
        if n_seq_max > 1:
            mod.llama_context_default_params = context_params
        try:
            return lc.Llama(model_path=path, **kwargs)
        finally:
            mod.llama_model_default_params = model_default
            if n_seq_max > 1:
                mod.llama_context_default_params = context_default
