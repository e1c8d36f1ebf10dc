"""The forge's whole path on a tiny random Qwen2 (transformers, written to GGUF):
dataset → 3 training steps → GGUF adapter → guardian audit → llama.cpp with the tiny
model, whose logits change and equal the PyTorch model's; resume after an
interruption; the cached lower layers give the same loss; incarnation with provenance."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the forge extra (torch) is not installed")
pytest.importorskip("peft", reason="the forge extra (peft) is not installed")
pytest.importorskip("transformers", reason="the forge extra (transformers) is not installed")

from tests.forge_tiny import llama_logits, write_tiny_qwen2  # noqa: E402

PROMPT = "<|im_start|>user\nMessage: #double:<|im_end|>\n"


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> Path:
    return write_tiny_qwen2(tmp_path_factory.mktemp("qwen") / "tiny-qwen2.gguf")


@pytest.fixture(scope="module")
def forge_image(tmp_path_factory) -> Path:
    """An image whose golden dataset is three hand-written methods of BRICK's."""
    import batos
    from batos.image.proto import Proto
    path = tmp_path_factory.mktemp("forge-image") / "image.fs"
    image = batos.open_image(path)
    counter = Proto("counter", {"count": 3})
    image.globals["counter"] = counter
    counter.define("double:", "def double_(self, number):\n    return number * 2\n")
    counter.define("isBig", "def isBig(self):\n    return self.count > 10\n")
    counter.define("reset", "def reset(self):\n    self.count = 0\n"
                            "    self._p_changed = True\n    return self\n")
    image.commit("hand-written methods")
    image.close()
    return path


def _worker(cfg: dict, work: Path) -> tuple[int, list[dict]]:
    path = work.parent / f"{work.name}.json"
    path.write_text(json.dumps({**cfg, "workdir": str(work)}))
    proc = subprocess.run([sys.executable, "-m", "batos.forge.worker", str(path)],
                          capture_output=True, text=True, timeout=600)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, events


@pytest.fixture(scope="module")
def train_cfg(qwen, forge_image, tmp_path_factory) -> dict:
    import batos
    from batos.forge.dataset import build
    image = batos.open_image(forge_image, read_only=True)
    try:
        data = build(image, "BRICK", template=None)
    finally:
        image.close()
    assert data.counts() == {"BRICK": {"human": 3}}
    rows = tmp_path_factory.mktemp("data") / "train.jsonl"
    rows.write_text("".join(json.dumps({"prompt": e.prompt, "answer": e.answer}) + "\n"
                            for e in data.examples))
    return {"base": str(qwen), "data": str(rows), "steps": 3, "layers": 2, "rank": 4,
            "alpha": 8, "lr": 0.02, "threads": 1, "save_every": 1}


@pytest.fixture(scope="module")
def straight(train_cfg, tmp_path_factory) -> tuple[Path, list[dict]]:
    """One uninterrupted 3-step run (lower layers cached): its folder and events."""
    work = tmp_path_factory.mktemp("straight") / "run"
    code, events = _worker(train_cfg, work)
    assert code == 0, events
    return work, events


def _torch_logits(qwen: Path, checkpoint: Path, ids: list[int]):
    from peft import set_peft_model_state_dict
    from batos.forge.worker import load_model, make_peft
    state = torch.load(checkpoint, weights_only=False)
    model = make_peft(load_model(str(qwen)), state["config"])
    set_peft_model_state_dict(model, state["lora"])
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double().numpy()


def test_three_steps_to_a_llamacpp_adapter(qwen, straight):
    from batos.mind.adapters import audit
    work, events = straight
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert all(e["loss"] > 0 and e["tokens_per_s"] > 0 for e in steps)
    adapter = work / "adapter.gguf"
    report = audit(adapter, str(qwen))
    assert report.verdict == "accepted", report.findings
    from gguf import GGUFReader
    names = {t.name for t in GGUFReader(str(adapter)).tensors}
    assert names == {f"blk.{i}.attn_{k}.weight.lora_{ab}" for i in (1, 2) for k in "qv"
                     for ab in "ab"}  # top 2 of 3 layers, never token_embd/output
    base, ids = llama_logits(qwen, PROMPT)
    with_adapter, _ = llama_logits(qwen, PROMPT, adapter)
    expected = _torch_logits(qwen, work / "checkpoint.pt", ids)
    assert abs(with_adapter - base).max() > 0.05            # the adapter changes the logits
    assert abs(with_adapter - expected).max() < 0.03         # as PyTorch predicts
    assert abs(with_adapter - expected).max() < abs(with_adapter - base).max() / 5


def test_interrupted_run_resumes_to_the_same_weights(train_cfg, straight, tmp_path):
    resumed = tmp_path / "resumed"
    code, events = _worker({**train_cfg, "stop_after": 2}, resumed)
    assert code == 130 and events[-1] == {"event": "interrupted", "step": 2}
    assert not (resumed / "adapter.gguf").exists()
    code, events = _worker(train_cfg, resumed)
    assert code == 0
    assert {"event": "resumed", "step": 2} in events
    assert [e["step"] for e in events if e["event"] == "step"] == [3]
    a = torch.load(straight[0] / "checkpoint.pt", weights_only=False)["lora"]
    b = torch.load(resumed / "checkpoint.pt", weights_only=False)["lora"]
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_cached_lower_layers_give_the_same_losses(train_cfg, straight, tmp_path):
    cached = straight[1]
    _, full = _worker({**train_cfg, "cache_lower": False}, tmp_path / "full")
    loss = lambda events: [e["loss"] for e in events if e["event"] == "step"]  # noqa: E731
    assert loss(cached) == pytest.approx(loss(full), abs=1e-3)


def test_forge_train_incarnates_with_provenance(qwen, forge_image, tmp_path):
    env = {**os.environ, "BATOS_FORGE_DIR": str(tmp_path / "forge"), "BATOS_CONFINE": "off"}
    cmd = [sys.executable, "-m", "batos.cli.main", "forge", "train", "BRICK", "-i",
           str(forge_image), "--base", str(qwen), "--steps", "3", "--layers", "2",
           "--rank", "4", "--lr", "0.02", "--threads", "1", "--no-eval"]
    proc = subprocess.run(cmd + ["--force", "--json"], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["incarnated"] and out["audit"] == "accepted"
    assert out["training"]["steps"] == 3 and Path(out["training"]["adapter"]).is_file()
    show = subprocess.run([sys.executable, "-m", "batos.cli.main", "persona", "show", "BRICK",
                           "-i", str(forge_image), "--json"], capture_output=True, text=True,
                          env=env)
    row = json.loads(show.stdout)
    prov = row["adapter_provenance"]
    assert prov["steps"] == 3 and prov["dataset_size"] == 3 and prov["decision"] == "forced"
    assert row["adapter"]["verdict"] == "accepted"
