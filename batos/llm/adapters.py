"""The in-process backend's LoRA adapter tiers (issue 7.3): warm adapters and the hot set.

*Cold* adapters are files (or image blobs written out by their owner). *Warm* adapters
are loaded with ``llama_adapter_lora_init`` into an LRU bounded by ``$BATOS_LORA_WARM``
(default 4); evicted ones are freed. *Hot* adapters are set on the context for each
generation with ``llama_set_adapters_lora`` -- no model reload, no files. The set's
:data:`AdapterKey` (real paths, file identities, scales) keys the prefix cache.

:class:`AdapterTiers` is a part of :class:`batos.llm.llamacpp.Engine`, which owns the
attributes it uses (``lock``, ``_lc``, ``llm``, ``path``, ``_warm``, ``_warm_ident``,
``_hot``, ``warm_size``, ``stats``).
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, Sequence

from batos.errors import BatosError, ModelError
from batos.llm.protocol import AdapterSpec, normalize_adapters

AdapterKey = tuple[tuple[str, int, int, float], ...]


class AdapterTiers:
    """Warm LRU and hot set of LoRA adapters (mixed into the engine)."""

    lock: Any
    llm: Any
    path: str
    warm_size: int
    stats: dict[str, int]
    _lc: Any
    _warm: Any
    _warm_ident: dict[str, tuple[int, int]]
    _hot: tuple[tuple[str, float], ...]
    ensure_loaded: Callable[[], Any]

    def warm(self, path: str, keep: Sequence[str] = ()) -> Any:
        """The loaded adapter for ``path`` (loading it, and evicting the least recently
        used one beyond the LRU bound -- never one in ``keep`` or set on the context)."""
        with self.lock:
            llm = self.ensure_loaded()
            real = os.path.realpath(path)
            ident = _file_identity(real)
            ptr = self._warm.get(real)
            if ptr is not None:
                if self._warm_ident.get(real) == ident:
                    self._warm.move_to_end(real)
                    return ptr
                # the file changed on disk: drop the stale copy, load the new one
                if any(p == real for p, _ in self._hot):
                    self._set_hot(())
                self._lc.llama_adapter_lora_free(self._warm.pop(real))
            self._check_adapter(real)
            ptr = self._lc.llama_adapter_lora_init(llm.model, real.encode("utf-8"))
            if not ptr:
                raise ModelError(f"llama.cpp could not load the LoRA adapter {path}\n"
                                 "hint: it must be a GGUF LoRA made for this base model "
                                 f"({os.path.basename(self.path)})")
            self.stats["adapter_loads"] += 1
            self._warm[real] = ptr
            self._warm_ident[real] = ident
            self._evict(keep=(real, *keep))
            return ptr

    def _evict(self, keep: Sequence[str] = ()) -> None:
        hot = {p for p, _ in self._hot} | set(keep)
        for real in list(self._warm):
            if len(self._warm) <= self.warm_size:
                break
            if real in hot:
                continue
            self._lc.llama_adapter_lora_free(self._warm.pop(real))
            self.stats["adapter_evictions"] += 1

    def _check_adapter(self, real: str) -> None:
        from batos.llm.gguf_meta import read_header
        h = read_header(real, tensors=False)
        if h.get("general.type") != "adapter" or h.get("adapter.type") != "lora":
            raise ModelError(f"{real} is not a LoRA adapter GGUF (general.type="
                             f"{h.get('general.type')!r}, adapter.type={h.get('adapter.type')!r})")
        model_arch = read_header(self.path, tensors=False).arch
        if h.arch != model_arch:
            raise ModelError(f"the LoRA adapter {real} is for {h.arch!r} models, but the "
                             f"model is {model_arch!r}\nhint: use an adapter trained on "
                             f"{os.path.basename(self.path)}")

    def warm_adapters(self) -> list[str]:
        """Paths of the warm adapters, least recently used first."""
        return list(self._warm)

    def _set_hot(self, adapters: tuple[tuple[str, float], ...]) -> None:
        """Set exactly ``adapters`` (real paths, scales) on the context."""
        if adapters == self._hot:
            return
        lc = self._lc
        n = len(adapters)
        if n:
            ptrs = (lc.llama_adapter_lora_p_ctypes * n)(*[self._warm[p] for p, _ in adapters])
            scales = (ctypes.c_float * n)(*[s for _, s in adapters])
            rc = lc.llama_set_adapters_lora(self.llm.ctx, ptrs, n, scales)
        else:
            rc = lc.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        if rc != 0:
            raise ModelError(f"llama.cpp could not set the LoRA adapters (error {rc})")
        self._hot = adapters
        self.stats["adapter_switches"] += 1

    def apply(self, adapters: Sequence[AdapterSpec]) -> AdapterKey:
        """Hot-apply ``adapters`` (warming them as needed); returns their cache key."""
        with self.lock:
            self.ensure_loaded()
            specs = normalize_adapters(adapters)
            real = tuple((os.path.realpath(p), s) for p, s in specs)
            if len({p for p, _ in real}) != len(real):
                raise BatosError("the same adapter appears twice in one adapter set")
            for p, _ in real:
                self.warm(p, keep=[q for q, _ in real])
            self._set_hot(real)
            self._evict(keep=[p for p, _ in real])
            return tuple((p, *_file_identity(p), s) for p, s in real)


def _file_identity(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError as e:
        raise ModelError(f"cannot read the LoRA adapter {path}: {e.strerror}") from None
    return st.st_size, st.st_mtime_ns
