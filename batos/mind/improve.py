"""``genesis improveCognition``: the self-directed work the heartbeat sends on stagnation.

One call is one PSM cycle (kind ``improveCognition``, its own trace) in one transaction
noted ``heartbeat: improveCognition: …`` (undo it with ``batos image undo``). It plans
the work the record and the digital ether point at, does the first item that applies,
and checks what it did:

1. **reverify** contracts that have not run since their method changed (a method's
   source hash differs from the one last verified); failures leave ``broken`` trails;
2. **propose** examples for generated methods without a contract, marked as proposed
   (needs :mod:`batos.mind.cove`; skipped with a note when it is not there);
3. **review** one generated method never reviewed (or changed since): ALFRED answers
   ``OK`` or ``FLAW: …`` (:mod:`batos.mind.review`); a flaw leaves a ``flaw`` trail
   against the persona that wrote it; the method itself is never changed;
4. **regenerate** a generated method whose contract fails (the strongest ``broken``
   trail first): the old source is logged as rejected, the new one must pass;
5. **curriculum**: one intent for a weak area (the user's seed queue, then failures in
   the log on the topic the failure trails point at) through verified generation on a
   scratch clone, the persona chosen by the router with the ether's pull;
6. **forge**: when the golden dataset (installed generations) has grown enough and the
   runner can start the forge (``allow_forge``: the CLI passes it when the forge extra is
   installed), mark the persona that needs it; the heartbeat then starts
   ``batos forge train`` once the image is closed.

Human-written methods (provenance author ``human``, or none from a model) are never
changed: their broken contracts are reported and trailed, nothing more.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from batos.errors import BatosError
from batos.mind.workstate import (MAX_INTENT_TRIES, STATE_KEY, count_try, fresh_verdict,
                                  generated_methods, global_name, is_generated, method_for,
                                  method_key as _key, state, verification_hash as _hash)

MAX_REVERIFY = 50        # contracts re-run by one cycle
FORGE_MIN = 50           # new golden examples before a forge run is asked for
CYCLE_TIMEOUT = 120.0    # seconds the cycle's own work may take (generation not counted)


def contract_rates(image: Any) -> tuple[int, int]:
    """(contracts that passed, contracts checked) among fresh verification records (the
    method has not changed since)."""
    from batos.lang.contracts import all_contracts
    st = state(image, create=False)
    if st is None:
        return 0, 0
    passed = checked = 0
    for owner, contract in all_contracts(image):
        verdict = fresh_verdict(st, owner, contract, method_for(owner, contract.selector))
        if verdict is None:
            continue
        checked += 1
        passed += verdict == "passed"
    return passed, checked


def stale_contracts(image: Any) -> list[tuple[Any, Any]]:
    """(owner, contract) whose method changed since it was last verified (or never was)."""
    from batos.lang.contracts import all_contracts
    st = state(image, create=False)
    out = []
    for owner, contract in all_contracts(image):
        method = method_for(owner, contract.selector)
        if method is not None and fresh_verdict(st, owner, contract, method) is None:
            out.append((owner, contract))
    return out


def failing_generated(image: Any) -> list[tuple[Any, Any, Any]]:
    """(owner, contract, method) whose generated method failed its fresh verification."""
    from batos.lang.contracts import all_contracts
    st = state(image, create=False)
    if st is None:
        return []
    out = []
    for owner, contract in all_contracts(image):
        method = method_for(owner, contract.selector)
        if (fresh_verdict(st, owner, contract, method) not in (None, "passed")
                and is_generated(method)
                and st["tries"].get(_regen_key(owner, contract, method), 0) < MAX_INTENT_TRIES):
            out.append((owner, contract, method))
    return out


def _regen_key(owner: Any, contract: Any, method: Any) -> str:
    return f"regenerate {_key(owner, contract.selector)} {_hash(method, contract)[:16]}"


def untested_generated(image: Any, limit: int = 20) -> list[tuple[Any, str]]:
    """(object, selector) of generated unary methods in globals' own slots with no
    contract (and not tried :data:`MAX_INTENT_TRIES` times already)."""
    from batos.lang.contracts import arity, contracts_of
    st = state(image, create=False)
    tries = st["tries"] if st is not None else {}
    out: list[tuple[Any, str]] = []
    for obj, m in generated_methods(image):
        if (arity(m.selector) == 0 and m.selector not in contracts_of(image, obj)
                and tries.get(f"propose {_key(obj, m.selector)}", 0) < MAX_INTENT_TRIES):
            out.append((obj, m.selector))
            if len(out) >= limit:
                return out
    return out


def add_curriculum(image: Any, intents: list[dict[str, Any]]) -> int:
    """Queue intents: ``{"receiver": GLOBAL, "selector": SEL, "args": [BST literal, ...],
    "examples": "{3 -> 6}" (optional)}``. Answers how many are queued now."""
    queue = state(image)["curriculum"]
    for intent in intents:
        if not intent.get("receiver") or not intent.get("selector"):
            raise BatosError(f"a curriculum intent needs a receiver and a selector: {intent!r}")
        queue.append({"receiver": str(intent["receiver"]), "selector": str(intent["selector"]),
                      "args": [str(a) for a in intent.get("args", [])],
                      "examples": str(intent.get("examples") or "")})
    return len(queue)


def intent_key(intent: dict[str, Any]) -> str:
    key = f"{intent['receiver']}#{intent['selector']}({', '.join(intent.get('args', []))})"
    return key + (f" {intent['examples']}" if intent.get("examples") else "")


def curriculum_intents(image: Any, now: float | None = None) -> list[dict[str, Any]]:
    """Intents to try, best first: the seed queue, then failures in the log on the
    weakest areas of the ether (each tried at most :data:`MAX_INTENT_TRIES` times)."""
    from batos.mind import ether, genlog
    st = state(image, create=False)
    tries = st["tries"] if st is not None else {}
    found: list[dict[str, Any]] = [dict(i) for i in (st["curriculum"] if st is not None else [])]
    weak = [topic for topic, _ in ether.weak_areas(image, now=now)]
    failures = [r for _, r in genlog.entries(image, 500) if isinstance(r, genlog.FailureRecord)]
    for topic in weak:
        for rec in failures:
            if ether.overlap(ether.topic_words(rec.selector), topic) > 0 \
                    and global_name(rec.receiver) in image.globals:
                found.append({"receiver": global_name(rec.receiver), "selector": rec.selector,
                              "args": list(rec.arguments), "examples": "", "topic": topic})
    out, seen = [], set()
    for intent in found:
        key = intent_key(intent)
        if key not in seen and tries.get(key, 0) < MAX_INTENT_TRIES:
            seen.add(key)
            out.append(intent)
    return out


def golden_count(image: Any) -> int:
    """Installed generations in the log: the golden dataset's candidates."""
    from batos.mind.genlog import outcomes
    return sum(1 for verdict, _ in outcomes(image) if verdict == "installed")


