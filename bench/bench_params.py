"""A/B of parameter naming on the default model: by argument type ("kind": ``number1,
number2``, ``text``) against by meaning ("meaning": ``low, high``, ``word``, ``celsius``;
:func:`batos.mind.prompts.param_names`).

    nice python bench/bench_params.py [--retries 2] [--candidates 1] [--json out.json]

Each intent is one where the two namings differ (the script checks, and says so when
one does not): keyword pairs (between:and:, from:to:), an argument that is an element
of the receiver's collection, a parameter that would shadow a slot (``text`` over a
``text`` slot), keyword nouns, unit conversions, an argument the receiver holds. The
intents are this script's own (none from bench_dnu.py or bench/intents*.py). Both arms
run in one image with the model warm, each intent to a fresh receiver, arms interleaved
per intent (A then B) so a slow spell of the shared machine hits both; everything else
in the brief is the same (the world lines of :mod:`batos.mind.world` in both).
Single-shot by default (one candidate, no proposed examples): the naming is the only
difference in the prompt.

Measured 2026-12-02 on the shared 2-core machine (load average ~8, so the times are
the machine's, not the method's), single-shot, retries 2: kind 12/15 on the first try and
with retries, meaning 15/15 and 15/15; median 36.3 s against 32.4 s. The three that only
"meaning" got right: clampBetween:and: (number1/number2 → 0; low/high right),
frequencyOf: over ``letters`` (``text`` → 1; ``letter`` right), countChar: over a ``text``
slot (the parameter ``text`` shadowed the slot → 1; ``char`` right). The intents were
written knowing the naming rules, so this shows "not worse where the names differ",
not a general success rate.
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
os.environ["BATOS_LLM"] = "on"
os.environ.setdefault("BATOS_STREAM", "0")

import batos  # noqa: E402
from batos.mind import dnu, genlog  # noqa: E402
from batos.mind import prompts  # noqa: E402
from batos.mind.world import params_and_world  # noqa: E402
from intents import members as _members  # noqa: E402  (bench/intents.py)

Check = Callable[[Any, Any], bool]


def _garden(genesis: Any) -> dict[str, Any]:
    return {"plants": _members(genesis, [{"name": "rose", "height": 40},
                                         {"name": "fern", "height": 30}])}


def _club(genesis: Any) -> dict[str, Any]:
    return {"members": _members(genesis, [{"name": "ann"}, {"name": "bo"}])}


# (selector, arguments(receiver), slots(genesis), check(result, receiver))
INTENTS: list[tuple[str, Callable[[Any], tuple], Callable[[Any], dict], Check]] = [
    ("clampBetween:and:", lambda o: (0, 10), lambda g: {"level": 15},
     lambda r, o: r == 10 or o.level == 10),
    ("sumFrom:to:", lambda o: (3, 6), lambda g: {}, lambda r, o: r == 18),
    ("countBetween:and:", lambda o: (2, 5), lambda g: {"numbers": [1, 2, 3, 6, 5]},
     lambda r, o: r == 3),
    ("frequencyOf:", lambda o: ("x",), lambda g: {"letters": ["x", "y", "x"]},
     lambda r, o: r == 2),
    ("tally:", lambda o: ("b",), lambda g: {"words": ["a", "b", "b"]}, lambda r, o: r == 2),
    ("countChar:", lambda o: ("l",), lambda g: {"text": "hello world"}, lambda r, o: r == 3),
    ("celsiusToKelvin:", lambda o: (25,), lambda g: {},
     lambda r, o: isinstance(r, (int, float)) and abs(r - 298.15) < 0.01),
    ("hoursToMinutes:", lambda o: (2,), lambda g: {}, lambda r, o: r == 120),
    ("addScore:", lambda o: (7,), lambda g: {"scores": [3]}, lambda r, o: list(o.scores) == [3, 7]),
    ("setTitle:", lambda o: ("Dune",), lambda g: {"title": "Emma"}, lambda r, o: o.title == "Dune"),
    ("removeWord:", lambda o: ("b",), lambda g: {"words": ["a", "b", "c"]},
     lambda r, o: list(o.words) == ["a", "c"]),
    ("at:put:", lambda o: ("pen", 3), lambda g: {"stock": {}}, lambda r, o: o.stock.get("pen") == 3),
    ("isMember:", lambda o: (o.members[1],), _club, lambda r, o: r is True),
    ("heightOfPlantNamed:", lambda o: ("fern",), _garden, lambda r, o: r == 30),
    ("repeatText:times:", lambda o: ("ab", 3), lambda g: {}, lambda r, o: r == "ababab"),
]


def _with_world(original: Callable[..., Any]) -> Callable[..., Any]:
    """dnu.decompose, its parameters and world lines from :mod:`batos.mind.world` (the
    naming as prompts.NAMING says), whether or not dnu.py calls it already."""
    def decompose(image: Any, receiver: Any, message: Any) -> Any:
        brief = original(image, receiver, message)
        brief.params, brief.world = params_and_world(image, receiver, message.selector,
                                                     list(message.arguments))
        return brief
    return decompose


def run(retries: int, candidates: int) -> dict[str, Any]:
    from batos.settings import overriding
    dnu.decompose = _with_world(dnu.decompose)
    rows: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="batos-params-bench-"))
    with overriding(candidates=candidates, cove=False, retries=retries), \
            batos.open_image(tmp / "bench.fs") as image:
        g = image.globals["genesis"]
        warm = g.clone()
        image.globals["warm"] = warm
        t0 = time.perf_counter()
        image.execute(lambda: warm.send("answer"), note="warm-up")
        print(f"warm-up (model load + first miss): {time.perf_counter() - t0:.2f} s", flush=True)
        for selector, arguments, slots, check in INTENTS:
            for naming in ("kind", "meaning"):
                prompts.NAMING = naming
                obj = g.clone()
                for key, value in slots(g).items():
                    obj.set_slot(key, value)
                image.globals["subject"] = obj
                image.commit(f"params bench subject {selector}")
                args = tuple(arguments(obj))
                params, _ = params_and_world(image, obj, selector, args)
                before = len(genlog.entries(image))
                t0 = time.perf_counter()
                ok, error = False, ""
                try:
                    value = image.execute(lambda: obj.send(selector, *args),
                                          note=f"params bench {selector}")
                    ok = bool(check(value, obj))
                    error = "" if ok else f"wrong result {value!r}"
                except Exception as exc:  # a failed intent is data here
                    error = f"{type(exc).__name__}: {str(exc)[:160]}"
                seconds = time.perf_counter() - t0
                attempts = len(genlog.entries(image)) - before
                rows.append({"selector": selector, "naming": naming, "params": params,
                             "ok": ok, "first_try": ok and attempts == 1,
                             "attempts": attempts, "seconds": seconds, "error": error})
                print(f"{naming:<7} {'ok ' if ok else 'BAD'} {selector:<22} "
                      f"({', '.join(params)}) {attempts} att {seconds:6.2f} s  {error}",
                      flush=True)
    prompts.NAMING = "meaning"
    summary: dict[str, Any] = {"intents": len(INTENTS), "rows": rows}
    same = [s for s, *_ in INTENTS
            if len({tuple(r["params"]) for r in rows if r["selector"] == s}) == 1]
    summary["same_names"] = same
    for naming in ("kind", "meaning"):
        mine = [r for r in rows if r["naming"] == naming]
        summary[naming] = {"success": sum(r["ok"] for r in mine),
                           "first_try": sum(r["first_try"] for r in mine),
                           "median_s": round(statistics.median(r["seconds"] for r in mine), 2)}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    ns = parser.parse_args()
    summary = run(ns.retries, ns.candidates)
    n = summary["intents"]
    print(f"\n{'naming':<8} {'first try':>10} {'with retries':>13} {'median s':>9}")
    for naming in ("kind", "meaning"):
        s = summary[naming]
        print(f"{naming:<8} {s['first_try']:>6}/{n:<3} {s['success']:>9}/{n:<3} {s['median_s']:>9}")
    if summary["same_names"]:
        print("intents whose names did not differ:", ", ".join(summary["same_names"]))
    if ns.json:
        ns.json.write_text(json.dumps(summary, indent=2, default=str), "utf-8")


if __name__ == "__main__":
    main()
