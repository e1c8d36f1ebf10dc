"""Candidates decoded together: one prompt, several sequences, one ``llama_decode`` per step.

The in-process backend's :meth:`~batos.llm.llamacpp.Engine.generate_many`. The prompt is
evaluated once, as :meth:`~batos.llm.llamacpp.Engine.generate` does (prefix cache, KV
states on disk, hot adapters), into sequence 0; ``llama_memory_seq_cp`` then gives its
cells to sequences 1..n-1 as well (the context's KV buffer is unified, so the cells are
shared, not copied). Each step decodes one batch holding the next token of every live
sequence, each at its own position with its own ``seq_id``, and samples each sequence
with its own sampler chain (seed ``seed + i``): sequence i gets exactly the tokens it
would get alone. Sequences whose tokens so far are the same are one *branch*: their next
token is decoded once, as one batch entry tagged with all their ``seq_id``s (the cells
are shared, as the prompt's are), and each samples from that entry's logits; a branch
splits when its sequences sample different tokens. Candidates of code agree for long
stretches, so a step costs what its distinct branches cost, not what its sequences do.
Stop strings, ``max_tokens``, end of generation and the context end each sequence
separately; ``cancel`` ends them all.
A step of three branches is padded to four with a throwaway entry (a spare ``seq_id``,
its cell removed after the decode): llama.cpp's repacked CPU kernels multiply four
columns at once and take the rest one by one, so four entries cost less than three
(on the default model, 2 cores: 89 against 99 ms a step). That kernel sums in another
order, so the padded step's logits differ in their last bits from a one-by-one step's, and
a sampled sequence can part from its lone run at a near-tie (on the default model: one
of three sampled-apart sequences, after 200 characters); with ``PAD_TO_FOUR`` off all
three were their lone runs exactly. The tiny test model is not repacked, so its tests
cannot see this.
Afterwards sequences 1..n-1 are removed and sequence 0 is left as a lone generation
leaves it, so the prefix cache stays valid.
"""
from __future__ import annotations

import codecs
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from batos.llm.protocol import (AdapterSpec, Completion, StopScanner, TokenCallback,
                                call_sink, check_cancel, temperatures)
from batos.llm.sampling import MIN_P, mean, token_logprob

#: Sequences one context can decode together; they share one unified KV buffer of
#: ``n_ctx`` cells (the in-process engine loads its context with this many).
MAX_SEQUENCES = 8
#: pad a step of 3 (7, …) branches to a multiple of four (see the module doc)
PAD_TO_FOUR = True


@dataclass
class _Seq:
    """One sequence being decoded."""

    index: int
    sampler: Any
    stops: Sequence[str]
    scanner: StopScanner = field(init=False)
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")("replace"))
    fed: list[int] = field(default_factory=list)       # tokens decoded into its KV cells
    logprobs: list[float] = field(default_factory=list)
    token: int = -1                                      # sampled, not yet decoded
    row: int = -1                                        # its logits row in the last decode
    branch: tuple[int, int] = (0, 0)                     # same branch = same tokens so far
    finish: str = "length"
    done_at: float = 0.0
    live: bool = True

    def __post_init__(self) -> None:
        self.scanner = StopScanner(self.stops)


