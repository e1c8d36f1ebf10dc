"""Model-layer speed, printed as ratios against the issues' anchors.

    python bench/bench_llm.py                 # tiny random model, then the default model
    python bench/bench_llm.py --tiny-only     # skip the 1.1 GB default model
    python bench/bench_llm.py --model PATH    # a model of your own instead of the default

For each model:

* persona/adapter switch: hot ``llama_set_adapters_lora`` set/clear per switch (raw
  call, through the engine, and the extra cost it adds to the next decode) against
  a model reload (goal <= 1 ms per switch; anchor: ~15 us vs a reload in seconds);
* proof that output with adapter A after B equals a fresh context with A;
* prefix KV cache: prompt time of a second prompt sharing the fixed system prefix
  against the first (goal <= 0.5x), and after a persona round trip A -> B -> A;
* generation speed of the backend against a raw ``llama_cpp.Llama.create_completion``
  of the same prompt (tokens/s ratio, goal ~1.0x);
* Tree-of-Thought candidates (issue 14.3): tokens/s of one sequence alone against three
  decoded together (``generate_many``: one prompt, shared KV cells, one decode per step),
  and the wall-time ratio k=3 / k=1 (goal <= 1.5x).

    python bench/bench_llm.py --candidates-only --skip-tiny   # just that, default model

The adapter used on the default model is a random rank-8 LoRA written here with the
dims read from the model (only latency is measured, not its effect).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batos.llm.llamacpp import Engine, LlamaCppBackend  # noqa: E402
from batos.llm.models import default_model_path, default_model_ready  # noqa: E402
from tests.fixtures_llm import write_random_lora, write_tiny_model  # noqa: E402

SYSTEM = (
    "You are BRICK, the technical persona of a live object image. When a prototype does not "
    "understand a message you write the missing method in Python.\n"
    "Covenant:\n- exactly one `def`, with `self` first;\n- state lives only in slots: read "
    "them as attributes, write them with `self.name = value`;\n- after mutating a list or "
    "dict in a slot, set `self._p_changed = True`;\n- return the answer, never print it;\n"
    "- no imports, no file or network access, no eval/exec.\n"
    "Example 1. Receiver slots: count = 3. Message: increment.\n```python\ndef increment(self):"
    "\n    self.count += 1\n    self._p_changed = True\n    return self.count\n```\n"
    "Example 2. Receiver slots: items = [1, 2]. Message: sum.\n```python\ndef sum(self):\n"
    "    return sum(self.items)\n```\n"
    "Reply with the method only, in one ```python block."
)
INTENTS = ["Receiver slots: items = [3, 1, 2]. Message: sorted_items. Return the items sorted.",
           "Receiver slots: name = 'Ada'. Message: greeting. Return 'Hello, Ada!'.",
           "Receiver slots: count = 0. Message: reset. Set count to 0 and return self.",
           "Receiver slots: items = [1, 2, 3]. Message: average. Return the mean of the items."]
LONG_ASK = ("Write a Python class Stack with the methods push, pop, peek, size, is_empty and "
            "clear, each with a docstring and type hints.")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def row(label: str, value: str, ratio: str = "", note: str = "") -> None:
    print(f"  {label:<44} {value:>14}  {ratio:>10}  {note}")


def bench_switch(model: Path, lora: Path, n_switch: int, n_reload: int) -> None:
    reloads = []
    for _ in range(n_reload):
        e = Engine(str(model))
        reloads.append(timed(e.ensure_loaded))
        e.close()
    t_reload = statistics.median(reloads)
    engine = Engine(str(model), saved_states=0)
    engine.ensure_loaded()
    lc, llm = engine._lc, engine.llm
    engine.apply([(str(lora), 1.0)])
    engine.apply([])
    ptr = engine.warm(str(lora))
    arr = (lc.llama_adapter_lora_p_ctypes * 1)(ptr)
    scale = (ctypes.c_float * 1)(1.0)
    t0 = time.perf_counter()
    for _ in range(n_switch):
        lc.llama_set_adapters_lora(llm.ctx, arr, 1, scale)
        lc.llama_set_adapters_lora(llm.ctx, None, 0, None)
    t_raw = (time.perf_counter() - t0) / (2 * n_switch)
    engine._hot = ()
    specs = [(str(lora), 1.0)]
    t0 = time.perf_counter()
    for _ in range(n_switch):
        engine.apply(specs)
        engine.apply(())
    t_engine = (time.perf_counter() - t0) / (2 * n_switch)
    # the cost a switch adds to the next decode (graph rebuild, LoRA matmuls), measured
    # interleaved: a cycle none, none, lora, lora puts half the decodes right after a switch
    base = engine.tokenize(SYSTEM)[:32]
    llm.eval(base)
    after_switch: list[float] = []
    steady: list[float] = []
    with_lora: list[float] = []
    for i in range(4 * max(8, n_switch // 100)):
        lora_on = (i // 2) % 2 == 1
        switched = i % 2 == 0
        engine.apply(specs if lora_on else ())
        engine._truncate(len(base))
        t = timed(lambda: llm.eval([base[-1]]))
        if i >= 4:  # the first cycle warms up
            (after_switch if switched else steady).append(t)
            if lora_on and not switched:
                with_lora.append(t)
    t_steady = min(steady)
    t_lora = min(with_lora)
    t_switch = statistics.median(after_switch)
    t_extra = t_switch - statistics.median(steady)
    engine.close()
    print(f"persona/adapter switch ({model.name}; reload median of {n_reload})")
    row("model reload (Llama load)", f"{t_reload * 1e3:.1f} ms", "1.0x", "anchor (default ~3.4 s)")
    row("hot switch, raw llama_set_adapters_lora", f"{t_raw * 1e6:.1f} us",
        f"{t_raw / t_reload:.1e}x", f"goal <= 1 ms: {'ok' if t_raw < 1e-3 else 'MISSED'}")
    row("hot switch through Engine.apply", f"{t_engine * 1e6:.1f} us",
        f"{t_engine / t_reload:.1e}x", f"goal <= 1 ms: {'ok' if t_engine < 1e-3 else 'MISSED'}")
    row("1-token decode, no switch (best)", f"{t_steady * 1e3:.2f} ms")
    row("1-token decode, LoRA on, no switch (best)", f"{t_lora * 1e3:.2f} ms",
        f"{t_lora / t_steady:.2f}x")
    row("=> extra decode cost after a switch", f"{t_extra * 1e3:.2f} ms",
        f"{t_extra / t_reload:.1e}x", "median; graph rebuild when the adapter set changes")


def bench_prefix(model: Path, lora: Path, rounds: int) -> None:
    be = LlamaCppBackend(model, shared=False)
    prompts = [be.format_chat([{"role": "system", "content": SYSTEM},
                               {"role": "user", "content": i}]) for i in INTENTS]
    be.preload([(str(lora), 1.0)])
    be.generate(prompts[0], max_tokens=1)  # page the weights in
    runs: list[tuple[Any, ...]] = []
    for _ in range(rounds):
        be.engine.invalidate()
        first = be.generate(prompts[0], max_tokens=1)
        second = be.generate(prompts[1], max_tokens=1)
        other = be.generate(prompts[2], max_tokens=1, adapters=[(str(lora), 1.0)])
        back = be.generate(prompts[3], max_tokens=1)
        runs.append((first, second, other, back))
    be.engine.close()

    def med(i: int) -> float:  # best of the rounds: other load only ever slows things
        return min(r[i].prompt_seconds for r in runs)
    first, second, other, back = runs[-1]
    t1 = med(0)
    print(f"prefix KV cache ({model.name}; system prefix + intent, {first.prompt_tokens} "
          f"prompt tokens; best of {rounds})")
    row("first prompt (cold)", f"{t1 * 1e3:.1f} ms", "1.0x",
        f"{first.prompt_tokens_processed} tokens processed")
    row("second prompt, same prefix", f"{med(1) * 1e3:.1f} ms", f"{med(1) / t1:.2f}x",
        f"goal <= 0.5x: {'ok' if med(1) <= 0.5 * t1 else 'MISSED'}; "
        f"{second.prompt_tokens_processed} processed, {second.prompt_tokens_cached} reused")
    row("other adapter set (never shares the cache)", f"{med(2) * 1e3:.1f} ms",
        f"{med(2) / t1:.2f}x", f"{other.prompt_tokens_cached} reused")
    row("back to the first set (saved state)", f"{med(3) * 1e3:.1f} ms", f"{med(3) / t1:.2f}x",
        f"{back.prompt_tokens_cached} reused")


def bench_speed(model: Path, max_tokens: int, rounds: int) -> None:
    from batos.llm.llamacpp import open_llama
    be = LlamaCppBackend(model, shared=False)
    prompt = be.format_chat([{"role": "user", "content": LONG_ASK}])
    be.generate(prompt, max_tokens=4)
    raw_llm = open_llama(str(model), n_ctx=be.engine.n_ctx,  # as ours: no AMX buffer
                         n_threads=be.engine.n_threads,
                         n_threads_batch=be.engine.n_threads, verbose=False)
    ours, raws, n_tok = [], [], 0
    for _ in range(rounds):  # interleaved, so load from elsewhere hits both alike
        be.engine.invalidate()
        done = be.generate(prompt, max_tokens=max_tokens)
        ours.append((done.completion_tokens - 1) / (done.seconds - done.prompt_seconds))
        raw_llm.reset()
        t_first, n = 0.0, 0
        for _chunk in raw_llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0,
                                                stream=True):
            n += 1
            if n == 1:
                t_first = time.perf_counter()
        raws.append((n - 1) / (time.perf_counter() - t_first))
        n_tok = done.completion_tokens
    raw_llm.close()
    be.engine.close()
    t_ours, t_raw = max(ours), max(raws)
    print(f"generation speed ({model.name}; greedy, {n_tok} tokens; best of {rounds} "
          "interleaved)")
    row("raw Llama.create_completion", f"{t_raw:.1f} tok/s", "1.0x", "anchor")
    row("batos llama.cpp backend", f"{t_ours:.1f} tok/s", f"{t_ours / t_raw:.2f}x",
        "goal ~1.0x")


def bench_candidates(model: Path, max_tokens: int, rounds: int) -> None:
    """One sequence (``generate``) against three decoded together (``generate_many``), on
    the same prompt, the prompt's KV cached for both (only the last token is evaluated)."""
    be = LlamaCppBackend(model, shared=False)
    prompt = be.format_chat([{"role": "user", "content": LONG_ASK}])
    be.generate(prompt, max_tokens=4)
    ones, threes = [], []
    for r in range(rounds):  # interleaved, so load from elsewhere hits both alike
        ones.append(be.generate(prompt, max_tokens=max_tokens))
        threes.append(be.generate_many(prompt, 3, max_tokens=max_tokens,
                                       temperature=[0.0, 0.7, 0.7], seed=r))
        print(f"  (round {r + 1}: k=1 {ones[-1].seconds:.2f} s, k=3 "
              f"{max(c.seconds for c in threes[-1]):.2f} s)", flush=True)
    be.engine.close()

    def decode_s(c: Any) -> float:
        return c.seconds - c.prompt_seconds
    one = min(ones, key=decode_s)
    three = min(threes, key=lambda cs: max(decode_s(c) for c in cs))
    t1, t3 = decode_s(one), max(decode_s(c) for c in three)
    tokens3 = [c.completion_tokens for c in three]
    w1, w3 = one.seconds, max(c.seconds for c in three)
    print(f"ToT candidates decoded together ({model.name}; {max_tokens} tokens, prompt "
          f"{one.prompt_tokens} tokens cached; best of {rounds} interleaved)")
    row("k=1: one sequence", f"{one.completion_tokens / t1:.1f} tok/s", "1.0x",
        f"{t1:.2f} s decoding, {w1:.2f} s wall")
    rate1 = one.completion_tokens / t1
    row("k=3: each sequence", f"{min(tokens3) / t3:.1f} tok/s",
        f"{min(tokens3) / t3 / rate1:.2f}x",
        f"tokens {tokens3}, {three[0].extra['decode_calls']} decode calls, "
        f"{three[0].extra.get('decoded_cells', '?')} cells decoded")
    row("k=3: all sequences together", f"{sum(tokens3) / t3:.1f} tok/s",
        f"{sum(tokens3) / t3 / rate1:.2f}x")
    row("=> wall time k=3 / k=1", f"{w3:.2f} s", f"{w3 / w1:.2f}x",
        f"goal <= 1.5x: {'ok' if w3 <= 1.5 * w1 else 'MISSED'}")


