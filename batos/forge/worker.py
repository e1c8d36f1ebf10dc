"""The training worker: ``python -m batos.forge.worker CONFIG.json`` (torch; run niced
by :mod:`batos.forge.train`, never imported by the REPL).

It loads the base GGUF with transformers (dequantized to fp32), puts a PEFT LoRA on the
chosen projections of the chosen layers, and trains on the answer tokens only (the
prompt's labels are masked), one example per optimizer step. Tokens come from the
model's own llama.cpp vocabulary, exactly as inference tokenizes the prompt. When only
the top layers carry LoRA, the frozen lower layers' output is computed once per example
and reused in later epochs, and the output head runs only on the answer positions.

Progress goes to stdout as JSON lines (``{"event": "step", ...}``); the LoRA and the
optimizer are checkpointed every ``save_every`` steps and on Ctrl-C/SIGTERM, so the
same command resumes. The result is ``adapter.gguf`` plus ``result.json`` in ``workdir``.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {"rank": 8, "alpha": 16.0, "targets": ["q_proj", "v_proj"],
                            "layers": 8, "steps": 100, "lr": 2e-4, "max_tokens": 1024,
                            "seed": 0, "threads": 0, "save_every": 10, "cache_lower": True}
RESUME_KEYS = ("base", "data_sha256", "rank", "alpha", "targets", "layers", "lr",
               "max_tokens", "seed")


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def run_key(cfg: dict[str, Any]) -> str:
    """What a checkpoint must share with the run to be resumed."""
    return hashlib.sha256(json.dumps({k: cfg.get(k) for k in RESUME_KEYS},
                                     sort_keys=True).encode()).hexdigest()[:16]


def load_model(base: str) -> Any:
    """The base GGUF as a transformers causal LM in fp32 (eval mode, no grads)."""
    import torch
    from transformers import AutoModelForCausalLM
    path = Path(base)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                 dtype=torch.float32)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def top_layers(n_layers: int, layers: int) -> list[int] | None:
    """The layer indices that get LoRA (None: all)."""
    return None if not layers or layers >= n_layers else list(range(n_layers - layers, n_layers))


def make_peft(model: Any, cfg: dict[str, Any]) -> Any:
    """``model`` with a fresh LoRA per ``cfg`` (rank, alpha, targets, top ``layers``)."""
    from peft import LoraConfig, get_peft_model
    n = model.config.num_hidden_layers
    lcfg = LoraConfig(r=int(cfg["rank"]), lora_alpha=float(cfg["alpha"]),
                      target_modules=list(cfg["targets"]), lora_dropout=0.0, bias="none",
                      layers_to_transform=top_layers(n, int(cfg["layers"])))
    return get_peft_model(model, lcfg)


def lora_state(peft_model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict
    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(peft_model).items()}


def tokenizer(base: str) -> Any:
    """The base model's llama.cpp vocabulary (no weights loaded)."""
    import llama_cpp
    from batos.llm.llamaload import open_llama
    return open_llama(llama_cpp, base, vocab_only=True, verbose=False)


