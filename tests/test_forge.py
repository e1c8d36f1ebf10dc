"""The forge without torch: the golden dataset, the guardian's veto, the GGUF adapter
writer, the evaluation's decision, and the clear message when the extra is missing."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from batos.forge import dataset as ds

BAD_BODY = "    return open('/etc/passwd').read()\n```"


def _cli(*args: str, hide: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``batos ARGS`` in a subprocess; modules in ``hide`` cannot be imported there."""
    code = (
        "import sys\n"
        f"HIDE = {hide!r}\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in HIDE:\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        f"sys.argv = ['batos'] + {list(args)!r}\n"
        "from batos.cli.main import main\n"
        "main()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BATOS_CONFINE": "off"})


def _record(image, **fields):
    from batos.mind import genlog
    genlog.append(image, [genlog.GenerationRecord(**fields)])


def _prompt(selector: str, defline: str, extra: str = "") -> str:
    return (f"<|im_start|>user\nMessage: #{selector}{extra}<|im_end|>\n"
            f"<|im_start|>assistant\n```python\n{defline}\n")


@pytest.fixture
def golden_image(image):
    """An image with one example of each code source, a duplicate, a corrected method
    and a guardian-rejected one in its generation log."""
    from batos.image.proto import Proto
    counter = Proto("counter", {"count": 3})
    image.globals["counter"] = counter
    counter.define("triple:", "def triple_(self, number):\n    return number * 3\n")
    rec = dict(receiver="a Proto(counter)", persona="BRICK", verdict="installed")
    _record(image, selector="double:", prompt=_prompt("double:", "def double_(self, number):"),
            code="def double_(self, number):\n    return number * 2\n", **rec)
    _record(image, selector="double:", prompt=_prompt("double:", "def double_(self, number):"),
            code="def double_(self, number):\n    return number * 2\n", **rec)  # duplicate
    _record(image, selector="half:", code="def half_(self, number):\n    return number / 2\n",
            prompt=_prompt("half:", "def half_(self, number):",
                           "\nExamples it must satisfy: 4 -> 2"), **rec)
    _record(image, selector="negate:", code="def negate_(self, number):\n    return number\n",
            prompt=_prompt("negate:", "def negate_(self, number):"), **rec)
    _record(image, selector="negate:", code="def negate_(self, number):\n    return number\n",
            receiver="a Proto(counter)", persona="human", verdict="rejected", attempt=0)
    _record(image, selector="negate:", code="def negate_(self, number):\n    return -number\n",
            prompt=_prompt("negate:", "def negate_(self, number):", " (fixed)"), **rec)
    _record(image, selector="leak", code="def leak(self):\n" + BAD_BODY.split("```")[0],
            prompt=_prompt("leak", "def leak(self):"), **rec)
    _record(image, selector="ask:", receiver="ROBIN", persona="ROBIN", verdict="answered",
            prompt="<|im_start|>user\nhow are you<|im_end|>\n<|im_start|>assistant\n",
            output="Holy mackerel, fine!")
    image.commit("golden")
    return image


def test_dataset_sources_dedupe_and_guardian(golden_image):
    data = ds.build(golden_image, template=None)
    by_sel = {(e.source, e.selector) for e in data.examples}
    assert ("kept", "double:") in by_sel and ("contract", "half:") in by_sel
    assert ("correction", "negate:") in by_sel and ("human", "triple:") in by_sel
    assert ("answer", "ask:") in by_sel
    assert not any(e.selector == "leak" for e in data.examples)  # the guardian's veto
    assert data.dropped["guardian rejected"] == 1
    assert data.dropped["duplicate"] == 1 and data.dropped["corrected later"] == 1
    negate = [e for e in data.examples if e.selector == "negate:"]
    assert [e.answer for e in negate] == ["    return -number\n```"]
    human = next(e for e in data.examples if e.source == "human")
    assert "Message: #triple:" in human.prompt
    assert human.prompt.endswith("```python\ndef triple_(self, number):\n")
    assert data.counts()["BRICK"]["kept"] == 1 and data.counts()["ROBIN"] == {"answer": 1}
    assert [e.persona for e in data.of("robin").examples] == ["ROBIN"]


