"""Each persona's fixed prompt prefix: shared part first, kept on disk per persona
(issue 19, item 10b). The engine tests run in real separate processes on the tiny model."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from batos.llm.chat import common_prefix
from batos.llm.fake import FakeBackend
from batos.mind.prompts import MissionBrief, build_messages, fixed_prefixes, prefill
from batos.mind.personas import CODEX
from tests.fixtures_llm import *  # noqa: F401,F403

ROOT = Path(__file__).resolve().parents[1]

SHARED = "<|im_start|>system\nYou write one method for a live object. " * 8
BLOCKS = {name: f"<|im_start|>user\nYou are {name}, who {role}.\n\n"
          for name, role in [("BRICK", "builds"), ("ROBIN", "listens"), ("BABS", "finds")]}
BRIEF = "Receiver: a Proto(box)\nMessage: #{sel} (no arguments)<|im_end|>\n<|im_start|>assistant\n"

_CHILD = """
import json, sys
from batos.llm.llamacpp import LlamaCppBackend
model, shared, blocks, brief, mode = sys.argv[1:6]
blocks = json.loads(blocks)
be = LlamaCppBackend(model, shared=False, n_ctx=1024)
out = {}
if mode == "warm":
    out["warmed"] = be.warm_prefix([shared, shared + blocks[0]])
else:
    for i, b in enumerate(blocks):
        prompt = shared + b + brief
        done = be.generate(prompt, max_tokens=6, seed=1, prefix=[shared, shared + b])
        plain = LlamaCppBackend(model, shared=False, n_ctx=1024).generate(
            prompt, max_tokens=6, seed=1)
        out[f"cached{i}"] = done.prompt_tokens_cached
        out[f"same{i}"] = done.text == plain.text
