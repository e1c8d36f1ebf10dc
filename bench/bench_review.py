"""ALFRED's review on the real model: how often a flaw is called, confirmed, refuted.

Ten generated-looking methods on a ``counter`` (count = 3), four of them wrong. For each,
``review.review`` asks the default model (as ALFRED) and checks any flaw it claims by
running the method on the claimed input. A *raw* verdict counts FLAW as flaw; the
*checked* verdict counts only a confirmed flaw.

    python bench/bench_review.py

Measured 2026-12-02 (2 cores, beside a heartbeat run), 20 s for the ten: raw verdicts
7/10 right (flags isEven: and increment, misses double: and total, flags the right
negated: wrongly); checked verdicts 6/10: the false flaw on negated: names no input
(unverified, no trail), but neither true flaw survives either: ``3 is even, expected
False`` names no output, ``increment(3) gives 2, expected 2`` is refuted by its own
numbers. With this 1.5B reviewer the check trades recall for no false trails.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = (  # selector, source, wrong?
    ("double:", "def double_(self, number):\n    return number + 2\n", True),
    ("triple:", "def triple_(self, number):\n    return number * 3\n", False),
    ("isEven:", "def isEven_(self, number):\n    return number % 2 == 1\n", True),
    ("isOdd:", "def isOdd_(self, number):\n    return number % 2 == 1\n", False),
    ("increment", "def increment(self):\n    return self.count - 1\n", True),
    ("half:", "def half_(self, number):\n    return number / 2\n", False),
    ("negated:", "def negated_(self, number):\n    return 0 - number\n", False),
    ("greetingFor:", "def greetingFor_(self, name):\n    return 'Hello, ' + name\n", False),
    ("total", "def total(self):\n    return self.count * 2\n", True),
    ("squared", "def squared(self):\n    return self.count * self.count\n", False),
)


def main() -> None:
    import batos
    from batos.llm.llamacpp import LlamaCppBackend
    from batos.llm.models import default_model_path
    from batos.mind import improve, review
    from batos.mind.dnu import use_backend
    im = batos.open_image(Path(tempfile.mkdtemp()) / "review.fs")
    c = im.globals["genesis"].clone()
    im.globals["counter"] = c
    c.set_slot("count", 3)
    for sel, src, _ in CASES:
        c.define(sel, src, author="BRICK", provenance={"prompt_hash": "bench"})
    im.commit("bench methods")
    be = LlamaCppBackend(default_model_path())
    raw_right = checked_right = 0
    t0 = time.perf_counter()
    with use_backend(be):
        for sel, _, wrong in CASES:
            r = review.review(im, c, sel, improve.method_for(c, sel))
            said_flaw = r.verdict in ("flaw", "refuted", "unverified")
            raw_right += said_flaw == wrong
            checked_right += (r.verdict == "flaw") == wrong
            print(f"{sel:13} {'wrong' if wrong else 'right':5}  {r.verdict:10} "
                  f"{r.answer[:70]!r} {r.check}", flush=True)
    print(f"raw verdicts right: {raw_right}/{len(CASES)}; checked verdicts right: "
          f"{checked_right}/{len(CASES)}; {time.perf_counter() - t0:.1f} s")
    im.abort()
    im.close()


if __name__ == "__main__":
    os.environ.setdefault("BATOS_LLM", "on")
    main()
