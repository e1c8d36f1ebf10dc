"""Base versus adapter, before incarnating: the same cases, the same checks.

Each case is a message with the examples it must satisfy: the fixed :data:`PROBES`
(small objects built for the run) and the held-out split of the dataset whose
receiver still has a contract for the selector (a held-out example without one
cannot be checked and is only counted). A case passes when doesNotUnderstand_'s own
cycle writes a method that passes the guardian, compiles and satisfies every example
on its first attempt (retries 0, one candidate). Everything runs in a scratch copy of
the image, first with the persona's current weights, then with the adapter
incarnated there; the real image is never written.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

# (receiver name, slots, selector, examples as (arguments, answer))
PROBES: list[tuple[str, dict[str, Any], str, list[tuple[list[Any], Any]]]] = [
    ("probeCounter", {"count": 3}, "double:", [([4], 8), ([0], 0)]),
    ("probeWords", {"text": "a bb ccc"}, "wordCount", [([], 3)]),
    ("probeList", {"items": [3, 1, 2]}, "largest", [([], 3)]),
    ("probeMath", {}, "squareOf:", [([5], 25), ([-2], 4)]),
    ("probeText", {}, "reverse:", [(["abc"], "cba")]),
    ("probeList2", {"items": [1, 2, 3, 4]}, "evenItems", [([], [2, 4])]),
    ("probeTemp", {"celsius": 100}, "fahrenheit", [([], 212)]),
    ("probeText2", {}, "isPalindrome:", [(["level"], True), (["abc"], False)]),
]


@dataclass
class Case:
    receiver: str
    selector: str
    examples: list[Any]          # batos.lang.contracts.Example
    slots: dict[str, Any] | None = None   # a probe: the object is made with these


def _probe_cases() -> list[Case]:
    from batos.lang.contracts import Example
    return [Case(name, sel, [Example(list(args), answer, {}) for args, answer in exs], slots)
            for name, slots, sel, exs in PROBES]


def _heldout_cases(image: Any, heldout: Sequence[Any]) -> tuple[list[Case], int]:
    """Held-out examples whose receiver (a named global) has a contract for the selector,
    or that the heartbeat's curriculum taught (it teaches on a scratch clone of the
    intent's receiver, so the log names the clone: the intent gives the global and the
    examples); also answers how many could not be checked."""
    from batos.lang.contracts import table_of
    from batos.mind.workstate import global_name
    taught = _curriculum_cases(image)
    cases, unchecked = [], 0
    for ex in heldout:
        obj = image.globals.get(global_name(ex.receiver)) if ex.receiver else None
        table = table_of(image, obj) if obj is not None else None
        contract = table.by_selector.get(ex.selector) if table is not None else None
        if contract is not None and contract.examples:
            cases.append(Case(global_name(ex.receiver), ex.selector, list(contract.examples)))
        elif ex.selector in taught:
            cases.append(taught[ex.selector])
        else:
            unchecked += 1
    return cases, unchecked


def _curriculum_cases(image: Any) -> dict[str, Case]:
    """The curriculum's intents with examples, by selector: those already taught
    (``taught``, kept by :func:`batos.mind.improve.run_intent`) and those queued."""
    from batos.errors import BatosError
    from batos.lang.contracts import parse_examples
    from batos.mind.workstate import state
    st = state(image, create=False)
    out: dict[str, Case] = {}
    intents = [] if st is None else [*(st.get("taught") or {}).values(), *st["curriculum"]]
    for intent in intents:
        selector, receiver = str(intent.get("selector", "")), str(intent.get("receiver", ""))
        if selector in out or not intent.get("examples") or receiver not in image.globals:
            continue
        try:
            examples = parse_examples(selector, image.evaluate(str(intent["examples"])))
        except BatosError:
            continue
        if examples:
            out[selector] = Case(receiver, selector, examples)
    return out


def run_case(image: Any, case: Case) -> bool:
    """Whether doesNotUnderstand_ writes a method for ``case`` that passes its checks
    (the image's transaction is aborted afterwards)."""
    from batos.image.message import Message
    from batos.image.proto import Proto
    from batos.mind.dnu import DNUCycle
    try:
        if case.slots is not None:
            obj = Proto(case.receiver, dict(case.slots))
            image.globals[case.receiver] = obj
        else:
            obj = image.globals[case.receiver]
        args = list(case.examples[0].args) if case.examples else []
        DNUCycle(image, obj, Message(obj, case.selector, args), examples=case.examples,
                 send=False).run()
        return True
    except Exception:  # noqa: BLE001 - any failure of the cycle is a failed case
        return False
    finally:
        image.abort()


def copy_image(path: str | Path, into: Path) -> Path:
    """A scratch copy of the image file (and its blobs) in ``into``."""
    src = Path(path)
    dest = into / src.name
    shutil.copy2(src, dest)
    blobs = Path(str(src) + ".blobs")
    if blobs.is_dir():
        shutil.copytree(blobs, Path(str(dest) + ".blobs"))
    return dest


def evaluate(image_path: str | Path, persona: str, adapter: str, model: str,
             heldout: Sequence[Any], *, max_tokens: int | None = None,
             on_case: Callable[[str, Case, bool], None] | None = None) -> dict[str, Any]:
    """Pass counts of the base and the adapter on the held-out split and the probes:
    ``{"heldout": {"base", "adapter", "cases", "unchecked"}, "probes": {...}, "seconds"}``."""
    import batos
    from batos.mind.adapters import add_adapter
    from batos.settings import overriding
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="batos-forge-eval-") as tmp:
        scratch = copy_image(image_path, Path(tmp))
        with overriding(model=model, persona=persona.upper(), llm=True, retries=0,
                        candidates=1, cove=False, max_tokens=max_tokens, url=""):
            image = batos.open_image(scratch)
            try:
                held, unchecked = _heldout_cases(image, heldout)
                groups = {"heldout": held, "probes": _probe_cases()}
                for part, cases in groups.items():
                    out[part] = {"base": 0, "adapter": 0, "cases": len(cases)}
                out["heldout"]["unchecked"] = unchecked
                from batos.mind.personas import find_persona
                find_persona(image, persona).set_slot("adapter", None)
                image.commit("forge evaluation: the base")
                for variant in ("base", "adapter"):
                    if variant == "adapter":
                        add_adapter(image, persona, adapter, model=model)
                        image.commit("forge evaluation: the adapter")
                    for part, cases in groups.items():
                        for case in cases:
                            ok = run_case(image, case)
                            out[part][variant] += int(ok)
                            if on_case is not None:
                                on_case(variant, case, ok)
            finally:
                image.close()
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


__all__ = ["evaluate", "PROBES", "Case", "run_case", "copy_image"]