def encode(vocab: Any, examples: list[dict[str, Any]], max_tokens: int) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) per example, as inference tokenizes them; the prompt is
    cut from the left when the pair is longer than ``max_tokens``."""
    out = []
    for ex in examples:
        p = list(vocab.tokenize(ex["prompt"].encode("utf-8"), add_bos=True, special=True))
        a = list(vocab.tokenize(ex["answer"].encode("utf-8"), add_bos=False, special=True))
        a = a[: max(1, max_tokens // 2)]
        p = p[-max(1, max_tokens - len(a)):]
        out.append((p, a))
    return out


class Trainer:
    """One training run (see the module doc)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        import torch
        self.cfg = {**DEFAULTS, **cfg}
        self.torch = torch
        if int(self.cfg["threads"]) > 0:
            torch.set_num_threads(int(self.cfg["threads"]))
        self.work = Path(self.cfg["workdir"])
        self.work.mkdir(parents=True, exist_ok=True)
        self.key = run_key(self.cfg)
        examples = [json.loads(line) for line in Path(self.cfg["data"]).read_text("utf-8").splitlines()
                    if line.strip()]
        if not examples:
            raise SystemExit("no training examples")
        t0 = time.perf_counter()
        self.data = encode(tokenizer(self.cfg["base"]), examples, int(self.cfg["max_tokens"]))
        torch.manual_seed(int(self.cfg["seed"]))
        base = load_model(self.cfg["base"])
        emit("loaded", seconds=round(time.perf_counter() - t0, 2), examples=len(self.data),
             layers=base.config.num_hidden_layers)
        self.model = make_peft(base, self.cfg)
        self.causal = self.model.base_model.model
        self.inner = self.causal.model
        self.all_layers = self.inner.layers
        chosen = top_layers(len(self.all_layers), int(self.cfg["layers"]))
        self.split = chosen[0] if chosen and self.cfg["cache_lower"] else 0
        self.cache: dict[int, Any] = {}
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(params, lr=float(self.cfg["lr"]), weight_decay=0.0)
        self.step = 0
        self.losses: list[float] = []
        self._resume()

    # checkpoints ---------------------------------------------------------------------
    @property
    def checkpoint(self) -> Path:
        return self.work / "checkpoint.pt"

    def _resume(self) -> None:
        from peft import set_peft_model_state_dict
        if not self.checkpoint.is_file():
            return
        state = self.torch.load(self.checkpoint, weights_only=False)
        if state.get("key") != self.key:
            emit("fresh", reason="the checkpoint belongs to another dataset or settings")
            return
        set_peft_model_state_dict(self.model, state["lora"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.losses = int(state["step"]), list(state["losses"])
        emit("resumed", step=self.step)

    def save(self) -> None:
        tmp = self.checkpoint.with_suffix(".part")
        self.torch.save({"key": self.key, "step": self.step, "lora": lora_state(self.model),
                         "opt": self.opt.state_dict(), "losses": self.losses,
                         "config": self.cfg}, tmp)
        os.replace(tmp, self.checkpoint)

    # one step ------------------------------------------------------------------------
    def order(self, epoch: int) -> list[int]:
        idx = list(range(len(self.data)))
        random.Random(int(self.cfg["seed"]) * 1_000_003 + epoch).shuffle(idx)
        return idx

    def _lower(self, index: int, ids: Any) -> Any:
        """The frozen lower layers' output for example ``index`` (computed once)."""
        torch = self.torch
        if index not in self.cache:
            captured: list[Any] = []
            hook = self.all_layers[self.split - 1].register_forward_hook(
                lambda _m, _i, out: captured.append(out[0] if isinstance(out, tuple) else out))
            self.inner.layers = self.all_layers[: self.split]
            try:
                with torch.no_grad():
                    self.inner(input_ids=ids, use_cache=False)
            finally:
                self.inner.layers = self.all_layers
                hook.remove()
            self.cache[index] = captured[-1].detach()
        return self.cache[index]

    def loss_of(self, index: int) -> tuple[Any, int]:
        torch = self.torch
        prompt, answer = self.data[index]
        ids = torch.tensor([prompt + answer], dtype=torch.long)
        if self.split:
            hidden = self._lower(index, ids)
            self.inner.layers = self.all_layers[self.split:]
            try:
                out = self.inner(inputs_embeds=hidden, use_cache=False)
            finally:
                self.inner.layers = self.all_layers
        else:
            out = self.inner(input_ids=ids, use_cache=False)
        # only the positions that predict answer tokens reach the output head
        h = out.last_hidden_state[0, len(prompt) - 1: len(prompt) + len(answer) - 1]
        logits = self.causal.lm_head(h)
        target = torch.tensor(answer, dtype=torch.long)
        return torch.nn.functional.cross_entropy(logits.float(), target), ids.shape[1]

    def run(self) -> dict[str, Any]:
        steps, n = int(self.cfg["steps"]), len(self.data)
        self.model.train()
        t0, tokens, done = time.perf_counter(), 0, 0
        while self.step < steps:
            epoch, i = divmod(self.step, n)
            loss, ntok = self.loss_of(self.order(epoch)[i])
            loss.backward()
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.step += 1
            done += 1
            tokens += ntok
            self.losses.append(float(loss.detach()))
            elapsed = time.perf_counter() - t0
            emit("step", step=self.step, steps=steps, loss=round(self.losses[-1], 4),
                 tokens_per_s=round(tokens / elapsed, 1) if elapsed else 0.0,
                 seconds_per_step=round(elapsed / done, 3),
                 eta=round(elapsed / done * (steps - self.step), 1))
            if self.step % int(self.cfg["save_every"]) == 0 or self.step == steps:
                self.save()
            if done == int(self.cfg.get("stop_after") or 0):  # tests: an interrupted run
                raise KeyboardInterrupt
        return self.finish(time.perf_counter() - t0)

    def finish(self, seconds: float) -> dict[str, Any]:
        from batos.forge.lora_gguf import write_lora_gguf
        tail = self.losses[-max(1, len(self.data)):]
        result = {"steps": self.step, "examples": len(self.data),
                  "loss": round(sum(tail) / len(tail), 4) if tail else None,
                  "first_loss": round(self.losses[0], 4) if self.losses else None,
                  "seconds": round(seconds, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "rank": int(self.cfg["rank"]), "alpha": float(self.cfg["alpha"]),
                  "targets": list(self.cfg["targets"]), "layers": int(self.cfg["layers"]),
                  "lr": float(self.cfg["lr"]), "data_sha256": self.cfg.get("data_sha256", "")}
        arch = getattr(self.causal.config, "model_type", "qwen2")
        meta = {k: v for k, v in result.items() if isinstance(v, (int, float, str)) and v is not None}
        write_lora_gguf(self.work / "adapter.gguf", lora_state(self.model),
                        alpha=float(self.cfg["alpha"]), arch=arch, metadata=meta)
        (self.work / "result.json").write_text(json.dumps(result, indent=1), "utf-8")
        emit("done", **result)
        return result


def _sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m batos.forge.worker CONFIG.json", file=sys.stderr)
        return 2
    cfg = json.loads(Path(args[0]).read_text("utf-8"))
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        trainer = Trainer(cfg)
    except KeyboardInterrupt:
        emit("interrupted", step=0)
        return 130
    try:
        trainer.run()
    except KeyboardInterrupt:
        trainer.save()
        emit("interrupted", step=trainer.step)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
