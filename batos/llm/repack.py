"""The CPU_REPACK weight buffer without AMX: repacked Q4 matrix products on AMX machines.

Where batos loads a model without llama.cpp's extra weight buffers (the AMX buffer
segfaults, see :mod:`batos.llm.llamaload`), it also loses the CPU_REPACK buffer, whose
interleaved Q4_K/Q4_0 layout makes each matrix product about 1.4x faster on AVX2
(decoding one token of the default Qwen2.5-Coder Q4_K_M: 76 -> 56 ms on this machine),
and whose 4-row GEMM tiles make several candidates decoded together cheaper still.
This module gives those weights back to CPU_REPACK through llama.cpp's per-tensor buffer
overrides (``llama_model_params.tensor_buft_overrides``), one exact-name pattern for each
tensor that ggml's repack accepts: a 2-D matrix of type Q4_K or Q4_0 whose row count is a
multiple of 8, used by a matrix product (so never ``token_embd``, which is read by row).
ggml asserts on a tensor it cannot repack, so the selection mirrors its rule
(``ggml_repack_get_optimal_repack_type`` for x86 AVX2) and is made only where the build
reports ``AVX2 = 1`` and ``REPACK = 1``. ``$BATOS_LLM_REPACK=0`` turns it off.

The tensor list comes from the GGUF header, read here directly (the ``gguf`` package's
reader parses the whole 150k-token vocabulary into numpy arrays, about 5 s; this reader
skips it in well under a second).
"""
from __future__ import annotations

import ctypes
import os
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

#: ggml type ids (``enum ggml_type``) that the repack buffer takes on x86 AVX2.
Q4_0, Q4_K = 2, 12
_REPACKABLE = {Q4_0: 32, Q4_K: 256}     # type -> elements per block (row length multiple)
_READ_ONLY_BY_ROW = ("token_embd.weight",)
_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_keep: dict[str, Any] = {}              # override arrays must outlive the model load


class _Override(ctypes.Structure):
    """``struct llama_model_tensor_buft_override``."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def tensor_infos(path: str | Path) -> list[tuple[str, int, tuple[int, ...]]]:
    """(name, ggml type, shape as ``ne``) of every tensor in a GGUF file (header only)."""
    p = Path(path)
    st = p.stat()
    return list(_tensor_infos(str(p), st.st_size, st.st_mtime_ns))


@lru_cache(maxsize=8)
def _tensor_infos(path: str, size: int, mtime: int) -> tuple[tuple[str, int, tuple[int, ...]], ...]:
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24 or head[:4] != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version, n_tensors, n_kv = struct.unpack_from("<IQQ", head, 4)
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version} is not supported")
        buf = memoryview(f.read(min(size, 64 << 20)))
    pos = 0

    def u32() -> int:
        nonlocal pos
        pos += 4
        return int.from_bytes(buf[pos - 4:pos], "little")

    def u64() -> int:
        nonlocal pos
        pos += 8
        return int.from_bytes(buf[pos - 8:pos], "little")

    def skip(kind: int) -> None:
        nonlocal pos
        if kind == _STRING:
            pos += 8 + int.from_bytes(buf[pos:pos + 8], "little")
        elif kind == _ARRAY:
            item, count = u32(), u64()
            if item == _STRING:
                for _ in range(count):
                    pos += 8 + int.from_bytes(buf[pos:pos + 8], "little")
            elif item in _SCALAR:
                pos += _SCALAR[item] * count
            else:
                for _ in range(count):
                    skip(item)
        elif kind in _SCALAR:
            pos += _SCALAR[kind]
        else:
            raise ValueError(f"{path}: unknown GGUF value type {kind}")

    for _ in range(n_kv):
        pos += 8 + int.from_bytes(buf[pos:pos + 8], "little")   # the key
        skip(u32())
    out = []
    for _ in range(n_tensors):
        n = u64()
        name = bytes(buf[pos:pos + n]).decode("utf-8", "replace")
        pos += n
        dims = tuple(u64() for _ in range(u32()))
        kind = u32()
        pos += 8                                                # the data offset
        out.append((name, kind, dims))
    if pos > len(buf):
        raise ValueError(f"{path}: the GGUF header is longer than batos reads")
    return tuple(out)


def repackable(path: str | Path) -> list[str]:
    """The tensors of the GGUF at ``path`` that ggml's CPU_REPACK buffer accepts on AVX2."""
    names = []
    for name, kind, ne in tensor_infos(path):
        block = _REPACKABLE.get(kind)
        if (block and len(ne) == 2 and ne[1] % 8 == 0 and ne[0] % block == 0
                and name not in _READ_ONLY_BY_ROW):
            names.append(name)
    return names


def _repack_buffer_type(lc: Any) -> int | None:
    """The address of ggml's CPU_REPACK buffer type, or None where the build has none."""
    libdir = Path(lc.__file__).parent / "lib"
    try:
        base = ctypes.CDLL(str(libdir / "libggml-base.so"))
        ggml = ctypes.CDLL(str(libdir / "libggml.so"))
    except OSError:
        return None
    ggml.ggml_backend_dev_by_type.restype = ctypes.c_void_p
    ggml.ggml_backend_dev_by_type.argtypes = [ctypes.c_int]
    base.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
    base.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
    base.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    base.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    base.ggml_backend_buft_name.restype = ctypes.c_char_p
    base.ggml_backend_buft_name.argtypes = [ctypes.c_void_p]
    dev = ggml.ggml_backend_dev_by_type(0)                     # GGML_BACKEND_DEVICE_TYPE_CPU
    if not dev:
        return None
    fn = base.ggml_backend_reg_get_proc_address(base.ggml_backend_dev_backend_reg(dev),
                                                b"ggml_backend_dev_get_extra_bufts")
    if not fn:
        return None
    bufts = ctypes.CFUNCTYPE(ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p)(fn)(dev)
    i = 0
    while bufts and bufts[i]:
        if base.ggml_backend_buft_name(bufts[i]) == b"CPU_REPACK":
            return int(bufts[i])
        i += 1
    return None


def wanted(lc: Any) -> bool:
    """Whether to put repackable weights in CPU_REPACK (the build has AVX2 and REPACK;
    ``$BATOS_LLM_REPACK`` is not ``0``)."""
    if os.environ.get("BATOS_LLM_REPACK", "").strip() == "0":
        return False
    try:
        info = lc.llama_print_system_info()
    except (AttributeError, TypeError):
        return False
    return b"AVX2 = 1" in info and b"REPACK = 1" in info


def overrides(lc: Any, path: str | Path) -> int | None:
    """The address of a NULL-terminated ``tensor_buft_overrides`` array putting the
    model's repackable weights in CPU_REPACK, or None (nothing to repack, or no such
    buffer). The array stays alive for the process."""
    if not wanted(lc):
        return None
    if str(path) in _keep:
        return ctypes.addressof(_keep[str(path)][0])
    try:
        names = repackable(path)
    except (OSError, ValueError):
        return None
    max_n = int(getattr(lc.llama_cpp, "llama_max_tensor_buft_overrides", lambda: 0)() or 0)
    if not names or (max_n and len(names) >= max_n):
        return None
    buft = _repack_buffer_type(lc)
    if buft is None:
        return None
    patterns = [("^" + name.replace(".", r"\.") + "$").encode() for name in names]
    arr = (_Override * (len(patterns) + 1))()
    for i, pattern in enumerate(patterns):
        arr[i].pattern, arr[i].buft = pattern, buft
    arr[len(patterns)].pattern, arr[len(patterns)].buft = None, None
    _keep[str(path)] = (arr, patterns)
    return ctypes.addressof(arr)