def bench_a_after_b(model: Path, lora_a: Path, lora_b: Path) -> None:
    """Issue 7.3's proof: output with adapter A after B equals a fresh context with A."""
    import numpy as np
    a, b = [(str(lora_a), 1.0)], [(str(lora_b), 1.0)]
    used = LlamaCppBackend(model, shared=False)
    prompt = used.format_chat([{"role": "user", "content": INTENTS[1]}])
    text_b = used.generate(prompt, max_tokens=16, adapters=b).text
    after_b = used.generate(prompt, max_tokens=16, adapters=a)
    logits_after_b = used.logits(prompt + "x", a)
    used.engine.close()
    new = LlamaCppBackend(model, shared=False)
    fresh_a = new.generate(prompt, max_tokens=16, adapters=a)
    logits_fresh = new.logits(prompt + "x", a)
    base = new.generate(prompt, max_tokens=16).text
    new.engine.close()
    same = after_b.text == fresh_a.text
    diff = float(np.abs(logits_after_b - logits_fresh).max())
    print(f"adapter A after B vs a fresh context with A ({model.name})")
    row("generated text identical", "yes" if same else "NO", "",
        f"B and no-adapter texts differ from A: {text_b != fresh_a.text}, {base != fresh_a.text}")
    row("next-token logits max |diff|", f"{diff:.2e}", "", "goal 0 (bit-exact)")


