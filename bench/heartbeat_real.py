"""A heartbeat run on the real model: seed an image, let `batos heartbeat` work, report.

    python bench/heartbeat_real.py seed IMAGE.fs      # subjects, a shop, the curriculum
    timeout -s TERM 60m batos heartbeat IMAGE.fs --every 3 --budget 90
    python bench/heartbeat_real.py report IMAGE.fs    # what the beats did

The seed holds:

* the 71 subjects of BRICK's curriculum (``loras/curriculum.py``: ``lesson0`` ...), and
  its intents queued with their examples through ``batos mind seed`` (a JSON Lines file
  written next to the image), so every method the heartbeat adds there passed a contract;
* ``shop``, with methods written by a scripted backend as the model might write them:
  ``double:`` (``number + 2``, which passes ``2 -> 4`` by chance) and ``square:``
  (``number * 2``), each with a contract it fails, ``triple:`` (right, no contract), and a
  human-written, wrong ``cube:`` with a failing contract (the heartbeat must leave it).

None of these selectors is in ``bench/bench_dnu.py``'s or ``bench/intents.py``'s
evaluation sets: held-out success before and after is measured there
(``bench_dnu.py --modes single --sets held [--adapter A.gguf]``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "loras"))


def seed(path: Path) -> None:
    import batos
    from batos.lang.contracts import parse_examples, set_contract
    from batos.llm import FakeBackend
    from batos.mind.dnu import use_backend
    from curriculum import CURRICULUM, bst, example

    written = {"double_": "return number + 2", "square_": "return number * 2",
               "triple_": "return number * 3"}

    def scripted(prompt: str) -> str:
        import re
        name = re.findall(r"def (\w+)\(self", prompt)[-1]
        return "    " + written.get(name, "return self") + "\n```"

    im = batos.open_image(path)
    for i, (_, slots, _) in enumerate(CURRICULUM):
        obj = im.globals["genesis"].clone()
        for key, value in slots.items():
            obj.set_slot(key, value)
        im.globals[f"lesson{i}"] = obj
    shop = im.globals["genesis"].clone()
    im.globals["shop"] = shop
    im.commit("heartbeat run: curriculum subjects and a shop")
    with use_backend(FakeBackend(scripted)):
        for text in ("shop double: 2", "shop square: 2", "shop triple: 2"):
            im.execute(lambda: im.evaluate(text), note=f"heartbeat run seed: {text}")
    im.execute(lambda: shop.define("cube:", "def cube_(self, n):\n    return n * n\n"),
               note="heartbeat run seed: a human's wrong cube:")
    for sel, ex in (("double:", "{2 -> 4. 5 -> 10}"), ("square:", "{3 -> 9}"),
                    ("cube:", "{2 -> 8}")):
        im.execute(lambda: set_contract(im, shop, sel, parse_examples(sel, im.evaluate(ex))),
                   note=f"heartbeat run seed: contract {sel}")
    im.close()
    lines = []
    for i, (selector, _, examples) in enumerate(CURRICULUM):
        args = [bst(a) for a in examples[0][0]]
        lines.append(json.dumps({"receiver": f"lesson{i}", "selector": selector, "args": args,
                                 "examples": "{" + ". ".join(example(a, r) for a, r in examples)
                                 + "}"}))
    intents = path.with_suffix(".intents.jsonl")
    intents.write_text("\n".join(lines) + "\n")
    subprocess.run([sys.executable, "-m", "batos.cli.main", "mind", "seed", str(intents),
                    "--image", str(path)], check=True)


def report(path: Path) -> None:
    import batos
    from batos.mind import ether, genlog, heartbeat, improve
    from batos.render.mind import render_history
    im = batos.open_image(path, read_only=True)
    shop = im.globals["shop"]
    beats = heartbeat.beats(im)
    works = [b for b in beats if b.get("improved")]
    kinds: dict[str, int] = {}
    for b in works:
        kinds[str(b.get("work", "?")).split(" ", 1)[0]] = kinds.get(
            str(b.get("work", "?")).split(" ", 1)[0], 0) + 1
    passed, checked = improve.contract_rates(im)
    outcomes = genlog.outcomes(im)
    print(f"beats: {len(beats)}; improveCognition: {len(works)} {kinds}")
    if beats:
        span = beats[-1].get("time", 0) - beats[0].get("time", 0)
        print(f"span: {span / 60:.1f} min; CEM first {beats[0]['cem']:.3f}, last {beats[-1]['cem']:.3f}")
    for b in works:
        print(f"  beat {b.get('n')}: {b.get('work')}"
              + (f"  ERROR {b.get('error')}" if b.get("error") else ""))
    print(f"contracts passing: {passed}/{checked}")
    for sel, args in (("double_", (5,)), ("square_", (3,)), ("triple_", (4,)), ("cube_", (2,))):
        owner, method = shop.lookup(sel)
        author = (getattr(method, "provenance", None) or {}).get("author", "?")
        print(f"  shop {sel}{args} = {getattr(shop, sel)(*args)!r}; by {author}: "
              f"{method.source.strip().splitlines()[-1].strip()}")
    print(f"generations logged: {len(outcomes)}; installed (golden candidates): "
          f"{improve.golden_count(im)}")
    print("flaw trails:", [(p.topic, p.persona) for p in ether.trails(im, kind="flaw")])
    print("strongest trails:", [(p.kind, p.topic, p.persona, round(p.intensity, 2))
                                for p in ether.trails(im, limit=8)])
    step = max(1, -(-len(beats) // 80))
    print(f"CEM and its parts over the beats (oldest left, every {step}th beat):")
    print(render_history(beats[::step], width=80))
    for b in beats[::max(1, len(beats) // 8)] + beats[-1:]:
        parts = " ".join(f"{k} {v:.2f}" for k, v in b["parts"].items())
        print(f"  beat {b.get('n', '?'):>4}: CEM {b['cem']:.3f} ({parts})")
    im.close()
    log = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "batos" / \
        "heartbeat-forge.log"
    if log.exists():
        print("forge log (tail):")
        print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("seed", "report"):
        sys.exit(__doc__)
    (seed if sys.argv[1] == "seed" else report)(Path(sys.argv[2]))