def generate_many(engine: Any, prompt: str, n: int, *, max_tokens: int = 512,
                  temperature: float | Sequence[float] = 0.0, seed: int = 0,
                  stop: Sequence[str] = (), grammar: str | None = None,
                  adapters: Sequence[AdapterSpec] = (), on_token: TokenCallback | None = None,
                  cancel: threading.Event | None = None,
                  prefix: str | Sequence[str] | None = None,
                  purpose: str = "code", min_p: float = MIN_P) -> list[Completion]:
    """Up to ``n`` completions of ``prompt`` decoded together (see the module doc);
    sequence i samples at ``temperature[i]`` with seed ``seed + i``; ``on_token``
    streams sequence 0. At most :data:`MAX_SEQUENCES` are made."""
    temps = temperatures(temperature, n)
    n = min(n, MAX_SEQUENCES)
    if n == 1:
        return [engine.generate(prompt, max_tokens=max_tokens, temperature=temps[0],
                                seed=seed, stop=stop, grammar=grammar, adapters=adapters,
                                on_token=on_token, cancel=cancel, prefix=prefix,
                                min_p=min_p)]
    t0 = time.perf_counter()
    check_cancel(cancel)
    with engine.lock:
        llm = engine.ensure_loaded()
        lc = engine._lc
        specs, key, tokens, cached = engine.begin(prompt, adapters, grammar)
        n_ctx = int(llm.n_ctx())
        seq_max = int(lc.llama_n_seq_max(llm.ctx))
        n = min(n, seq_max)
        seqs = [_Seq(i, engine._sampler(temps[i], seed + i, grammar, min_p), stop)
                for i in range(n)]
        spare = n if PAD_TO_FOUR and n < seq_max else None
        batch = lc.llama_batch_init(n + 1, 0, n)
        t_prompt, steps, cells, padded = 0.0, 0, 0, 0
        try:
            with engine.translated_errors():
                cached = engine.eval_prompt(tokens, key, cached, prefix)
                t_prompt = time.perf_counter() - t0
                mem = lc.llama_get_memory(llm.ctx)
                for s in seqs[1:]:
                    lc.llama_memory_seq_cp(mem, 0, s.index, -1, -1)
                if max_tokens < 1:
                    for s in seqs:
                        _finish(s, "length", on_token, t0)
                else:
                    _sample(engine, seqs)
                while any(s.live for s in seqs):
                    check_cancel(cancel)
                    for s in seqs:
                        if s.live:
                            _take(engine, s, max_tokens, len(tokens), n_ctx, on_token, t0)
                    live = [s for s in seqs if s.live]
                    if not live:
                        break
                    branches = _branches(live)
                    if len(tokens) + cells + len(branches) + 1 > n_ctx:  # the KV buffer is full
                        for s in live:
                            _finish(s, "length", on_token, t0)
                        break
                    padded += _decode(lc, llm.ctx, batch, branches, len(tokens), spare)
                    steps, cells = steps + 1, cells + len(branches)
                    _sample(engine, live)
        finally:
            lc.llama_batch_free(batch)
            for s in seqs:
                lc.llama_sampler_free(s.sampler)
            _leave_sequence_zero(engine, seqs, len(tokens))
        return [Completion(
            text=s.scanner.text, prompt_tokens=len(tokens), completion_tokens=len(s.logprobs),
            seconds=s.done_at, prompt_seconds=t_prompt, model=engine.path,
            model_sha256=engine.sha256, adapters=specs, finish_reason=s.finish,
            prompt_tokens_cached=cached, backend="llama.cpp",
            extra={"adapter_key": key, "n_ctx": n_ctx, "threads": engine.n_threads,
                   "mean_logprob": mean(s.logprobs), "sequence": s.index, "sequences": n,
                   "decode_calls": steps, "decoded_cells": cells, "padded_steps": padded})
            for s in seqs]


def _sample(engine: Any, seqs: Sequence[_Seq]) -> None:
    """Sample each sequence's next token from its row of the last decode's logits (the
    sequences of one branch share a row: a token's log-probability there is computed
    once)."""
    lc, ctx = engine._lc, engine.llm.ctx
    seen: dict[tuple[int, int], float] = {}
    for s in seqs:
        s.token = int(lc.llama_sampler_sample(s.sampler, ctx, s.row))
        if not lc.llama_vocab_is_eog(engine._vocab, s.token):
            key = (s.row, s.token)
            if key not in seen:
                seen[key] = token_logprob(lc, ctx, s.row, s.token, int(engine.llm.n_vocab()))
            s.logprobs.append(seen[key])