def run(model: Path, big: bool, candidates_only: bool = False) -> None:
    print(f"\n== {model} ({model.stat().st_size / 2**20:.1f} MiB, {os.cpu_count()} cores)")
    if candidates_only:
        bench_candidates(model, max_tokens=64, rounds=2 if big else 5)
        return
    with tempfile.TemporaryDirectory() as tmp:
        lora = write_random_lora(model, Path(tmp) / "persona.gguf")
        bench_switch(model, lora, n_switch=500 if big else 2000, n_reload=1 if big else 5)
        bench_a_after_b(model, write_random_lora(model, Path(tmp) / "a.gguf", std=0.05, seed=1),
                        write_random_lora(model, Path(tmp) / "b.gguf", std=0.05, seed=2))
        bench_prefix(model, lora, rounds=3)
        bench_speed(model, max_tokens=64 if big else 200, rounds=4 if big else 5)
        bench_candidates(model, max_tokens=64, rounds=3 if big else 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a GGUF model instead of the default one")
    ap.add_argument("--tiny-only", action="store_true", help="only the tiny random model")
    ap.add_argument("--skip-tiny", action="store_true", help="skip the tiny random model")
    ap.add_argument("--candidates-only", action="store_true",
                    help="only the k=1 vs k=3 candidates measurement")
    args = ap.parse_args()
    only = args.candidates_only
    if not args.skip_tiny:
        with tempfile.TemporaryDirectory() as tmp:
            run(write_tiny_model(Path(tmp) / "tiny-llama.gguf"), big=False, candidates_only=only)
    if args.tiny_only:
        return
    if args.model:
        run(args.model, big=True, candidates_only=only)
    elif default_model_ready() or os.environ.get("BATOS_BENCH_ASSEMBLE"):
        run(default_model_path(), big=True, candidates_only=only)
    else:
        print("\n(default model not assembled; run `batos model info` or set "
              "BATOS_BENCH_ASSEMBLE=1 to include it)")


if __name__ == "__main__":
    main()
