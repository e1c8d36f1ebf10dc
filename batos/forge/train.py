"""Running a training: the memory check, the niced worker subprocess, its events.

:func:`train` writes the training examples and the run's settings into a work
folder named after the persona and the dataset's hash, and runs ``python -m
batos.forge.worker`` at a lower priority (nice 10), so the REPL and other work keep
the CPU first. Each JSON line the worker prints is handed to ``on_event`` (the CLI
draws the progress bar from them). Running the same command again resumes from the
last checkpoint; Ctrl-C stops the worker after it has saved one.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from batos.errors import BatosError

FP32_OVERHEAD = 1.3     # the dequantized weights plus activations, grads and optimizer
MARGIN_MB = 1024


class TrainingInterrupted(BatosError):
    """Ctrl-C or SIGTERM: the worker saved a checkpoint; the same command resumes."""

    exit_code = 130


def work_root() -> Path:
    """Where training runs keep their checkpoints: ``$BATOS_FORGE_DIR``, else
    ``~/.cache/batos/forge``."""
    env = os.environ.get("BATOS_FORGE_DIR")
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "batos" / "forge"
    return Path(env) if env else base


def model_params(base: str) -> int:
    """How many weights the base GGUF holds."""
    from batos.llm.models import tensor_shapes
    total = 0
    for shape in tensor_shapes(base).values():
        n = 1
        for d in shape:
            n *= int(d)
        total += n
    return total


def available_mb() -> int:
    """MemAvailable from /proc/meminfo (a large number where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1 << 30


def check_memory(base: str) -> int:
    """The MB training ``base`` in fp32 needs; BatosError with a clear message when the
    machine does not have them free."""
    need = int(model_params(base) * 4 * FP32_OVERHEAD / 2**20) + MARGIN_MB
    free = available_mb()
    if need > free:
        raise BatosError(f"training needs about {need:,} MB of memory (the base model in "
                         f"fp32) and only {free:,} MB are available; close other programs "
                         "or train on a larger machine. Nothing was trained.")
    return need


def train(persona: str, examples: Sequence[Any], base: str, *, options: dict[str, Any],
          data_sha256: str, on_event: Callable[[dict[str, Any]], None] | None = None,
          workdir: str | os.PathLike[str] | None = None, nice: int = 10) -> dict[str, Any]:
    """Train ``persona``'s LoRA on ``examples`` (dataset Examples) over ``base``; answers
    the worker's result (``adapter`` is the GGUF it wrote). Raises
    :class:`TrainingInterrupted` after Ctrl-C, BatosError when the worker fails."""
    from batos.forge import INSTALL_HINT, missing_modules
    missing = missing_modules()
    if missing:
        raise BatosError(f"{', '.join(missing)} not installed: {INSTALL_HINT}")
    work = Path(workdir) if workdir else work_root() / f"{persona.lower()}-{data_sha256[:12]}"
    work.mkdir(parents=True, exist_ok=True)
    data = work / "train.jsonl"
    with open(data, "w", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(json.dumps({"prompt": ex.prompt, "answer": ex.answer}) + "\n")
    cfg = {**options, "base": str(Path(base).resolve()), "data": str(data),
           "workdir": str(work), "data_sha256": data_sha256}
    (work / "config.json").write_text(json.dumps(cfg, indent=1), "utf-8")
    log = open(work / "worker.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "batos.forge.worker", str(work / "config.json")],
                            stdout=subprocess.PIPE, stderr=log, text=True,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)
    result: dict[str, Any] | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "done":
                result = event
            if on_event is not None:
                on_event(event)
        code = proc.wait()
    except KeyboardInterrupt:  # the worker got the same SIGINT: it saves and exits
        code = _wait_saved(proc)
    finally:
        log.close()
    if code == 130 or code == -2:
        raise TrainingInterrupted(f"training interrupted; the checkpoint is in {work}: run "
                                  "the same command again to resume")
    if code != 0 or result is None:
        tail = (work / "worker.log").read_text("utf-8", "replace").strip().splitlines()[-6:]
        raise BatosError(f"training failed (exit {code}): " + " | ".join(tail))
    result["adapter"] = str(work / "adapter.gguf")
    result["workdir"] = str(work)
    return result


def _wait_saved(proc: subprocess.Popen) -> int:
    try:
        return proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.terminate()
        return proc.wait()


__all__ = ["train", "check_memory", "work_root", "TrainingInterrupted", "model_params"]