def _cove_proposer() -> Callable[..., Any] | None:
    """:func:`propose_examples` when :mod:`batos.mind.cove` is there, else None."""
    try:
        from batos.mind import cove
    except ImportError:
        return None
    return propose_examples if callable(getattr(cove, "propose", None)) else None


def propose_examples(image: Any, obj: Any, selector: str) -> tuple[list[Any], list[str]]:
    """Ask the model (Chain-of-Verification, :mod:`batos.mind.cove`) for examples of a
    generated unary method that has none; answers (the examples the method satisfies,
    the descriptions of those it does not). Only the kept ones become its contract,
    marked proposed: a model's guess never makes the heartbeat rewrite a method."""
    from batos.image.message import Message
    from batos.lang.contracts import arity, check
    from batos.mind import cove
    from batos.mind.dnu import decompose
    from batos.mind.personas import backend_for, persona_for_code
    from batos.mind.prompts import build_messages
    if arity(selector) != 0:
        raise BatosError(f"#{selector} takes arguments: examples are proposed for unary "
                         "methods only (no sample arguments are known)")
    backend = backend_for(image)
    message = Message(obj, selector, [])
    persona = persona_for_code(image, message)
    messages = build_messages(decompose(image, obj, message), persona.system_prompt)
    from batos.guardian.limits import paused
    with paused():
        proposed, _ = cove.propose(backend, messages, selector, [],
                                   adapters=list(persona.adapters))
    outcomes = check(image, obj, selector, proposed)
    kept = [ex for ex, o in zip(proposed, outcomes) if o.verdict == "passed"]
    dropped = [o.example for o in outcomes if o.verdict != "passed"]
    return kept, dropped