def _branches(live: Sequence[_Seq]) -> list[list[_Seq]]:
    """The live sequences grouped by branch and the token each just sampled: the members
    of a group have the same KV cells so far and decode the same next token."""
    groups: dict[tuple[tuple[int, int], int], list[_Seq]] = {}
    for s in live:
        groups.setdefault((s.branch, s.token), []).append(s)
    return list(groups.values())


def _take(engine: Any, s: _Seq, max_tokens: int, n_prompt: int, n_ctx: int,
          on_token: TokenCallback | None, t0: float) -> None:
    """Add the sequence's sampled token to its text, or end it (as a lone generation
    would: end of generation, a stop string, ``max_tokens``, the context's end)."""
    if engine._lc.llama_vocab_is_eog(engine._vocab, s.token):
        _finish(s, "stop", on_token, t0)
        return
    out = s.scanner.feed(s.decoder.decode(engine.piece(s.token)))
    if out and on_token is not None and s.index == 0:
        call_sink(on_token, out)
    if s.scanner.stopped:
        _finish(s, "stop", on_token, t0)
    elif len(s.logprobs) >= max_tokens or n_prompt + len(s.fed) + 1 >= n_ctx:
        _finish(s, "length", on_token, t0)


def _finish(s: _Seq, reason: str, on_token: TokenCallback | None, t0: float) -> None:
    """End the sequence: emit what its decoder and stop scanner still hold."""
    s.live, s.finish, s.done_at = False, reason, time.perf_counter() - t0
    if s.scanner.stopped:
        return
    for out in (s.scanner.feed(s.decoder.decode(b"", final=True)), s.scanner.flush()):
        if out and on_token is not None and s.index == 0:
            call_sink(on_token, out)


def _decode(lc: Any, ctx: Any, batch: Any, branches: Sequence[Sequence[_Seq]],
            n_prompt: int, spare: int | None = None) -> bool:
    """One ``llama_decode`` of every branch's next token, each entry tagged with the
    ``seq_id`` of every sequence in the branch; three entries get a fourth, throwaway
    one on the ``spare`` sequence (removed again after). Answers whether it did."""
    for j, members in enumerate(branches):
        first = members[0]
        batch.token[j] = first.token
        batch.pos[j] = n_prompt + len(first.fed)
        batch.n_seq_id[j] = len(members)
        for k, s in enumerate(members):
            batch.seq_id[j][k] = s.index
        batch.logits[j] = 1
    n = len(branches)
    pad = spare is not None and n % 4 == 3
    if pad:
        batch.token[n], batch.pos[n], batch.n_seq_id[n], batch.logits[n] = \
            branches[0][0].token, 0, 1, 0
        batch.seq_id[n][0] = spare
    batch.n_tokens = n + pad
    rc = lc.llama_decode(ctx, batch)
    if pad:
        lc.llama_memory_seq_rm(lc.llama_get_memory(ctx), spare, -1, -1)
    if rc != 0:
        raise RuntimeError(f"llama_decode returned {rc}")
    for j, members in enumerate(branches):
        for s in members:
            s.fed.append(s.token)
            s.row, s.branch = j, (len(s.fed), j)
    return pad


def _leave_sequence_zero(engine: Any, seqs: Sequence[_Seq], n_prompt: int) -> None:
    """Remove sequences 1..n-1 from the KV buffer; the context then holds the prompt and
    what sequence 0 decoded, as after a lone generation."""
    llm, lc = engine.llm, engine._lc
    if llm is None:
        return
    mem = lc.llama_get_memory(llm.ctx)
    for s in seqs[1:]:
        lc.llama_memory_seq_rm(mem, s.index, -1, -1)
    if llm.n_tokens < n_prompt:  # a failed generation already forgot the context
        return
    # (llama-cpp-python's token record can be shorter than llama.cpp's padded context)
    fed = seqs[0].fed[:max(0, len(llm.input_ids) - n_prompt)]
    llm.input_ids[n_prompt:n_prompt + len(fed)] = fed
    engine._truncate(n_prompt + len(fed))