out["shared_tokens"] = be.count_tokens(shared)
out["block_tokens"] = [be.count_tokens(shared + b) for b in blocks]
out["stats"] = {k: v for k, v in be.engine.stats.items() if k.startswith("disk")}
print(json.dumps(out))
"""


def _process(model: Path, kv: Path, blocks: list[str], brief: str, mode: str = "gen") -> Any:
    """One fresh Python process using the tiny model with ``kv`` as its KV directory."""
    env = dict(os.environ, BATOS_KV_DIR=str(kv), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(model), SHARED, json.dumps(blocks),
                          brief, mode], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_personas_prefix_is_saved_and_reused_across_processes(
        tiny_model: Path, tmp_path: Path) -> None:
    kv = tmp_path / "kv"
    # process 1: BRICK then ROBIN. BRICK's first miss stores the shared part and its own
    # prefix; ROBIN's evaluates only its codex on top of the shared part (kept in memory)
    # and stores its own prefix
    one = _process(tiny_model, kv, [BLOCKS["BRICK"], BLOCKS["ROBIN"]], BRIEF.format(sel="a"))
    assert one["cached0"] == 0 and one["same0"] and one["same1"]
    assert one["cached1"] >= one["shared_tokens"] - 1
    assert one["stats"] == {"disk_saves": 3}
    assert len(list(kv.glob("*.kv"))) == 3
    # process 2: ROBIN's first miss there starts from ROBIN's whole prefix, read from disk
    two = _process(tiny_model, kv, [BLOCKS["ROBIN"]], BRIEF.format(sel="b"))
    assert two["cached0"] >= two["block_tokens"][0] - 1 > two["shared_tokens"]
    assert two["same0"] and two["stats"] == {"disk_restores": 1}
    # process 3: BABS's prefix computed ahead (as :persona BABS does in the background):
    # the shared part comes from disk, only BABS's codex is evaluated
    three = _process(tiny_model, kv, [BLOCKS["BABS"]], "", mode="warm")
    assert three["stats"] == {"disk_restores": 1, "disk_saves": 1}
    assert three["warmed"] >= three["block_tokens"][0] - 1
    # process 4: BABS's first miss restores it
    four = _process(tiny_model, kv, [BLOCKS["BABS"]], BRIEF.format(sel="c"))
    assert four["cached0"] >= four["block_tokens"][0] - 1
    assert four["same0"] and four["stats"] == {"disk_restores": 1}


# --- the doesNotUnderstand_ prompt: what personas share comes first -----------------------------

def _prompt(backend: Any, persona: str | None, selector: str = "total") -> str:
    brief = MissionBrief(receiver="a Proto(cart)", selector=selector, name=selector, params=[],
                         arguments=[], slots=[("items", "#(1 2)", "list")], understood=[])
    return backend.format_chat(build_messages(brief, persona)) + prefill(brief)


def test_personas_share_the_covenant_and_examples_and_differ_in_a_short_block() -> None:
    fake = FakeBackend()
    brick, robin = CODEX["BRICK"]["system_prompt"], CODEX["ROBIN"]["system_prompt"]
    p_brick, p_robin = _prompt(fake, brick), _prompt(fake, robin)
    shared_b, own_b = fixed_prefixes(fake, p_brick, brick)
    shared_r, own_r = fixed_prefixes(fake, p_robin, robin)
    assert shared_b == shared_r and len(shared_b) > 4000       # covenant + worked examples
    assert len(common_prefix(p_brick, p_robin)) >= len(shared_b)
    assert own_b.startswith(shared_b) and own_b.endswith(brick + "\n\n")
    assert own_r.endswith(robin + "\n\n") and p_robin.startswith(own_r)
    assert len(own_r) - len(shared_r) < len(shared_r) / 10   # the persona's part is small
    # the same persona's prefixes do not depend on the message
    assert fixed_prefixes(fake, _prompt(fake, robin, "count"), robin) == [shared_r, own_r]
    assert "Voice:" not in own_b
    assert fixed_prefixes(fake, _prompt(fake, None), None) == [shared_b]


def test_a_miss_passes_both_prefixes_to_the_backend(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import batos
    from batos.mind import dnu, warmup
    monkeypatch.setenv("BATOS_LORAS", str(tmp_path / "no-loras"))
    seen: list[Any] = []

    class Recording(FakeBackend):
        def generate(self, prompt: str, **kw: Any) -> Any:
            seen.append(kw.get("prefix"))
            return super().generate(prompt, **kw)
    fake = Recording(["    return 42\n```"])
    with batos.open_image(tmp_path / "p.fs") as image, dnu.use_backend(fake), \
            dnu.use_persona("ROBIN"):
        assert image.execute(lambda: image.globals["genesis"].send("answerNow"), note="x") == 42
    (prefixes,) = seen
    robin = CODEX["ROBIN"]["system_prompt"]
    assert len(prefixes) == 2 and prefixes[1].endswith(robin + "\n\n")
    assert fake.prompts[0].startswith(prefixes[1])
    assert warmup.persona_prefixes(fake, robin) == prefixes


def test_switching_persona_computes_its_prefix_in_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import threading

    from rich.console import Console

    import batos
    from batos.mind import dnu, warmup
    from batos.repl.session import ReplSession
    monkeypatch.setenv("BATOS_LORAS", str(tmp_path / "no-loras"))
    warmed: list[Any] = []

    class Warming(FakeBackend):
        def warm_prefix(self, prefix: Any, adapters: Any = (), *, cancel: Any = None) -> int:
            warmed.append((threading.current_thread().name, list(prefix), list(adapters)))
            return 1
    fake = Warming()
    with batos.open_image(tmp_path / "w.fs") as image:
        session = ReplSession(image, Console(file=io.StringIO()), interactive=False)
        monkeypatch.setenv("BATOS_LLM", "off")
        assert session.handle(":persona babs")
        with dnu.use_backend(fake):
            assert session.handle(":persona robin")
            for thread in threading.enumerate():
                if thread.name.startswith("batos-warm-"):
                    thread.join(10)
    (name, prefixes, adapters), = warmed                    # nothing while generation is off
    assert name == "batos-warm-ROBIN" and adapters == []
    assert prefixes == warmup.persona_prefixes(fake, CODEX["ROBIN"]["system_prompt"])