# --- planning ---------------------------------------------------------------------------------

@dataclass
class Work:
    """One unit of self-directed work."""

    kind: str
    what: str
    data: Any = None
    skipped: list[str] = field(default_factory=list)


def plan(image: Any, *, now: float | None = None, allow_forge: bool = True,
         generate: bool = True) -> Work | None:
    """The most useful work now (priority order of the module doc), with the reasons the
    higher-priority kinds were skipped; None when there is nothing to do. Without
    ``generate`` only the work that needs no model is chosen (the REPL's idle beats)."""
    from batos.mind import ether
    skipped: list[str] = []
    stale = stale_contracts(image)
    if stale:
        return Work("reverify", f"{len(stale[:MAX_REVERIFY])} contract(s) not run since their "
                    "method changed", stale[:MAX_REVERIFY], skipped)
    if not generate:
        from batos.mind.review import pending
        left = [k for k, found in (("propose", untested_generated(image)),
                                   ("review", pending(image, limit=1)),
                                   ("regenerate", failing_generated(image))) if found]
        if left:
            skipped.append(f"{', '.join(left)}: left to `batos heartbeat` (these beats do not "
                           "use the model)")
        return Work("none", "nothing to do without the model", None, skipped) if skipped else None
    untested = untested_generated(image)
    if untested:
        proposer = _cove_proposer()
        if proposer is not None:
            obj, sel = untested[0]
            return Work("propose", f"examples for {obj._display()} #{sel}", (obj, sel, proposer),
                        skipped)
        skipped.append(f"propose: {len(untested)} generated method(s) without examples, "
                       "but batos.mind.cove is not there")
    from batos.mind.review import pending, writer_of
    unreviewed = pending(image, limit=1)
    if unreviewed:
        obj, sel, method = unreviewed[0]
        return Work("review", f"ALFRED reviews {global_name(obj._display())} #{sel} "
                    f"(written by {writer_of(method) or '?'})", unreviewed[0], skipped)
    failing = failing_generated(image)
    if failing:
        failing.sort(key=lambda f: -ether.strength(image, "broken", f[1].selector, now=now))
        owner, contract, _ = failing[0]
        return Work("regenerate", f"{owner._display()} #{contract.selector} (its contract fails)",
                    failing[0], skipped)
    intents = curriculum_intents(image, now=now)
    if intents:
        i = intents[0]
        return Work("curriculum", intent_key(i), i, skipped)
    st = state(image, create=False)
    golden = golden_count(image)
    grown = golden - (st["forge_golden"] if st is not None else 0)
    if grown >= FORGE_MIN:
        if allow_forge:
            return Work("forge", f"{grown} new golden examples", golden, skipped)
        skipped.append(f"forge: {grown} new golden examples, but the forge extra is not "
                       "installed (or this runner cannot start it)")
    return Work("none", "nothing to do", None, skipped) if skipped else None


# --- doing -------------------------------------------------------------------------------------

