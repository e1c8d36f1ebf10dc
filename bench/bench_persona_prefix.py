"""The first doesNotUnderstand_ miss per persona on the default model (issue 19, item 10b).

    python bench/bench_persona_prefix.py            # a fresh KV directory, two processes
    python bench/bench_persona_prefix.py --keep-kv  # the user's own KV directory

Process A (in a scratch image, a fresh ``$BATOS_KV_DIR``) sends one new message per
persona -- BRICK, ROBIN, BABS, ALFRED, as ``:persona NAME`` then a miss would -- and
prints, per miss, the prompt tokens, how many came from the prefix cache (memory or
disk), the prompt seconds and the whole generation's seconds. Process B then does
the same for ROBIN and BABS: in a new process only the on-disk prefix states help.
One generation per miss (no retries), at most 48 tokens.

Measured 2026-12-02 on the shared, loaded 2-core machine (seconds are noisy there; the
token counts are not). Before (persona codex first in the system message): each
persona's first miss in process A evaluated its whole ~1,250-token prompt (5 cached):
BRICK 65.6 s, ROBIN 86.2 s, BABS 53.5 s, ALFRED 14.1 s of prompt time; process B
restored ~1,160 from disk (1.4 s). After (covenant and examples first, codex opening
the brief): BRICK 65.2 s (cold shared part), then ROBIN, BABS, ALFRED had 1,119 tokens
cached and evaluated ~130 (8.6 s, 1.7 s, 9.5 s); process B restored ~1,160 (4.9 s,
2.4 s). Five KV files (shared + four personas, 166 MB).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _child(personas: list[str], image_path: str, tag: str) -> None:
    sys.path.insert(0, str(ROOT))
    import batos
    from batos.mind import dnu
    from batos.llm.backend import get_backend
    from batos.llm.models import default_model_path

    real = get_backend(str(default_model_path()))
    seen: list[Any] = []

    class Recorder:
        """The real backend, remembering each Completion."""

        name = real.name

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def generate(self, prompt: str, **kw: Any) -> Any:
            done = real.generate(prompt, **kw)
            seen.append(done)
            return done

    rows = []
    with batos.open_image(image_path) as image:
        image.options["retries"] = 0
        image.options["max_tokens"] = 48
        g = image.globals
        if "shelf" not in g:
            shelf = g["genesis"].clone()
            g["shelf"] = shelf
            shelf.set_slot("books", ["Dune", "Emma", "Ulysses"])
            image.commit("shelf")
        t_load = time.perf_counter()
        real.preload()
        load = time.perf_counter() - t_load
        with dnu.use_backend(Recorder()):
            for name in personas:
                selector = f"countTitlesFor{name.capitalize()}{tag}"
                with dnu.use_persona(name):
                    t0 = time.perf_counter()
                    try:
                        image.execute(lambda: g["shelf"].send(selector), note=selector)
                        ok = True
                    except Exception:
                        image.abort()
                        ok = False
                    wall = time.perf_counter() - t0
                done = seen[-1]
                rows.append({"persona": name, "prompt_tokens": done.prompt_tokens,
                             "cached": done.prompt_tokens_cached,
                             "prompt_s": round(done.prompt_seconds, 2),
                             "gen_s": round(done.seconds, 2), "miss_s": round(wall, 2),
                             "tokens_out": done.completion_tokens, "ok": ok})
    print(json.dumps({"load_s": round(load, 2), "rows": rows}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep-kv", action="store_true", help="use the user's KV directory")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0].split(","), args.child[1], args.child[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, BATOS_STREAM="0", BATOS_CONFINE="off")
        if not args.keep_kv:
            env["BATOS_KV_DIR"] = str(Path(tmp) / "kv")
        image = str(Path(tmp) / "bench.fs")
        for label, personas, tag in (("A (fresh process, fresh KV dir)",
                                      "BRICK,ROBIN,BABS,ALFRED", "A"),
                                     ("B (new process, KV on disk)", "ROBIN,BABS", "B")):
            out = subprocess.run([sys.executable, __file__, "--child", personas, image, tag],
                                 env=env, capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(out.stderr[-3000:])
                raise SystemExit(out.returncode)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"process {label}: model load {data['load_s']} s")
            print(f"  {'persona':<8} {'prompt':>7} {'cached':>7} {'prompt s':>9} "
                  f"{'gen s':>7} {'miss s':>7}  installed")
            for r in data["rows"]:
                print(f"  {r['persona']:<8} {r['prompt_tokens']:>7} {r['cached']:>7} "
                      f"{r['prompt_s']:>9} {r['gen_s']:>7} {r['miss_s']:>7}  "
                      f"{r.get('ok', '?')}")
        if not args.keep_kv:
            files = sorted((Path(tmp) / "kv").glob("*.kv"))
            size = sum(f.stat().st_size for f in files) / 1e6
            print(f"KV files on disk: {len(files)} ({size:.0f} MB)")


if __name__ == "__main__":
    main()
