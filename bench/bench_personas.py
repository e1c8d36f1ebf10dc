"""Persona speed and correctness, printed as ratios against their anchors (issue 7.3).

    python bench/bench_personas.py                # tiny random model, then the default model
    python bench/bench_personas.py --tiny-only    # skip the default model
    python bench/bench_personas.py --model PATH   # another GGUF model instead of the default

For each model, with two persona adapters stored in a scratch image as blobs
(BRICK gets adapter A, ROBIN adapter B):

* persona switch: resolve the persona's adapter (``adapter_specs``: the committed
  blob file) and hot-set it on the context (``Engine.apply``), alternating
  personas -- against a model reload (goal <= 1 ms per switch);
* proof: BRICK's output (greedy text and next-token logits) right after ROBIN
  equals BRICK's output on a fresh context;
* routing (``persona_for_code``: cue scores, noise, adapter lookup) per message, and
  the PSM overhead of an ``ask:`` cycle with a zero-cost fake backend.

The default model's adapters are random LoRAs shaped from its header (latency and
equality are measured, not their effect).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import batos  # noqa: E402
from batos.llm.llamacpp import LlamaCppBackend  # noqa: E402
from batos.mind.adapters import add_adapter  # noqa: E402
from batos.mind.personas import adapter_specs, generate_as, persona_for_code  # noqa: E402

MISSION = "Receiver slots: items = [3, 1, 2]. Message: sortedItems. Return the items sorted."


def row(label: str, value: str, ratio: str = "", note: str = "") -> None:
    print(f"  {label:<46} {value:>12}  {ratio:>9}  {note}")


def per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def reload_seconds(model: Path, n: int) -> float:
    import llama_cpp
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        llm = llama_cpp.Llama(model_path=str(model), n_ctx=512, verbose=False)
        times.append(time.perf_counter() - t0)
        llm.close()
    return statistics.median(times)


def make_adapters(model: Path, tmp: Path, tiny: bool) -> tuple[Path, Path]:
    if tiny:
        from tests.fixtures_llm import write_tiny_lora
        return (write_tiny_lora(tmp / "a.gguf", seed=7),
                write_tiny_lora(tmp / "b.gguf", seed=99, targets=("attn_q", "attn_k")))
    from bench_llm import write_random_lora
    a = write_random_lora(model, tmp / "a.gguf", rank=8, targets=("attn_q", "attn_v"))
    b = write_random_lora(model, tmp / "b.gguf", rank=8, targets=("attn_k", "attn_v"))
    return a, b


def run(model: Path, tiny: bool) -> None:
    print(f"\n== {model.name} ({model.stat().st_size / 2**20:.1f} MiB, {os.cpu_count()} cores)")
    os.environ["BATOS_MODEL"] = str(model)
    os.environ["BATOS_LORAS"] = ""
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        a, b = make_adapters(model, tmp, tiny)
        with batos.open_image(tmp / "bench.fs") as image:
            image.execute(lambda: (add_adapter(image, "BRICK", a), add_adapter(image, "ROBIN", b)),
                          note="bench adapters")
            brick, robin = image.globals["BRICK"], image.globals["ROBIN"]
            backend = LlamaCppBackend(model, shared=False, n_ctx=1024)
            engine = backend.engine
            image.options["backend"] = backend
            generate_as(image, brick, "warm up", max_tokens=1)
            generate_as(image, robin, "warm up", max_tokens=1)  # both adapters now warm

            # -- switch latency -----------------------------------------------------------
            n = 200 if not tiny else 2000
            pair = [brick, robin]
            state = {"i": 0}

            def switch() -> None:
                state["i"] += 1
                engine.apply(adapter_specs(pair[state["i"] % 2]))
            t_switch = per_call(switch, n)
            specs = [adapter_specs(brick), adapter_specs(robin)]
            t_apply = per_call(lambda: (engine.apply(specs[0]), engine.apply(specs[1])), n) / 2
            t_lookup = per_call(lambda: adapter_specs(brick), n)
            t_reload = reload_seconds(model, 1 if not tiny else 5)
            print(f"persona switch (BRICK <-> ROBIN, each with its own LoRA; {n} switches)")
            row("model reload (Llama load)", f"{t_reload * 1e3:.1f} ms", "1.0x", "anchor")
            row("persona switch: adapter_specs + Engine.apply", f"{t_switch * 1e6:.1f} us",
                f"{t_switch / t_reload:.1e}x",
                f"goal <= 1 ms: {'ok' if t_switch <= 1e-3 else 'MISSED'}")
            row("  of which Engine.apply (hot set)", f"{t_apply * 1e6:.1f} us",
                f"{t_apply / t_reload:.1e}x")
            row("  of which adapter_specs (blob path)", f"{t_lookup * 1e6:.1f} us",
                f"{t_lookup / t_reload:.1e}x")
            print(f"  (adapter loads {engine.stats['adapter_loads']}: warm LRU, no reloads)")

            # -- A after B equals a fresh context with A ------------------------------------
            k = 24 if tiny else 16
            generate_as(image, robin, MISSION, max_tokens=k)
            after_b = generate_as(image, brick, MISSION, max_tokens=k)
            logits_after = backend.logits(MISSION, adapter_specs(brick))
            fresh = LlamaCppBackend(model, shared=False, n_ctx=1024)
            image.options["backend"] = fresh
            new = generate_as(image, brick, MISSION, max_tokens=k)
            logits_new = fresh.logits(MISSION, adapter_specs(brick))
            diff = float(np.abs(logits_after - logits_new).max())
            same = after_b.text == new.text
            print("proof: BRICK (adapter A) after ROBIN (adapter B) vs a fresh context with A")
            row(f"greedy text, {k} tokens", "equal" if same else "DIFFERENT", "",
                repr(after_b.text[:40]))
            row("next-token logits, max |diff|", f"{diff:.1e}", "",
                "ok" if diff < 1e-3 else "DIFFERENT")
            fresh.engine.close()
            image.options["backend"] = backend

            # -- routing and PSM overhead ----------------------------------------------------
            t_route = per_call(lambda: persona_for_code(image, MISSION, seed=1), 500)
            print("routing and cycles")
            row("persona_for_code (route + adapter)", f"{t_route * 1e6:.1f} us",
                f"{t_route / t_reload:.1e}x", "vs reload")
            t_gen = after_b.seconds  # one k-token generation as BRICK, measured above
            from batos.llm.fake import FakeBackend
            image.options["backend"] = FakeBackend(lambda prompt: "ok", model="zero")
            genesis = image.globals["genesis"]
            m = 20
            t_ask = per_call(lambda: genesis.send("ask:", "How should I model a library?"), m)
            image.abort()
            row("ask: cycle, fake backend (3 turns + synthesis)", f"{t_ask * 1e3:.2f} ms",
                f"{t_ask / t_gen:.1e}x", f"vs one {k}-token generation ({t_gen * 1e3:.0f} ms)")
            engine.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="a GGUF model instead of the default one")
    ap.add_argument("--tiny-only", action="store_true", help="only the tiny random model")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        from tests.fixtures_llm import write_tiny_model
        run(write_tiny_model(Path(tmp) / "tiny-llama.gguf"), tiny=True)
    if args.tiny_only:
        return
    if args.model:
        run(args.model, tiny=False)
        return
    from batos.llm.models import default_model_path, default_model_ready
    if default_model_ready():
        run(default_model_path(progress=False), tiny=False)
    else:
        print("\n(default model not assembled yet: `batos model info` builds it; skipped)")


if __name__ == "__main__":
    main()
