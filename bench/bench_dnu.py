"""doesNotUnderstand_ quality and speed on the default model.

    python bench/bench_dnu.py [--limit N] [--retries 2] [--held-out] [--json out.json]

Quality: an evaluation set of intents (selector, arguments, starting slots, a
check on the result and the slots) covering arithmetic, collections, strings,
pure functions, predicates, formatting and small state machines. Each intent is
sent to a fresh clone of genesis in one image with the model warm; reported:
success on the first try, success with retries, median miss-to-result latency.
Goals: >= 95 % success, median <= 2 s warm.

Speed: miss-to-result time against one raw llama-cpp-python generation of the
same code (goal <= 1.3x), second-miss prompt time against the first (goal <=
0.5x), tokens/s against raw.

Measured 2026-11-22 on the shared 2-core machine (``--held-out``): 41/42 = 98 % on the
first try and with retries (the miss: initialsOf: answers the first two or three
letters), median 1.49-1.77 s over six runs (a seventh, in a slow spell of the shared
machine where every intent took ~40 % longer, read 2.11 s); held out 15/18 = 83 %
(acronymOf: forgets to upper-case, isLeapYear: reaches for calendar, which the guardian
does not allow, asHours: 90 reads 90 as hours); miss-to-result 0.71-1.07x a raw
generation of the same prompt; second miss's prompt 0.03-0.04x a cold first miss (0.68 s
against 19.6 s); 9.7-12.4 tokens/s against raw's 5.2-8.8.

Measured 2026-12-02, quiet machine, ``--modes single,full --sets tuned,held,multi,multi-held``
(held = HELD_OUT + intents.HELD_OUT_2, 42; multi = intents.MULTI_TUNED / MULTI_HELD_OUT):

    set           single (k=1, no CoVe)        full (k=3 + CoVe)
    tuned         95% (40/42) med 1.54 s       100% (42/42) med 6.03 s
    held          86% (36/42) med 1.45 s        86% (36/42) med 6.45 s
    multi         88% (14/16) med 1.91 s        88% (14/16) med 7.18 s
    multi-held    79% (11/14) med 2.16 s        86% (12/14) med 7.16 s

Measured 2026-12-03, same command, after CoVe became one line asked only when the
candidates answer the send differently, three branches padded to four, field-named
parameters and dropped ``other._p_changed`` lines (two runs; the second machine spell
was ~7 % slower: one sequence decoded 14.5 tokens/s against 16.1)::

    set           single              tot (k=3, no CoVe)     full (k=3 + CoVe)
    tuned         40/42 1.39-1.48 s   42/42 1.78-1.93 s      42/42 1.73-1.95 s
    held          35/42 1.34-1.44 s   35/42 1.80-2.09 s      36/42 1.99-2.13 s
    multi         15/16 1.85 s        15/16 2.89 s           15/16 2.66-2.82 s
    multi-held    13/14 2.10 s        13/14 3.27 s           13/14 3.12-3.35 s

(multi before the naming and ``_p_changed`` changes: 14/16 and 12/14 in every mode.)
Decode tokens/s: one sequence 14.5-16.1, three sampled apart in one batch 25.2-26.4 in
all (1.64-1.74x).

Measured 2026-12-03 later, same command, in a slower spell of the machine (one sequence
decoded 10.7 tokens/s against 14.5-16.1), the default against ``BATOS_BRANCH_MIN_P=0.25``
(a first attempt's sampled candidates keep to the greedy path until the model is unsure)::

    set           single         tot (k=3)      full          | min-p 0.25: tot     full
    tuned         40/42 1.96 s   42/42 2.42 s   42/42 2.43 s  |  42/42 2.11 s  42/42 2.22 s
    held          35/42 1.94 s   35/42 2.51 s   36/42 2.63 s  |  35/42 2.51 s  35/42 2.67 s
    multi         15/16 2.39 s   15/16 3.45 s   15/16 3.56 s  |  15/16 2.75 s  15/16 2.73 s
    multi-held    13/14 2.63 s   13/14 3.96 s   13/14 4.04 s  |  13/14 3.70 s  11/14 4.00 s

(k=3 against k=1, tot vs single: 1.23/1.29/1.44/1.51x by default, 1.11/1.13/1.18/1.38x at
min-p 0.25, whose own single column read 1.90/2.23/2.33/2.68 s.) Min-p 0.25 was chosen on
the tuned sets and lost three held-out intents in the full cycle, so it is not the default.

Measured 2026-12-03, third round (one sequence decoded 11.5 tokens/s), ``--modes
single,tot,full --sets tuned,held,multi,multi-held,multi2,held3,multi-held3``, after the
Returns line learnt Pharo's questions, letters-only text questions, running results and
statistics (chosen on the issue's named misreadings, which are also in ``held``: held now
counts as tuned on), the argument line and the lookup feedback (the multi rows re-run
after the last)::

    set           single         tot (k=3)      full
    tuned         40/42 2.01 s   42/42 2.33 s   42/42 2.37 s
    held          39/42 2.05 s   39/42 2.46 s   40/42 2.65 s   (was 35 / 35 / 36)
    multi         15/16 2.24 s   15/16 3.56 s   15/16 3.67 s
    multi-held    13/14 2.69 s   13/14 3.60 s   12/14 4.09 s   (totalMileage: CoVe chose wrong)
    multi2        10/14 2.57 s   11/14 4.23 s   11/14 5.16 s   (new, tuned on)
    held3         24/30 2.99 s   26/30 3.57 s   26/30 4.58 s   (new, fresh held out)
    multi-held3    7/12 3.05 s    7/12 5.15 s    7/12 6.78 s   (new, fresh held out)

held3 and multi-held3 read the same before these changes (held3 24/30 single and 26/30
full, multi-held3 7/12 both): on intents nobody tuned on, the full cycle is at 87 % and
58 %.

Measured 2026-12-03, fourth round, ``--modes single,full --sets tuned,held,multi,
multi-held,multi2,multi3,tuned4,held3,multi-held3,held4,multi-held4 --skip-speed``, with
new round-4 sets (tuned4/multi3 to tune on; intents_held4's held4/multi-held4 written
blind and never tuned on) after the overfit check (mind/overfit.py), the ``…By<Field>``
order reading, self's-slot feedback and tally zeroing::

    set           single         full           (baseline before the changes: single / full)
    tuned         40/42 1.62 s   42/42 2.02 s
    held          39/42 1.76 s   40/42 2.28 s
    multi         15/16 2.05 s   15/16 3.19 s
    multi-held    13/14 2.40 s   12/14 3.50 s
    multi2        10/14 2.41 s   11/14 4.52 s
    multi3         7/14 3.66 s   10/14 6.07 s   (7/14 / 9/14)
    tuned4        27/30 2.15 s   29/30 3.69 s   (26/30 / 28/30)
    held3         24/30 2.51 s   26/30 4.20 s   (unchanged)
    multi-held3    7/12 2.65 s    7/12 5.94 s   (unchanged)
    held4         30/30 1.76 s   30/30 2.65 s   (30/30 / 30/30)
    multi-held4    8/12 2.94 s    8/12 4.77 s   (8/12 / 8/12)

Then the order reading said "sort the objects, then take the field" and overfit kept to
numbers; the same command with ``--sets multi2,multi3,held3,multi-held3,held4,
multi-held4``::

    set           single         full
    multi2        10/14 2.55 s   12/14 4.84 s
    multi3         8/14 3.43 s   11/14 4.46 s
    held3         24/30 2.77 s   26/30 4.47 s
    multi-held3    7/12 2.97 s    7/12 6.21 s
    held4         30/30 1.93 s   30/30 2.84 s
    multi-held4    8/12 3.17 s    8/12 5.03 s

The fresh held-out sets read as before every change of this round: the full cycle gets
56/60 (93 %) of fresh single-object intents and 15/24 (62 %) of fresh multi-object ones.

Before custody, world briefs and families (commit 8ff9dbe, single): held 34/42, multi 4/16,
multi-held 3/14. With BRICK's forged adapter (``--adapter``, single, held): 34/42.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["BATOS_LLM"] = "on"
os.environ.setdefault("BATOS_STREAM", "0")

import batos  # noqa: E402
from batos.mind import genlog  # noqa: E402

Check = Callable[[Any, Any], bool]

# (selector, arguments, starting slots, check(result, receiver))
INTENTS: list[tuple[str, tuple, dict, Check]] = [
    # arithmetic
    ("double:", (21,), {}, lambda r, o: r == 42),
    ("square:", (7,), {}, lambda r, o: r == 49),
    ("average", (), {"numbers": [2, 4, 6]}, lambda r, o: r == 4),
    ("factorialOf:", (6,), {}, lambda r, o: r == 720),
    ("fibonacci:", (10,), {}, lambda r, o: r == 55),
    ("gcdOf:and:", (12, 18), {}, lambda r, o: r == 6),
    ("celsiusToFahrenheit:", (100,), {}, lambda r, o: r == 212),
    ("percentOf:in:", (25, 200), {}, lambda r, o: r == 12.5),
    # collections
    ("sumOfItems", (), {"items": [1, 2, 3, 4]}, lambda r, o: r == 10),
    ("largestItem", (), {"items": [3, 9, 2]}, lambda r, o: r == 9),
    ("evenItems", (), {"items": [1, 2, 3, 4, 6]}, lambda r, o: list(r) == [2, 4, 6]),
    ("sortedItems", (), {"items": [3, 1, 2]}, lambda r, o: list(r) == [1, 2, 3]),
    ("uniqueItems", (), {"items": [1, 1, 2, 3, 3]}, lambda r, o: sorted(r) == [1, 2, 3]),
    ("countOf:", (2,), {"items": [2, 1, 2, 2]}, lambda r, o: r == 3),
    ("addItem:", (5,), {"items": [1]}, lambda r, o: list(o.items) == [1, 5]),
    ("removeItem:", (1,), {"items": [1, 2]}, lambda r, o: list(o.items) == [2]),
    # strings
    ("reverseWords:", ("hello big world",), {}, lambda r, o: r == "world big hello"),
    ("shout:", ("hi",), {}, lambda r, o: r == "HI" or r == "HI!"),
    ("countVowels:", ("education",), {}, lambda r, o: r == 5),
    ("initialsOf:", ("Grace Brewster Hopper",), {}, lambda r, o: r.replace(".", "") == "GBH"),
    ("capitalizeWords:", ("the old man",), {}, lambda r, o: r == "The Old Man"),
    ("wordCount", (), {"text": "a b c d"}, lambda r, o: r == 4),
    ("greet:", ("Ada",), {}, lambda r, o: isinstance(r, str) and "Ada" in r),
    ("slugify:", ("Hello World Again",), {}, lambda r, o: r == "hello-world-again"),
    # pure functions / predicates
    ("isPalindrome:", ("racecar",), {}, lambda r, o: r is True),
    ("isPrime:", (97,), {}, lambda r, o: r is True),
    ("isEven:", (7,), {}, lambda r, o: r is False),
    ("isEmpty", (), {"items": []}, lambda r, o: r is True),
    ("contains:", ("b",), {"items": ["a", "b"]}, lambda r, o: r is True),
    ("isAdult", (), {"age": 20}, lambda r, o: r is True),
    # formatting
    ("formatPrice:", (3.5,), {}, lambda r, o: r in ("$3.50", "3.50")),
    ("asPercent:", (0.25,), {}, lambda r, o: str(r).replace(" ", "") in ("25%", "25.0%", "25.00%")),
    ("fullName", (), {"first": "Ada", "last": "Lovelace"}, lambda r, o: r == "Ada Lovelace"),
    ("padNumber:toWidth:", (7, 3), {}, lambda r, o: r in ("007", "  7")),
    ("display_yourself", (), {}, lambda r, o: isinstance(r, str) and len(r) > 0),
    # small state machines
    ("increment", (), {"count": 1}, lambda r, o: o.count == 2),
    ("reset", (), {"count": 5}, lambda r, o: o.count == 0),
    ("toggle", (), {"on": False}, lambda r, o: o.on is True),
    ("deposit:", (50,), {"balance": 100}, lambda r, o: o.balance == 150),
    ("push:", (3,), {"stack": [1, 2]}, lambda r, o: list(o.stack) == [1, 2, 3]),
    ("pop", (), {"stack": [1, 2]}, lambda r, o: r == 2 and list(o.stack) == [1]),
    ("advance", (), {"state": "green", "order": ["green", "yellow", "red"]},
     lambda r, o: o.state == "yellow"),
]


# Held out: written after the prompt had been tuned on INTENTS, and never used for tuning
# (run with --held-out): a check that the prompt's conventions generalize.
HELD_OUT: list[tuple[str, tuple, dict, Check]] = [
    ("tripleOf:", (5,), {}, lambda r, o: r == 15),
    ("cubeOf:", (3,), {}, lambda r, o: r == 27),
    ("triangleNumber:", (4,), {}, lambda r, o: r == 10),
    ("maxOf:and:", (3, 9), {}, lambda r, o: r == 9),
    ("smallestItem", (), {"items": [4, 2, 8]}, lambda r, o: r == 2),
    ("oddItems", (), {"items": [1, 2, 3, 5]}, lambda r, o: list(r) == [1, 3, 5]),
    ("lastItem", (), {"items": [1, 2, 3]}, lambda r, o: r == 3),
    ("reverseText:", ("abc",), {}, lambda r, o: r == "cba"),
    ("acronymOf:", ("portable network graphics",), {}, lambda r, o: r == "PNG"),
    ("isNegative:", (-3,), {}, lambda r, o: r is True),
    ("isLeapYear:", (2024,), {}, lambda r, o: r is True),
    ("asHours:", (90,), {}, lambda r, o: isinstance(r, str) and r.replace(" ", "")
     in ("1:30", "1h30m", "1.5h", "1.5hours", "01:30")),
    ("decrement", (), {"count": 3}, lambda r, o: o.count == 2),
    ("clearItems", (), {"items": [1, 2]}, lambda r, o: list(o.items) == []),
    ("rename:", ("Bob",), {"name": "Al"}, lambda r, o: o.name == "Bob"),
    ("turnOff", (), {"on": True}, lambda r, o: o.on is False),
    ("withdrawAll", (), {"balance": 70}, lambda r, o: o.balance == 0),
    ("enqueue:", (4,), {"queue": [1]}, lambda r, o: list(o.queue) == [1, 4]),
]


def _subject(image: Any, selector: str, build: Callable[[Any], Any]) -> Any:
    obj = build(image.globals["genesis"])
    image.globals["subject"] = obj
    image.commit(f"bench subject for {selector}")
    return obj


def _slots(slots: dict) -> Callable[[Any], Any]:
    def build(genesis: Any) -> Any:
        obj = genesis.clone()
        for key, value in slots.items():
            obj.set_slot(key, value)
        return obj
    return build


def run_quality(image: Any, limit: int | None, intents: list | None = None, *,
                multi: bool = False) -> dict[str, Any]:
    """Each intent sent to a fresh receiver; ``multi``: intents of bench/intents.py's
    multi-object shape ``(selector, build, arguments, check)``."""
    results = []
    for selector, second, third, check in (INTENTS if intents is None else intents)[:limit]:
        if multi:  # (selector, build, arguments(receiver), check)
            obj = _subject(image, selector, second)
            args = tuple(third(obj))
        else:      # (selector, arguments, starting slots, check)
            obj = _subject(image, selector, _slots(third))
            args = second
        before = len(genlog.entries(image))
        t0 = time.perf_counter()
        ok, error = False, ""
        try:
            value = image.execute(lambda: obj.send(selector, *args), note=f"bench {selector}")
            ok = bool(check(value, obj))
            error = "" if ok else f"wrong result {value!r}"
        except Exception as exc:  # a failed intent is data here
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        seconds = time.perf_counter() - t0
        attempts = len(genlog.entries(image)) - before
        first = ok and attempts == 1
        results.append({"selector": selector, "ok": ok, "first_try": first,
                        "attempts": attempts, "seconds": seconds, "error": error})
        print(f"{'ok ' if ok else 'BAD'} {selector:<24} {attempts} rec {seconds:6.2f} s  {error}",
              flush=True)
    n = len(results)
    return {
        "intents": n,
        "success": sum(r["ok"] for r in results) / n,
        "first_try": sum(r["first_try"] for r in results) / n,
        "median_s": statistics.median(r["seconds"] for r in results),
        "results": results,
    }


def run_speed(image: Any) -> dict[str, Any]:
    """Miss-to-result vs one raw generation of the same prompt; the second miss's
    prompt time against a first miss that finds no prefix cache at all (the
    in-memory one cleared, the disk one pointed at an empty folder)."""
    from batos.llm.llamacpp import get_engine, open_llama
    from batos.llm.models import resolve_model
    genesis = image.globals["genesis"]
    obj = genesis.clone()
    image.globals["speed"] = obj
    obj.set_slot("items", [3, 1, 2])
    image.commit("speed subject")
    os.environ["BATOS_KV_DIR"] = tempfile.mkdtemp(prefix="batos-dnu-bench-kv-")
    get_engine(resolve_model()).invalidate()
    t0 = time.perf_counter()
    image.execute(lambda: obj.send("sortedDescending"), note="speed 1")
    miss1 = time.perf_counter() - t0
    rec1 = genlog.entries(image, 1)[0][1]
    t0 = time.perf_counter()
    image.execute(lambda: obj.send("smallestItem"), note="speed 2")
    miss2 = time.perf_counter() - t0
    rec2 = genlog.entries(image, 1)[0][1]
    raw = open_llama(str(resolve_model()), n_ctx=4096, verbose=False)  # as ours: no AMX buffer
    # warm raw's own prefix cache the same way ours was warmed, then time the same prompt
    raw.create_completion(rec1.prompt, max_tokens=1, temperature=0.0)
    t0 = time.perf_counter()
    out = raw.create_completion(rec2.prompt, max_tokens=384, temperature=0.0,
                                stop=["\n```"])
    raw_s = time.perf_counter() - t0
    raw_tokens = out["usage"]["completion_tokens"]
    return {
        "miss1_s": miss1, "miss2_s": miss2, "raw_same_prompt_s": raw_s,
        "miss_vs_raw": miss2 / raw_s,
        "prompt_s_1": rec1.prompt_seconds, "prompt_s_2": rec2.prompt_seconds,
        "prompt_tokens_1": rec1.prompt_tokens, "cached_1": rec1.prompt_tokens_cached,
        "prompt_tokens_2": rec2.prompt_tokens, "cached_2": rec2.prompt_tokens_cached,
        "tokens_per_s": rec2.completion_tokens / rec2.seconds if rec2.seconds else 0.0,
        "raw_tokens_per_s": raw_tokens / raw_s if raw_s else 0.0,
        "ours_total_tokens_per_s": rec2.completion_tokens / miss2 if miss2 else 0.0,
        **sequences_together(rec2.prompt),
    }


def sequences_together(prompt: str, tokens: int = 40) -> dict[str, float]:
    """Decode tokens/s of one sequence against three sampled apart (temperature 1.0, so
    they branch at once) in one batch, after the same prompt: the cost of Tree-of-Thought
    candidates when they share nothing."""
    from batos.llm.llamacpp import get_engine
    from batos.llm.models import resolve_model
    from batos.llm.parallel import generate_many
    engine = get_engine(resolve_model())
    out: dict[str, float] = {}
    for n in (1, 3):
        rates = []
        for seed in (1, 2):
            many = generate_many(engine, prompt, n, max_tokens=tokens, temperature=[1.0] * n,
                                 seed=seed, stop=["\n```"])
            decode_s = max(c.seconds for c in many) - many[0].prompt_seconds
            rates.append(sum(c.completion_tokens for c in many) / decode_s)
        out[f"tokens_per_s_{n}"] = statistics.mean(rates)
    return out


MODES = {
    # today's cycle before verified generation: one candidate, no proposed examples
    "single": {"candidates": 1, "cove": False},
    # the verified cycle: k candidates decoded together, Chain-of-Verification
    "full": {"candidates": 3, "cove": True},
    # k candidates decoded together without Chain-of-Verification (what CoVe adds)
    "tot": {"candidates": 3, "cove": False},
}


def sets(names: list[str]) -> list[tuple[str, list, bool]]:
    from intents import (HELD_OUT_2, HELD_OUT_3, MULTI_HELD_OUT, MULTI_HELD_OUT_2, MULTI_TUNED,
                         MULTI_TUNED_2, MULTI_TUNED_3, TUNED_4)
    from intents_held4 import HELD_OUT_4, MULTI_HELD_OUT_3
    table = {"tuned": (INTENTS, False), "held": (HELD_OUT + HELD_OUT_2, False),
             "multi": (MULTI_TUNED, True), "multi-held": (MULTI_HELD_OUT, True),
             "multi2": (MULTI_TUNED_2, True), "held3": (HELD_OUT_3, False),
             "multi-held3": (MULTI_HELD_OUT_2, True), "tuned4": (TUNED_4, False),
             "multi3": (MULTI_TUNED_3, True), "held4": (HELD_OUT_4, False),
             "multi-held4": (MULTI_HELD_OUT_3, True)}
    return [(n, *table[n]) for n in names]


def run_mode(mode: str, chosen: list[tuple[str, list, bool]], limit: int | None,
             speed: bool, adapter: Path | None = None) -> dict[str, Any]:
    from batos.settings import overriding
    out: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix=f"batos-dnu-bench-{mode}-"))
    with overriding(**MODES[mode]), batos.open_image(tmp / "bench.fs") as image:
        if adapter is not None:  # BRICK thinks with this LoRA (audited like `batos lora add`)
            from batos.mind.adapters import add_adapter
            add_adapter(image, "BRICK", adapter)
            image.commit(f"bench: BRICK's adapter {adapter.name}")
            print(f"[{mode}] BRICK's adapter: {adapter}")
        warm = image.globals["genesis"].clone()
        image.globals["warm"] = warm
        t0 = time.perf_counter()
        image.execute(lambda: warm.send("answer"), note="warm-up")
        print(f"[{mode}] warm-up (model load + first miss): {time.perf_counter() - t0:.2f} s")
        for name, intents, multi in chosen:
            print(f"\n[{mode}] {name}")
            out[name] = run_quality(image, limit, intents, multi=multi)
        if speed:
            out["speed"] = run_speed(image)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--held-out", action="store_true",
                        help="also run the held-out intents (HELD_OUT and intents.HELD_OUT_2)")
    parser.add_argument("--sets", default=None,
                        help="comma-separated: tuned, held, multi, multi-held, multi2 "
                             "(intents.MULTI_TUNED_2), held3 "
                             "(intents.HELD_OUT_3), multi-held3 (intents.MULTI_HELD_OUT_2), "
                             "tuned4 (intents.TUNED_4), multi3 (intents.MULTI_TUNED_3), held4 "
                             "(intents_held4.HELD_OUT_4), multi-held4 "
                             "(intents_held4.MULTI_HELD_OUT_3) "
                             "(default: tuned, plus held with --held-out)")
    parser.add_argument("--adapter", type=Path, default=None,
                        help="a LoRA GGUF for BRICK (e.g. loras/brick.gguf): base vs adapter")
    parser.add_argument("--cove-lines", type=int, default=None,
                        help="lines of examples CoVe asks for (the setting cove_lines; default 1)")
    parser.add_argument("--modes", default="full",
                        help="comma-separated: single (k=1, no CoVe), tot (k=3), full (k=3 + CoVe)")
    args = parser.parse_args()
    os.environ["BATOS_RETRIES"] = str(args.retries)
    if args.cove_lines is not None:
        os.environ["BATOS_COVE_LINES"] = str(args.cove_lines)
    names = (args.sets.split(",") if args.sets
             else ["tuned"] + (["held"] if args.held_out else []))
    chosen = sets(names)
    modes = args.modes.split(",")
    results = {m: run_mode(m, chosen, args.limit, not args.skip_speed and m == modes[-1],
                           args.adapter) for m in modes}
    print("\nset           " + "".join(f"{m:>28}" for m in modes))
    for name, _, _ in chosen:
        cells = []
        for m in modes:
            q = results[m][name]
            cells.append(f"{q['success']:>5.0%} ({round(q['success'] * q['intents'])}/"
                         f"{q['intents']}) med {q['median_s']:5.2f} s")
        print(f"{name:<14}" + "".join(f"{c:>28}" for c in cells))
    speed = results[modes[-1]].get("speed")
    if speed:
        print(f"miss-to-result {speed['miss2_s']:.2f} s vs raw generation of the same prompt "
              f"{speed['raw_same_prompt_s']:.2f} s: ratio {speed['miss_vs_raw']:.2f}x (goal <= 1.3x)")
        print(f"prompt tokens reused from the prefix cache on the second miss: "
              f"{speed['cached_2']}/{speed['prompt_tokens_2']}; second-miss prompt time "
              f"{speed['prompt_s_2']:.2f} s vs first {speed['prompt_s_1']:.2f} s: "
              f"{speed['prompt_s_2'] / max(speed['prompt_s_1'], 1e-9):.2f}x (goal <= 0.5x)")
        print(f"tokens/s {speed['tokens_per_s']:.1f} vs raw {speed['raw_tokens_per_s']:.1f}")
        print(f"decode tokens/s, one sequence {speed['tokens_per_s_1']:.1f}; three sampled "
              f"apart in one batch {speed['tokens_per_s_3']:.1f} in all "
              f"({speed['tokens_per_s_3'] / speed['tokens_per_s_1']:.2f}x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
