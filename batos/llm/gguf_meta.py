"""A small, fast, stdlib-only reader of GGUF headers (metadata and tensor infos).

Reading the header of a 1 GB model takes milliseconds: large arrays (the
vocabulary) are skipped unless asked for. Anything that is not a well-formed
GGUF raises :class:`batos.errors.ModelError` with a hint.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable

from batos.errors import ModelError

GGUF_MAGIC = b"GGUF"

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

#: llama_ftype values -> the usual quantization names.
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
              10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S",
              15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS",
              20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S",
              25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
              30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0"}


@dataclass
class TensorInfo:
    """One tensor as the header describes it (dims in GGUF order: ne[0] first)."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


@dataclass
class GGUFHeader:
    """Metadata key/values and tensor infos of a GGUF file."""

    path: str
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    array_lengths: dict[str, int] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def arch(self) -> str:
        return str(self.metadata.get("general.architecture", ""))


def read_header(path: str | os.PathLike[str], *, tensors: bool = True,
                keep_arrays: Iterable[str] = ()) -> GGUFHeader:
    """Parse the header of the GGUF file at ``path``.

    Arrays are skipped (only their length is kept in ``array_lengths``) unless
    their key is in ``keep_arrays``. Raises ModelError when the file is missing,
    unreadable or not GGUF.
    """
    path = os.fspath(path)
    keep = set(keep_arrays)
    try:
        with open(path, "rb") as f:
            return _parse(f, path, tensors, keep)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}\n"
                         "hint: check the path, or pick another with `batos model use PATH`"
                         ) from None
    except IsADirectoryError:
        raise ModelError(f"{path} is a directory, not a GGUF model file") from None
    except PermissionError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror}") from None
    except (struct.error, UnicodeDecodeError, OverflowError, MemoryError, ValueError) as e:
        raise ModelError(f"{path} is a corrupt or truncated GGUF file ({e})\n"
                         "hint: download it again, or pick another with `batos model use PATH`"
                         ) from None


def is_gguf(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the GGUF magic."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _parse(f: BinaryIO, path: str, want_tensors: bool, keep: set[str]) -> GGUFHeader:
    magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file (it starts with {magic!r})\n"
                         "hint: batos needs a llama.cpp GGUF model; convert it or choose "
                         "another with `batos model use PATH`")
    size = os.fstat(f.fileno()).st_size
    (version,) = struct.unpack("<I", _read(f, 4))
    if version < 2:
        raise ModelError(f"{path} is GGUF version {version}, too old for llama.cpp")
    n_tensors, n_kv = struct.unpack("<QQ", _read(f, 16))
    if n_kv > 1_000_000 or n_tensors > 10_000_000:
        raise ValueError("implausible header counts")
    header = GGUFHeader(path=path, version=version)
    for _ in range(n_kv):
        key = _string(f, size)
        (vtype,) = struct.unpack("<I", _read(f, 4))
        if vtype == _ARRAY:
            etype, count = struct.unpack("<IQ", _read(f, 12))
            header.array_lengths[key] = count
            if key in keep:
                header.metadata[key] = [_value(f, etype, size) for _ in range(count)]
            else:
                _skip_array(f, etype, count, size)
        else:
            header.metadata[key] = _value(f, vtype, size)
    if want_tensors:
        for _ in range(n_tensors):
            name = _string(f, size)
            (n_dims,) = struct.unpack("<I", _read(f, 4))
            if n_dims > 8:
                raise ValueError(f"tensor {name!r} has {n_dims} dims")
            dims = struct.unpack(f"<{n_dims}Q", _read(f, 8 * n_dims))
            ggml_type, _offset = struct.unpack("<IQ", _read(f, 12))
            header.tensors.append(TensorInfo(name, tuple(dims), ggml_type))
    return header


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError("unexpected end of file")
    return data


def _string(f: BinaryIO, size: int) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8))
    if n > size:
        raise ValueError("string length past end of file")
    return _read(f, n).decode("utf-8")


def _value(f: BinaryIO, vtype: int, size: int) -> Any:
    if vtype == _STRING:
        return _string(f, size)
    fmt = _SCALARS.get(vtype)
    if fmt is None:
        raise ValueError(f"unknown GGUF value type {vtype}")
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _skip_array(f: BinaryIO, etype: int, count: int, size: int) -> None:
    if etype == _STRING:
        for _ in range(count):
            (n,) = struct.unpack("<Q", _read(f, 8))
            if n > size:
                raise ValueError("string length past end of file")
            f.seek(n, os.SEEK_CUR)
    elif etype in _SCALARS:
        nbytes = struct.calcsize(_SCALARS[etype]) * count
        if nbytes > size:
            raise ValueError("array past end of file")
        f.seek(nbytes, os.SEEK_CUR)
    else:
        raise ValueError(f"unsupported GGUF array element type {etype}")
