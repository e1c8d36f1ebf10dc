"""Forge training cost on this machine: seconds per training example and peak memory,
full-depth LoRA against LoRA on the top layers (with the frozen lower layers' output
cached after the first epoch).

    python bench/bench_forge.py                    # the default model (~9 GB, minutes)
    python bench/bench_forge.py --model PATH       # another GGUF
    python bench/bench_forge.py --tiny             # a tiny random Qwen2 (seconds; a smoke run)
    python bench/bench_forge.py --examples 3 --epochs 2 --tokens 256 --full-steps 2

Each variant runs the real worker (``python -m batos.forge.worker``, niced) on examples
built with doesNotUnderstand_'s own prompt (the worked examples' briefs, cut to
``--tokens`` tokens from the left). Reported per variant: model load seconds, seconds per
example in the first epoch and in later epochs, tokens/s, peak RSS of the worker.
Issue 15's anchors (2 cores, torch 2.13 CPU, fp32, 256-token example): 17 s per step
with LoRA in all 28 layers, 11.4 s in the top 8.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def examples(model: str, n: int) -> list[dict[str, str]]:
    from batos.llm.chat import render_chat
    from batos.llm.models import chat_template_of
    from batos.mind.prompts import _WORKED, _example_brief, build_messages, prefill
    template, bos, eos = chat_template_of(model)
    rows = []
    for receiver, selector, args, slots, code in _WORKED[:n]:
        brief = _example_brief(receiver, selector, args, slots)
        prompt = render_chat(build_messages(brief, None), template, bos_token=bos,
                             eos_token=eos) + prefill(brief)
        rows.append({"prompt": prompt, "answer": code.partition("\n")[2] + "\n```"})
    return rows


def run(cfg: dict, work: Path) -> list[dict]:
    path = work.with_suffix(".json")
    path.write_text(json.dumps({**cfg, "workdir": str(work)}))
    proc = subprocess.run([sys.executable, "-m", "batos.forge.worker", str(path)],
                          capture_output=True, text=True, cwd=ROOT,
                          preexec_fn=lambda: os.nice(10))
    if proc.returncode:
        sys.exit(f"worker failed: {proc.stderr[-2000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def summary(name: str, events: list[dict], n: int) -> dict:
    steps = [e for e in events if e["event"] == "step"]
    # seconds_per_step is a running mean: recover each step's own time
    own = [steps[0]["seconds_per_step"]] + [
        b["seconds_per_step"] * b["step"] - a["seconds_per_step"] * a["step"]
        for a, b in zip(steps, steps[1:])]
    done = next(e for e in events if e["event"] == "done")
    load = next(e for e in events if e["event"] == "loaded")["seconds"]
    first, later = own[:n], own[n:]
    row = {"variant": name, "load_s": load,
           "epoch1_s_per_example": round(statistics.mean(first), 2),
           "later_s_per_example": round(statistics.mean(later), 2) if later else None,
           "tokens_per_s": steps[-1]["tokens_per_s"], "peak_rss_mb": done["peak_rss_mb"],
           "steps": len(steps)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--full-steps", type=int, default=2)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-forge-") as tmp:
        if args.tiny:
            from tests.forge_tiny import write_tiny_qwen2
            model = str(write_tiny_qwen2(Path(tmp) / "tiny-qwen2.gguf"))
        else:
            from batos.llm.models import resolve_model
            model = str(resolve_model(args.model, progress=False))
        data = Path(tmp) / "data.jsonl"
        rows = examples(model, args.examples)
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        base = {"base": model, "data": str(data), "rank": 8, "alpha": 16,
                "targets": ["q_proj", "v_proj"], "max_tokens": args.tokens,
                "threads": args.threads, "save_every": 10_000}
        n = len(rows)
        top = min(args.layers, 2) if args.tiny else args.layers
        full = run({**base, "layers": 0, "steps": args.full_steps}, Path(tmp) / "full")
        summary("full depth", full, n)
        cached = run({**base, "layers": top, "steps": n * args.epochs}, Path(tmp) / "top")
        summary(f"top {top} layers, lower layers cached after epoch 1", cached, n)


if __name__ == "__main__":
    main()