def reverify(image: Any, items: list[tuple[Any, Any]], *, now: float | None = None) -> dict[str, Any]:
    """Run the contracts (rolled back), record the verdicts, trail the broken ones."""
    from batos.lang.contracts import check
    from batos.mind import ether
    verified = state(image)["verified"]
    now = time.time() if now is None else now
    passed = failed = 0
    broken = []
    for owner, contract in items:
        method = method_for(owner, contract.selector)
        if method is None:
            continue
        results = check(image, owner, contract.selector, contract.examples)
        bad = [o for o in results if o.verdict != "passed"]
        verdict = "passed" if not bad else "failed"
        verified[_key(owner, contract.selector)] = (
            _hash(method, contract), verdict, now, len(results) - len(bad), len(results),
            (f"{bad[0].example} {bad[0].verdict}: {bad[0].detail}"[:300] if bad else ""))
        if bad:
            failed += 1
            author = str((method.provenance or {}).get("author", ""))
            ether.deposit(image, "broken", contract.selector,
                          "" if author == "human" else author, now=now)
            broken.append(f"{owner._display()} #{contract.selector}"
                          + (" (human-written: left as it is)" if not is_generated(method) else ""))
        else:
            passed += 1
    return {"passed": passed, "failed": failed, "broken": broken}


def regenerate_failing(image: Any, owner: Any, contract: Any, method: Any) -> dict[str, Any]:
    """Rewrite a generated method against its contract (never a human one)."""
    from batos.mind import genlog
    from batos.mind.contracts import regenerate
    if not is_generated(method):
        raise BatosError(f"#{contract.selector} of {owner._display()} was written by a human: "
                         "the heartbeat leaves it as it is")
    count_try(image, _regen_key(owner, contract, method))
    genlog.append(image, [genlog.GenerationRecord(
        receiver=owner._display(), selector=contract.selector, attempt=0, persona="heartbeat",
        code=method.source, verdict="rejected", error="its contract fails (heartbeat)")])
    from batos.settings import overriding
    with overriding(family_methods=False):  # on the contract's owner, nowhere else
        regenerate(image, owner, contract.selector, list(contract.examples),
                   rejected=method.source)
    after = reverify(image, [(owner, contract)])
    return {"regenerated": f"{owner._display()} #{contract.selector}",
            "passes_now": after["passed"] == 1}


def review_one(image: Any, obj: Any, selector: str, method: Any, *,
               attempted: list[str | None] | None = None, now: float | None = None,
               seed: int | None = None) -> dict[str, Any]:
    """ALFRED reviews one generated method (:mod:`batos.mind.review`): the verdict is
    recorded, a flaw trailed; the method is left as it is."""
    from batos.mind import review
    if not is_generated(method):
        raise BatosError(f"#{selector} of {obj._display()} was written by a human: the "
                         "heartbeat does not review it")
    key = review.try_key(image, obj, selector, method)
    if attempted is not None:
        attempted[0] = key
    count_try(image, key)
    found = review.review(image, obj, selector, method, seed=seed or 0)
    trailed = review.record(image, obj, method, found, now=now)
    return {"review": found.line(), "verdict": found.verdict, "flaw": found.why,
            "writer": found.writer, "trailed": trailed}