def test_dataset_cli_counts_and_jsonl(golden_image, image_path, tmp_path):
    golden_image.close()
    out = tmp_path / "brick.jsonl"
    proc = _cli("forge", "dataset", "BRICK", "-i", str(image_path), "--jsonl", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "BRICK" in proc.stdout and "guardian rejected" in proc.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["source"] for r in rows} == {"kept", "contract", "correction", "human"}
    proc = _cli("forge", "dataset", "-i", str(image_path), "--json")
    assert json.loads(proc.stdout)["counts"]["ROBIN"] == {"answer": 1}


def test_guardian_rejected_dataset_never_trains(golden_image, image_path, tmp_path):
    golden_image.close()
    bad = ds.Dataset([ds.Example("BRICK", "kept", _prompt("leak", "def leak(self):"),
                                 BAD_BODY, "leak")])
    assert ds.rejected_examples(bad.examples) == bad.examples
    data = tmp_path / "bad.jsonl"
    bad.write_jsonl(data)
    work = tmp_path / "forge"
    proc = subprocess.run(
        [sys.executable, "-m", "batos.cli.main", "forge", "train", "BRICK", "-i",
         str(image_path), "--dataset", str(data), "--base", "missing.gguf"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "BATOS_FORGE_DIR": str(work), "BATOS_CONFINE": "off"})
    if "not installed" in proc.stderr:
        pytest.skip("the forge extra is not installed")
    assert proc.returncode == 1
    assert "guardian rejects" in proc.stderr and "nothing was trained" in proc.stderr
    assert not work.exists()


def test_no_forge_extra_is_a_clear_message_and_the_rest_works(golden_image, image_path):
    golden_image.close()
    proc = _cli("forge", "train", "BRICK", "-i", str(image_path), hide=("torch", "peft"))
    assert proc.returncode == 2
    assert "pip install 'batos[forge]'" in proc.stderr and "torch" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _cli("forge", "dataset", "-i", str(image_path), hide=("torch", "peft"))
    assert proc.returncode == 0 and "BRICK" in proc.stdout
    proc = _cli("eval", "3 + 4", "-i", str(image_path), hide=("torch", "peft"))
    assert proc.returncode == 0 and "7" in proc.stdout


def test_lora_gguf_layout_and_audit(tmp_path, tiny_model):
    from batos.forge.lora_gguf import gguf_name, read_metadata, write_lora_gguf
    from batos.mind.adapters import audit
    from gguf import GGUFReader
    with pytest.raises(ValueError):
        gguf_name("base_model.model.model.embed_tokens.lora_A.weight")
    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(2):  # the tiny llama fixture: n_embd 64, 2 kv heads of 16
        pre = f"base_model.model.model.layers.{i}.self_attn."
        tensors[pre + "q_proj.lora_A.weight"] = rng.standard_normal((4, 64)).astype(np.float32)
        tensors[pre + "q_proj.lora_B.weight"] = rng.standard_normal((64, 4)).astype(np.float32)
        tensors[pre + "v_proj.lora_A.weight"] = rng.standard_normal((4, 64)).astype(np.float32)
        tensors[pre + "v_proj.lora_B.weight"] = rng.standard_normal((32, 4)).astype(np.float32)
    path = write_lora_gguf(tmp_path / "a.gguf", tensors, alpha=8.0, arch="llama",
                           metadata={"steps": 3, "loss": 1.5, "data_sha256": "ab"})
    reader = GGUFReader(path)
    shapes = {t.name: [int(x) for x in t.shape] for t in reader.tensors}
    assert shapes["blk.1.attn_q.weight.lora_a"] == [64, 4]
    assert shapes["blk.1.attn_v.weight.lora_b"] == [4, 32]
    assert reader.fields["adapter.lora.alpha"].contents() == 8.0
    assert read_metadata(path) == {"steps": 3, "loss": 1.5, "data_sha256": "ab"}
    assert audit(path, str(tiny_model)).verdict == "accepted"


