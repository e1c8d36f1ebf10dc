"""The in-process llama.cpp backend (llama-cpp-python), with hot LoRA and a keyed prefix cache.

* The model loads lazily on the first generation and stays loaded for the
  process: one :class:`Engine` per (model path, n_ctx), in a module-level cache.
* LoRA adapters live in three tiers (issue 7.3): cold files, a warm LRU of loaded
  adapters, the hot set on the context (:mod:`batos.llm.adapters`).
* The prefix KV cache is keyed on the adapter set (paths, file identities and
  scales) and never shared across sets (cf. llama.cpp issue 26207): the context
  remembers its tokens and the key they were computed under; a request with the
  same key reuses the longest common token prefix, any other key starts over --
  from a saved per-key prefix state when one is kept (``$BATOS_PREFIX_STATES``,
  default 4), so alternating personas do not re-process their shared prompts.

* Candidates decoded together (:meth:`Engine.generate_many`, :mod:`batos.llm.parallel`)
  share the prompt's KV cells: the context holds up to :data:`MAX_SEQUENCES` sequences
  in one unified KV buffer of ``n_ctx`` cells.

``llama_cpp`` is imported only here (and by :mod:`batos.llm.llamaload`), and only when a
model is first needed.
"""
from __future__ import annotations

import atexit
import codecs
import ctypes
import contextlib
import os
import threading
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator, Sequence

from batos.errors import BatosError, Interrupted, ModelError
from batos.llm.adapters import AdapterKey, AdapterTiers
from batos.llm.llamaload import cores, import_llama_cpp
from batos.llm.llamaload import raise_pending_interrupt as _raise_pending_interrupt
from batos.llm.parallel import MAX_SEQUENCES
from batos.llm.protocol import (AdapterSpec, CallbackFailed, Completion, StopScanner,
                                TokenCallback, call_sink, check_cancel, normalize_adapters)
from batos.llm.sampling import MIN_P, check_grammar, make_sampler, mean, token_logprob
from batos.settings import setting

DEFAULT_N_CTX = 4096
MIN_SAVED_PREFIX = 8  # prefixes shorter than this are not worth saving
EVAL_SLICE = 64  # prompt tokens per llama.cpp call (no slower than one big batch on a CPU)



_llama_cpp = import_llama_cpp   # (the name tests' llama-server fixture imports)
_cores = cores