def run_intent(image: Any, intent: dict[str, Any], *, seed: int | None = None) -> dict[str, Any]:
    """One curriculum intent through verified generation on a scratch clone of its
    receiver, the persona chosen by the router with the ether's pull. A success is an
    installed record in the log (a golden example); a failure raises (the cycle fails,
    its records and a failure trail are kept by the follow-up transaction)."""
    from batos.image.message import Message
    from batos.lang.contracts import parse_examples
    from batos.mind.contracts import regenerate
    from batos.mind.dnu import DNUCycle
    from batos.mind.personas import cues_of
    from batos.mind.ether import route_in
    from batos.settings import overriding
    st = state(image)
    key = intent_key(intent)
    count_try(image, key)
    queue = st["curriculum"]
    for i, queued in enumerate(list(queue)):
        if intent_key(dict(queued)) == key:
            del queue[i]
            break
    if intent.get("examples"):   # what the forge's evaluation checks held-out work by
        if st.get("taught") is None:
            from persistent.mapping import PersistentMapping
            st["taught"] = PersistentMapping()
        st["taught"][str(intent["selector"])] = {
            k: intent[k] for k in ("receiver", "selector", "args", "examples") if k in intent}
    receiver = image.lookup_global(intent["receiver"])
    selector = intent["selector"]
    args = [image.evaluate(a) for a in intent.get("args", [])]
    decision = route_in(image, f"{selector} {intent['receiver']}", cues_of(image),
                        seed=seed, kind="code")
    from batos.mind.psm import current_cycle
    cycle = current_cycle()
    if cycle is not None:
        cycle.note(persona=decision.top, pull=dict(decision.pull))
    scratch = receiver.clone()
    with overriding(persona=decision.top, family_methods=False):
        if intent.get("examples"):
            examples = parse_examples(selector, image.evaluate(intent["examples"]))
            regenerate(image, scratch, selector, examples)
        else:
            DNUCycle(image, scratch, Message(scratch, selector, args)).run()
    return {"intent": key, "persona": decision.top, "pull": decision.pull}


# --- the cycle --------------------------------------------------------------------------------

def improve_cognition(image: Any, *, now: float | None = None, seed: int | None = None,
                      allow_forge: bool = True, generate: bool = True) -> dict[str, Any]:
    """Run one ``improveCognition`` cycle in its own transaction (see the module doc);
    answers what it did. A failed piece of work fails the cycle: the image is left as it
    was and the trace, the generation records and the failure trail are kept."""
    from batos.mind.psm import new_cycle
    outcome: dict[str, Any] = {}
    attempted: list[str | None] = [None]   # the work's try key (counted again if it fails)

    def action() -> dict[str, Any]:
        cycle = new_cycle(image, "improveCognition",
                          "find a capability gap, work on it, verify", "ALFRED")
        work: list[Work | None] = [None]

        def decompose(c: Any) -> str:
            work[0] = plan(image, now=now, allow_forge=allow_forge, generate=generate)
            w = work[0]
            c.note(work=w.kind if w else "none", what=w.what if w else "nothing to do",
                   skipped=list(w.skipped) if w else [])
            return "DELEGATING" if w is not None and w.kind != "none" else "COMPLETE"

        def delegate(c: Any) -> str:
            w = work[0]
            assert w is not None
            if w.kind == "regenerate":
                attempted[0] = _regen_key(*w.data)
            elif w.kind == "curriculum":
                attempted[0] = intent_key(w.data)
            if w.kind == "reverify":
                outcome.update(reverify(image, w.data, now=now))
            elif w.kind == "propose":
                obj, sel, proposer = w.data
                attempted[0] = f"propose {_key(obj, sel)}"
                count_try(image, attempted[0])
                kept, dropped = proposer(image, obj, sel)
                if kept:
                    from batos.lang.contracts import set_contract
                    set_contract(image, obj, sel, list(kept), origin="proposed")
                outcome.update(proposed=f"{obj._display()} #{sel}", examples=len(kept),
                               disagreed=list(dropped))
            elif w.kind == "review":
                outcome.update(review_one(image, *w.data, attempted=attempted, now=now,
                                          seed=seed))
                w.what = outcome["review"]
                c.note(note=f"heartbeat: {outcome['review']}")
            elif w.kind == "regenerate":
                outcome.update(regenerate_failing(image, *w.data))
            elif w.kind == "curriculum":
                outcome.update(run_intent(image, w.data, seed=seed))
            elif w.kind == "forge":
                st = state(image)
                st["forge_golden"] = int(w.data)
                st["forge_pending"] = forge_persona(image, now=now)
                outcome.update(forge=st["forge_pending"])
            c.note(**{k: v for k, v in outcome.items() if isinstance(v, (str, int, float, bool, list))})
            return "SYNTHESIZING"

        def synthesize(c: Any) -> str:
            st = state(image)
            st["improvements"] = int(st.get("improvements", 0)) + 1
            return "COMPLETE"

        cycle.run({"DECOMPOSING": decompose, "DELEGATING": delegate, "SYNTHESIZING": synthesize})
        w = work[0]
        outcome.update(work=w.kind if w else "none", what=w.what if w else "nothing to do",
                       skipped=list(w.skipped) if w else [], trace=cycle.trace.id)
        image.tm.get().note(f"heartbeat: improveCognition: {outcome['work']}: {outcome['what']}"[:2000])
        return outcome

    try:
        return image.execute(_prefixed(action, attempted), note="", timeout=CYCLE_TIMEOUT)
    except BatosError:
        raise
    except Exception as exc:  # noqa: BLE001 - a work item's own error: the cycle failed
        raise BatosError(f"heartbeat: improveCognition failed: {type(exc).__name__}: {exc}") from exc


