"""Token sampling for the in-process llama.cpp backend: sampler chains and log-probabilities.

One sampler chain per sequence: greedy at temperature 0, otherwise top-k 40, top-p 0.95,
min-p (:data:`MIN_P` unless the caller asks for another), temperature and a seeded draw --
the same chain whether a sequence is generated alone
(:meth:`batos.llm.llamacpp.Engine.generate`) or with others (:mod:`batos.llm.parallel`),
so a sequence's tokens do not depend on its company.
"""
from __future__ import annotations

import math
from typing import Any

from batos.errors import BatosError

#: min-p of a sampled sequence unless the caller asks for another: tokens less likely than
#: this fraction of the likeliest one are never drawn
MIN_P = 0.05


def check_grammar(lc: Any, vocab: Any, grammar: str, known: dict[str, Any]) -> None:
    """Raise :class:`BatosError` unless ``grammar`` is GBNF with a ``root`` (memoised in
    ``known``)."""
    if grammar in known:
        return
    probe = lc.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not probe:
        raise BatosError("the GBNF grammar is invalid (it must define `root`)")
    lc.llama_sampler_free(probe)
    known[grammar] = True


def make_sampler(lc: Any, vocab: Any, temperature: float, seed: int,
                 grammar: str | None, min_p: float = MIN_P) -> Any:
    """A new sampler chain (free it with ``lc.llama_sampler_free``)."""
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    add = lambda s: lc.llama_sampler_chain_add(chain, s)  # noqa: E731
    if grammar:
        add(lc.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root"))
    if temperature <= 0.0:
        add(lc.llama_sampler_init_greedy())
    else:
        add(lc.llama_sampler_init_top_k(40))
        add(lc.llama_sampler_init_top_p(0.95, 1))
        add(lc.llama_sampler_init_min_p(float(min_p), 1))
        add(lc.llama_sampler_init_temp(float(temperature)))
        add(lc.llama_sampler_init_dist(int(seed) & 0xFFFFFFFF))
    return chain


def token_logprob(lc: Any, ctx: Any, index: int, token: int, n_vocab: int) -> float:
    """log p(``token``) under the model's own distribution (temperature 1, no
    truncation) at output ``index`` of the last decode."""
    import numpy as np
    logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, index), shape=(n_vocab,))
    top = float(logits.max())
    return float(logits[token]) - top - math.log(float(np.exp(logits - top).sum()))


def mean(values: list[float]) -> float:
    """The mean of ``values`` (0.0 for none: a completion of no tokens)."""
    return sum(values) / len(values) if values else 0.0