def open_llama(path: str, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(model_path=path, **kwargs)``, without ggml's AMX weight buffer
    where the build has it (it segfaults: see :mod:`batos.llm.llamaload`)."""
    from batos.llm.llamaload import open_llama as _open
    return _open(_llama_cpp(), path, **kwargs)


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Engine(AdapterTiers):
    """One loaded model, its context, its warm adapters and its prefix cache.

    All methods take the engine lock: a context serves one generation at a time.
    """

    def __init__(self, path: str, *, n_ctx: int = DEFAULT_N_CTX,
                 n_threads: int | None = None, n_batch: int = 512,
                 warm_size: int | None = None, saved_states: int | None = None) -> None:
        self.path = path
        self.n_ctx_requested = n_ctx
        self.n_threads = setting("threads", flag=n_threads or None) or _cores()
        self.n_batch = n_batch
        self.warm_size = setting("lora_warm", flag=warm_size)
        self.max_saved = max(0, setting("prefix_states", flag=saved_states))
        self.lock = threading.RLock()
        self.llm: Any = None
        self.sha256 = ""
        self.load_seconds = 0.0
        self._lc: Any = None
        self.lib_version = ""  # llama-cpp-python's version (keys the on-disk KV states)
        self.kv_layout = f"unified:{MAX_SEQUENCES}"  # the context's sequences (keys them too)
        self._vocab: Any = None
        self._warm: OrderedDict[str, Any] = OrderedDict()  # realpath -> adapter pointer
        self._warm_ident: dict[str, tuple[int, int]] = {}   # realpath -> (size, mtime_ns)
        self._hot: tuple[tuple[str, float], ...] = ()      # set on the context now
        self._ctx_key: AdapterKey | None = None            # key of the tokens in the KV
        self._saved: OrderedDict[AdapterKey, tuple[list[int], bytes]] = OrderedDict()
        self._grammars: dict[str, Any] = {}
        self._warm_cancel: threading.Event | None = None  # set while warm_prefix runs
        self.stats = {"adapter_loads": 0, "adapter_evictions": 0, "adapter_switches": 0,
                      "state_saves": 0, "state_restores": 0}

    # --- loading ---------------------------------------------------------------------------
    def ensure_loaded(self) -> Any:
        """Load the model (once); ModelError with a hint on failure."""
        with self.lock:
            if self.llm is not None:
                return self.llm
            from batos.llm.gguf_meta import read_header
            from batos.llm.models import check_model_file, sha256_file
            check_model_file(self.path)
            header = read_header(self.path, tensors=False)
            train_ctx = header.get(f"{header.arch}.context_length") or self.n_ctx_requested
            n_ctx = max(16, min(self.n_ctx_requested, int(train_ctx)))
            self.sha256 = sha256_file(self.path)
            lc = _llama_cpp()
            t0 = time.perf_counter()
            try:
                llm = open_llama(self.path, n_ctx=n_ctx, n_batch=min(self.n_batch, n_ctx),
                                 n_threads=self.n_threads, n_threads_batch=self.n_threads,
                                 n_seq_max=MAX_SEQUENCES, verbose=False)
            except (ValueError, RuntimeError, OSError) as e:
                raise ModelError(f"llama.cpp could not load the model {self.path}: {e}\n"
                                 "hint: the file may be corrupt or of an unsupported "
                                 "architecture; choose another with `batos model use PATH`"
                                 ) from None
            self.load_seconds = time.perf_counter() - t0
            _LOADED.add(self)
            _raise_pending_interrupt()
            self._lc, self.llm = lc, llm
            self.lib_version = str(getattr(lc, "__version__", "unknown"))
            self._vocab = lc.llama_model_get_vocab(llm.model)
            return llm

    @property
    def n_ctx(self) -> int:
        return int(self.ensure_loaded().n_ctx())

    def close(self) -> None:
        """Free adapters and the model (the engine can load again later)."""
        with self.lock:
            if self.llm is None:
                return
            self._set_hot(())
            for ptr in self._warm.values():
                self._lc.llama_adapter_lora_free(ptr)
            self._warm.clear()
            self._saved.clear()
            self._ctx_key = None
            self.llm.close()
            self.llm = None

    # --- tokens ----------------------------------------------------------------------------
    def tokenize(self, text: str, *, add_bos: bool = True, special: bool = True) -> list[int]:
        """Tokens of ``text``; special tokens such as ``<|im_start|>`` are parsed."""
        llm = self.ensure_loaded()
        return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))

    def piece(self, token: int) -> bytes:
        """The bytes of one token (specials rendered as nothing)."""
        buf = ctypes.create_string_buffer(64)
        n = self._lc.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lc.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
        return buf.raw[:n]

    # --- the keyed prefix cache ------------------------------------------------------------------
    def _eval(self, tokens: Sequence[int]) -> None:
        """Evaluate prompt tokens in slices of :data:`EVAL_SLICE`: Python runs its signal
        handlers between the C calls, so Ctrl-C stops a long prompt within a second
        instead of after it (on 2 cores ~1,000 tokens take ~20 s). The context then
        holds a valid prefix, which the next generation reuses."""
        llm = self.llm
        for i in range(0, len(tokens), EVAL_SLICE):
            check_cancel(self._warm_cancel)
            if _CLOSING.is_set():   # the interpreter exits: a background warm-up stops
                raise Interrupted("the model is being closed")
            llm.eval(list(tokens[i:i + EVAL_SLICE]))
            _raise_pending_interrupt()

    def _context_tokens(self) -> list[int]:
        return [int(t) for t in self.llm.input_ids[: self.llm.n_tokens]]

    def _truncate(self, n: int) -> None:
        llm = self.llm
        llm.n_tokens = n
        mem = self._lc.llama_get_memory(llm.ctx)
        if n == 0:
            self._lc.llama_memory_clear(mem, True)
        elif not self._lc.llama_memory_seq_rm(mem, 0, n, -1):
            self._lc.llama_memory_clear(mem, True)
            llm.n_tokens = 0

    def state_bytes(self) -> bytes | None:
        """The KV state of the context's sequence (None if llama.cpp gives none)."""
        lc, ctx = self._lc, self.llm.ctx
        size = lc.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = lc.llama_state_seq_get_data(ctx, buf, size, 0)
        return bytes(buf)[:n] if n > 0 else None

    def load_state(self, data: bytes, tokens: Sequence[int]) -> bool:
        """Replace the context with a saved state of exactly ``tokens``."""
        lc, llm = self._lc, self.llm
        self._truncate(0)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if lc.llama_state_seq_set_data(llm.ctx, buf, len(data), 0) != len(data):
            self._truncate(0)
            return False
        llm.input_ids[: len(tokens)] = list(tokens)
        llm.n_tokens = len(tokens)
        return True

    def _save_current(self) -> None:
        if self.max_saved <= 0 or self._ctx_key is None or self.llm.n_tokens < MIN_SAVED_PREFIX:
            return
        data = self.state_bytes()
        if data is None:
            return
        self._saved[self._ctx_key] = (self._context_tokens(), data)
        self._saved.move_to_end(self._ctx_key)
        while len(self._saved) > self.max_saved:
            self._saved.popitem(last=False)
        self.stats["state_saves"] += 1

    def _restore(self, key: AdapterKey, tokens: Sequence[int]) -> int:
        saved = self._saved.get(key)
        if saved is None:
            return 0
        saved_tokens, data = saved
        if _lcp(saved_tokens, tokens) < MIN_SAVED_PREFIX:
            return 0
        if not self.load_state(data, saved_tokens):
            del self._saved[key]
            return 0
        self._saved.move_to_end(key)
        self.stats["state_restores"] += 1
        return len(saved_tokens)

    def prepare(self, tokens: Sequence[int], key: AdapterKey) -> int:
        """Make the context hold a prefix of ``tokens`` computed under ``key``;
        returns its length (always < len(tokens): the last token is re-evaluated)."""
        if self._ctx_key != key:
            self._save_current()
            self._ctx_key = None
            self._truncate(0)
            self._restore(key, tokens)
            self._ctx_key = key
        reuse = min(_lcp(self._context_tokens(), tokens), len(tokens) - 1)
        self._truncate(max(reuse, 0))
        return self.llm.n_tokens

    def _disk_prefix(self, prefix: str | Sequence[str], tokens: Sequence[int],
                     key: AdapterKey, cached: int) -> tuple[int, int]:
        """Serve or store the fixed prefix(es)' states on disk (:func:`kvdisk.serve`):
        returns (where to resume evaluating, how many prompt tokens were reused)."""
        from batos.llm import kvdisk
        prefixes = [prefix] if isinstance(prefix, str) else list(prefix)
        bounds = [min(_lcp(self.tokenize(text), tokens), len(tokens) - 1) for text in prefixes]
        return kvdisk.serve(self, key, tokens, [n for n in bounds if n >= MIN_SAVED_PREFIX],
                            cached)

    def warm_prefix(self, prefix: str | Sequence[str], adapters: Sequence[AdapterSpec] = (),
                    *, cancel: threading.Event | None = None) -> int:
        """Evaluate the fixed prefix(es) under ``adapters`` and keep their states on disk
        (as a generation with ``prefix`` would), without generating; returns the tokens
        of the longest prefix now held by the context. ``cancel`` stops it between
        slices of :data:`EVAL_SLICE` tokens (:class:`Interrupted`)."""
        prefixes = [prefix] if isinstance(prefix, str) else list(prefix)
        if not prefixes:
            return 0
        with self.lock:
            check_cancel(cancel)
            self.ensure_loaded()
            key = self.apply(normalize_adapters(adapters))
            # the longest prefix plus one token stands in for a prompt that goes on
            tokens = self.tokenize(prefixes[-1])
            tokens = tokens + tokens[-1:]
            cached = self.prepare(tokens, key)
            self._warm_cancel = cancel
            try:
                pos, _ = self._disk_prefix(prefixes, tokens, key, cached)
            finally:
                self._warm_cancel = None
            self._truncate(pos)
            return pos

    def invalidate(self) -> None:
        """Forget the context contents and every saved prefix state."""
        with self.lock:
            self._saved.clear()
            self._ctx_key = None
            if self.llm is not None:
                self._truncate(0)

    def cache_info(self) -> dict[str, Any]:
        """What the prefix cache holds (for traces and tests)."""
        with self.lock:
            return {"context_tokens": 0 if self.llm is None else int(self.llm.n_tokens),
                    "context_key": self._ctx_key,
                    "saved": {k: len(t) for k, (t, _) in self._saved.items()},
                    **self.stats}

    # --- sampling ------------------------------------------------------------------------------
    def _check_grammar(self, grammar: str) -> None:
        check_grammar(self._lc, self._vocab, grammar, self._grammars)

    def _sampler(self, temperature: float, seed: int, grammar: str | None,
                 min_p: float = MIN_P) -> Any:
        return make_sampler(self._lc, self._vocab, temperature, seed, grammar, min_p)

    def logits(self, prompt: str, adapters: Sequence[AdapterSpec] = (), *,
               use_cache: bool = True) -> Any:
        """Next-token logits (a numpy array) after ``prompt`` under ``adapters``."""
        import numpy as np
        with self.lock:
            key = self.apply(adapters)
            tokens = self.tokenize(prompt)
            if use_cache:
                n = self.prepare(tokens, key)
            else:
                self._save_current()
                self._truncate(0)
                self._ctx_key, n = key, 0
            self._eval(tokens[n:])
            ptr = self._lc.llama_get_logits_ith(self.llm.ctx, -1)
            return np.ctypeslib.as_array(ptr, shape=(self.llm.n_vocab(),)).copy()

    # --- generation --------------------------------------------------------------------------------
    def begin(self, prompt: str, adapters: Sequence[AdapterSpec],
              grammar: str | None) -> tuple[tuple[AdapterSpec, ...], AdapterKey, list[int], int]:
        """The checks and cache lookup a generation starts with (under the lock):
        (adapter specs, their key, prompt tokens, tokens reused from the context)."""
        llm = self.ensure_loaded()
        specs = normalize_adapters(adapters)
        key = self.apply(specs)
        tokens = self.tokenize(prompt)
        if not tokens:
            raise BatosError("cannot generate from an empty prompt")
        n_ctx = int(llm.n_ctx())
        if len(tokens) >= n_ctx:
            raise BatosError(f"the prompt has {len(tokens)} tokens; the context holds "
                             f"{n_ctx}: shorten the prompt")
        if grammar:
            self._check_grammar(grammar)
        return specs, key, tokens, self.prepare(tokens, key)

    def eval_prompt(self, tokens: Sequence[int], key: AdapterKey, cached: int,
                    prefix: str | Sequence[str] | None) -> int:
        """Evaluate what the context lacks of ``tokens`` (serving ``prefix`` from disk);
        returns how many prompt tokens were reused."""
        start, cached = (self._disk_prefix(prefix, tokens, key, cached) if prefix
                         else (cached, cached))
        self._eval(tokens[start:])
        return cached

    def failed(self, e: Exception) -> Exception:
        """The error to raise for ``e`` out of a generation (``e`` itself if a
        BatosError); forgets the context, whose KV state is unknown now."""
        self._ctx_key = None
        self._truncate(0)
        if isinstance(e, BatosError):
            return e
        return ModelError(f"llama.cpp failed while generating: {e}")

    @contextlib.contextmanager
    def translated_errors(self) -> Iterator[None]:
        """Around a generation loop: an interrupt passes, ``on_token``'s own error comes
        out as itself, anything else as :meth:`failed` says."""
        try:
            yield
        except Interrupted:
            raise
        except CallbackFailed as failed:  # the caller's own error, context intact
            raise failed.__cause__ from None  # type: ignore[misc]
        except Exception as e:
            err = self.failed(e)
            if err is e:
                raise
            raise err from e

    def generate(self, prompt: str, *, max_tokens: int = 512, temperature: float = 0.0,
                 seed: int = 0, stop: Sequence[str] = (), grammar: str | None = None,
                 adapters: Sequence[AdapterSpec] = (), on_token: TokenCallback | None = None,
                 cancel: threading.Event | None = None,
                 prefix: str | Sequence[str] | None = None, purpose: str = "code",
                 min_p: float = MIN_P) -> Completion:
        """See :meth:`batos.llm.backend.Backend.generate`. ``prefix``: a fixed leading part
        of the prompt whose KV state is worth keeping on disk (:mod:`batos.llm.kvdisk`),
        or nested ones, shortest first. ``purpose`` is ignored."""
        t0 = time.perf_counter()
        check_cancel(cancel)
        with self.lock:
            llm = self.ensure_loaded()
            lc = self._lc
            specs, key, tokens, cached = self.begin(prompt, adapters, grammar)
            n_ctx, n_vocab = int(llm.n_ctx()), int(llm.n_vocab())
            sampler = self._sampler(temperature, seed, grammar, min_p)
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            scanner = StopScanner(stop)
            n_out, finish, t_prompt = 0, "length", 0.0
            logprobs: list[float] = []

            def emit(text: str) -> None:
                out = scanner.feed(text)
                if out and on_token is not None:
                    call_sink(on_token, out)
            try:
                with self.translated_errors():
                    cached = self.eval_prompt(tokens, key, cached, prefix)
                    t_prompt = time.perf_counter() - t0
                    while n_out < max_tokens:
                        check_cancel(cancel)
                        tok = lc.llama_sampler_sample(sampler, llm.ctx, -1)
                        if lc.llama_vocab_is_eog(self._vocab, tok):
                            finish = "stop"
                            break
                        n_out += 1
                        logprobs.append(token_logprob(lc, llm.ctx, -1, tok, n_vocab))
                        emit(decoder.decode(self.piece(tok)))
                        if scanner.stopped:
                            finish = "stop"
                            break
                        if n_out >= max_tokens or llm.n_tokens + 1 >= n_ctx:
                            break
                        llm.eval([tok])
                    if not scanner.stopped:
                        emit(decoder.decode(b"", final=True))
                        rest = scanner.flush()
                        if rest and on_token is not None:
                            call_sink(on_token, rest)
            finally:
                lc.llama_sampler_free(sampler)
            seconds = time.perf_counter() - t0
            return Completion(
                text=scanner.text, prompt_tokens=len(tokens), completion_tokens=n_out,
                seconds=seconds, prompt_seconds=t_prompt, model=self.path,
                model_sha256=self.sha256, adapters=specs, finish_reason=finish,
                prompt_tokens_cached=cached, backend="llama.cpp",
                extra={"adapter_key": key, "n_ctx": n_ctx, "threads": self.n_threads,
                       "mean_logprob": mean(logprobs), "sequence": 0})

    def generate_many(self, prompt: str, n: int, **kw: Any) -> list[Completion]:
        """Up to ``n`` completions decoded together (:func:`batos.llm.parallel.generate_many`)."""
        from batos.llm.parallel import generate_many
        return generate_many(self, prompt, n, **kw)


_LOADED: "weakref.WeakSet[Engine]" = weakref.WeakSet()


_CLOSING = threading.Event()


@atexit.register
def _close_loaded() -> None:
    """Free models before interpreter teardown (llama-cpp-python's finalizers fail late)."""
    _CLOSING.set()  # a background prefix warm-up stops at its next slice, freeing the lock
    for engine in list(_LOADED):
        try:
            engine.close()
        except Exception:
            pass


# --- the process-wide engine cache and the backend ------------------------------------------------

_ENGINES: dict[tuple[str, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(path: str | os.PathLike[str], *, n_ctx: int = DEFAULT_N_CTX) -> Engine:
    """The shared engine for ``path`` (created on first use, loaded on first generation)."""
    key = (os.path.realpath(path), n_ctx)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(key[0], n_ctx=n_ctx)
        return engine


def loaded_models() -> list[str]:
    """Paths of the models loaded in this process."""
    return [e.path for e in _ENGINES.values() if e.llm is not None]


class LlamaCppBackend:
    """The :class:`~batos.llm.backend.Backend` running llama.cpp in this process.

    ``shared=False`` gives the backend a private engine (its own context) instead
    of the process-wide one for the model -- for tests and benchmarks.
    """

    name = "llama.cpp"

    def __init__(self, model_path: str | os.PathLike[str], *, n_ctx: int = DEFAULT_N_CTX,
                 shared: bool = True, **engine_options: Any) -> None:
        self.model_path = str(Path(model_path))
        if shared and not engine_options:
            self.engine = get_engine(self.model_path, n_ctx=n_ctx)
        else:
            self.engine = Engine(os.path.realpath(self.model_path), n_ctx=n_ctx,
                                 **engine_options)
        self._chat: tuple[str | None, str, str] | None = None

    def generate(self, prompt: str, **kw: Any) -> Completion:
        """See :meth:`batos.llm.backend.Backend.generate`."""
        return self.engine.generate(prompt, **kw)

    def generate_many(self, prompt: str, n: int, **kw: Any) -> list[Completion]:
        """See :meth:`batos.llm.backend.Backend.generate_many`: one prompt evaluation, then
        the candidates decoded together, one ``llama_decode`` per step
        (:mod:`batos.llm.parallel`)."""
        return self.engine.generate_many(prompt, n, **kw)

    def format_chat(self, messages: Sequence[dict[str, str]], *,
                    add_generation_prompt: bool = True) -> str:
        """Render with the GGUF's ``tokenizer.chat_template`` (ChatML if it has none)."""
        from batos.llm.chat import render_chat
        from batos.llm.models import chat_template_of
        if self._chat is None:
            self._chat = chat_template_of(self.model_path)
        template, bos, eos = self._chat
        return render_chat(messages, template, bos_token=bos, eos_token=eos,
                           add_generation_prompt=add_generation_prompt)

    def model_identity(self) -> tuple[str, str]:
        """(model path, sha256) -- the hash is computed once and remembered."""
        if not self.engine.sha256:
            from batos.llm.models import sha256_file
            self.engine.sha256 = sha256_file(self.model_path)
        return self.model_path, self.engine.sha256

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` for this model (loads the model)."""
        return len(self.engine.tokenize(text))

    def logits(self, prompt: str, adapters: Sequence[AdapterSpec] = (), *,
               use_cache: bool = True) -> Any:
        """Next-token logits after ``prompt`` (numpy array)."""
        return self.engine.logits(prompt, adapters, use_cache=use_cache)

    def warm_prefix(self, prefix: str | Sequence[str], adapters: Sequence[AdapterSpec] = (),
                    *, cancel: threading.Event | None = None) -> int:
        """Compute and keep on disk the KV state of fixed prompt prefix(es) now."""
        return self.engine.warm_prefix(prefix, adapters, cancel=cancel)

    def preload(self, adapters: Sequence[AdapterSpec] = ()) -> None:
        """Load the model (and warm ``adapters``) now rather than on first use."""
        self.engine.ensure_loaded()
        for path, _ in normalize_adapters(adapters):
            self.engine.warm(path)

    @property
    def loaded(self) -> bool:
        return self.engine.llm is not None