def _prefixed(action: Callable[[], Any], attempted: list[str | None]) -> Callable[[], Any]:
    """The action, with a failure's follow-up transaction noted ``heartbeat: …`` and
    counting the failed try (the cycle's own count was rolled back with it)."""
    def run() -> Any:
        try:
            return action()
        except BaseException as exc:
            inner = getattr(exc, "followup", None)
            if callable(inner):
                def followup(image: Any) -> str:
                    if attempted[0]:
                        count_try(image, attempted[0])
                    return f"heartbeat: {inner(image)}"[:2000]
                try:
                    exc.followup = followup  # type: ignore[attr-defined]
                except AttributeError:
                    pass
            raise
    return run


def forge_persona(image: Any, *, now: float | None = None) -> str:
    """The persona that needs an adapter most: the strongest failure-side trails, else
    the code persona."""
    from batos.mind import ether
    from batos.mind.personas import code_persona_name
    sums: dict[str, float] = {}
    for p in ether.trails(image, now=now):
        if ether.KINDS[p.kind] < 0 and p.persona:
            sums[p.persona] = sums.get(p.persona, 0.0) + p.intensity
    return max(sums, key=lambda k: (sums[k], k)) if sums else code_persona_name(image)


# --- the primitive: genesis improveCognition -------------------------------------------------

def improve_cognition_primitive(self: Any) -> str:
    """``genesis improveCognition`` from BST: runs in the statement's own transaction, so
    it only plans and re-verifies (generation runs from the heartbeat)."""
    from batos.guardian.capability import require_human
    from batos.image.image import image_of
    require_human("improveCognition")
    image = image_of(self)
    if image is None or image.read_only:
        raise BatosError("improveCognition needs an image open for writing")
    w = plan(image, allow_forge=False)
    if w is None or w.kind == "none":
        return "nothing to do" + ("; " + "; ".join(w.skipped) if w and w.skipped else "")
    if w.kind == "reverify":
        r = reverify(image, w.data)
        return f"reverified: {r['passed']} passed, {r['failed']} failed"
    return f"next: {w.kind}: {w.what} (the heartbeat does it: batos heartbeat --once)"


def awaken_improve(image: Any) -> None:
    """Install ``improveCognition`` on genesis (awakening step ``heartbeat``)."""
    from batos.image.method import primitive
    genesis = image.root["globals"]["genesis"]
    genesis.set_slot("improveCognition", primitive(
        "improveCognition", "batos.mind.improve:improve_cognition_primitive",
        "plan the self-directed work the heartbeat would do now; re-verify stale contracts"))
    state(image)


__all__ = ["improve_cognition", "plan", "reverify", "regenerate_failing", "run_intent",
           "review_one", "STATE_KEY", "MAX_INTENT_TRIES", "count_try", "method_for",
           "global_name",
           "add_curriculum", "curriculum_intents", "state", "is_generated", "contract_rates",
           "stale_contracts", "failing_generated", "untested_generated", "forge_persona",
           "awaken_improve", "Work"]

#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({"improve_cognition_primitive"})