def test_evaluation_runs_doesnotunderstands_checks(golden_image, image_path, tiny_model,
                                                   tmp_path):
    """With a backend that writes correct probes only, every probe passes for base and
    adapter alike; with a wrong one, none does. The real image is never written."""
    from batos.forge.evaluate import PROBES, evaluate
    from batos.forge.incarnate import should_incarnate
    from batos.forge.lora_gguf import write_lora_gguf
    from batos.llm.fake import FakeBackend
    from batos.mind.dnu import use_backend
    golden_image.close()
    rng = np.random.default_rng(1)
    adapter = write_lora_gguf(tmp_path / "a.gguf", {
        "m.layers.0.self_attn.q_proj.lora_A.weight": rng.standard_normal((2, 64)),
        "m.layers.0.self_attn.q_proj.lora_B.weight": rng.standard_normal((64, 2))},
        alpha=2.0, arch="llama")
    bodies = {"double:": "return number * 2", "wordCount": "return len(self.text.split())",
              "largest": "return max(self.items)", "squareOf:": "return number * number",
              "reverse:": "return text[::-1]",
              "evenItems": "return [x for x in self.items if x % 2 == 0]",
              "fahrenheit": "return self.celsius * 9 / 5 + 32",
              "isPalindrome:": "return text == text[::-1]"}
    assert set(bodies) == {p[2] for p in PROBES}

    def right(prompt: str) -> str:
        sel = next(s for s in bodies if f"Message: #{s} " in prompt)
        return f"    {bodies[sel]}\n```"
    before = image_path.stat().st_mtime_ns
    with use_backend(FakeBackend(right)):
        good = evaluate(image_path, "BRICK", str(adapter), str(tiny_model), [])
    assert good["probes"] == {"base": len(PROBES), "adapter": len(PROBES), "cases": len(PROBES)}
    with use_backend(FakeBackend(lambda p: "    return 0\n```")):
        bad = evaluate(image_path, "BRICK", str(adapter), str(tiny_model), [])
    assert bad["probes"]["base"] == 0 and bad["probes"]["adapter"] == 0
    assert image_path.stat().st_mtime_ns == before
    assert good["heldout"]["cases"] == 0          # nothing held out here: too few to tell
    assert should_incarnate(good, False) == (False, "only 0 held-out case(s) could be "
                                             "checked (at least 5 are needed to tell it is "
                                             "not worse)")
    enough = {**good, "heldout": {"base": 4, "adapter": 4, "cases": 5}}
    assert should_incarnate(enough, False) == (True, "not worse than the base")
    assert should_incarnate(None, False) == (False, "not evaluated")  # --no-eval
    worse = {"heldout": {"base": 3, "adapter": 2, "cases": 6},
             "probes": {"base": 1, "adapter": 1}}
    assert should_incarnate(worse, False)[0] is False
    assert should_incarnate(worse, True) == (True, "forced")


def test_memory_check_refuses_with_a_clear_message(tiny_model, monkeypatch):
    from batos.errors import BatosError
    from batos.forge import train
    need = train.check_memory(str(tiny_model))  # a tiny model fits anywhere
    assert need >= train.MARGIN_MB
    monkeypatch.setattr(train, "available_mb", lambda: need - 1)
    with pytest.raises(BatosError, match="training needs about .* MB.*Nothing was trained"):
        train.check_memory(str(tiny_model))


def test_held_out_curriculum_work_is_checked_by_its_intent(image):
    """The heartbeat teaches curriculum intents on scratch clones, so the log names the
    clone, and the intent leaves the queue: the evaluation finds the intent's global and
    examples in the heartbeat's record of what it taught."""
    from types import SimpleNamespace
    from batos.forge.evaluate import _heldout_cases
    from batos.llm.fake import FakeBackend
    from batos.mind import improve
    from batos.mind.dnu import use_backend
    image.execute(lambda: image.globals.__setitem__("lesson", image.globals["genesis"].clone()),
                  note="subject")
    image.execute(lambda: improve.add_curriculum(image, [
        {"receiver": "lesson", "selector": "double:", "args": ["2"],
         "examples": "{2 -> 4. 5 -> 10}"},
        {"receiver": "lesson", "selector": "triple:", "args": ["2"], "examples": "{2 -> 6}"}]),
        note="seed")
    with use_backend(FakeBackend(["    return number * 2\n```"])):
        assert improve.improve_cognition(image)["work"] == "curriculum"
    assert [i["selector"] for i in improve.state(image)["curriculum"]] == ["triple:"]
    held = [SimpleNamespace(receiver="a Proto", selector="double:"),
            SimpleNamespace(receiver="a Proto", selector="triple:"),     # still queued
            SimpleNamespace(receiver="a Proto", selector="neverTaught")]
    cases, unchecked = _heldout_cases(image, held)
    assert unchecked == 1
    assert [(c.receiver, c.selector) for c in cases] == [("lesson", "double:"),
                                                         ("lesson", "triple:")]
    assert [(list(e.args), e.expected) for e in cases[0].examples] == [([2], 4), ([5], 10)]
