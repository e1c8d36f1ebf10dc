"""ALFRED's review of a generated method: ``OK`` or ``FLAW: <why>``, nothing else.

The heartbeat (:mod:`batos.mind.improve`, work kind ``review``) asks the reviewer
persona (ALFRED) about one generated method at a time: the receiver's shape (a world
line, :func:`batos.mind.world.shape`), the selector, the method's source and its
contract's examples if it has any. One short generation (``purpose="review"``,
temperature 0, at most :data:`MAX_TOKENS` tokens, cut at the first newline) must read
exactly ``OK`` or ``FLAW: <one line why>``; anything else is *no verdict* (recorded,
nothing deposited). The model's text is untrusted: it is kept as one printable line
of at most :data:`MAX_WHY` characters before it is stored or shown.

A flaw is a claim, and the reviewer is a small model that also flags right methods, so
the claim is checked before it counts (:func:`check_claim`): ALFRED is asked to name the
input, the answer the method gives and the right one (``FLAW: <input> gives <its
answer>, expected <right>``); the method is run on that input in a rolled-back
savepoint. If it answers the expected value the flaw is ``refuted``; if the claim names
nothing batos can read (Python literals only, never evaluated as code), or the method
does not answer what the reviewer said it gives, it is ``unverified``. Neither leaves a
trail. Only a ``flaw`` the method really shows deposits a ``flaw`` trail (:mod:`batos.mind.ether`)
on the selector's words against the persona that wrote the method (its provenance
author): the router then pulls that persona away from the topic and the curriculum sees
it as a weak area.
Every verdict is recorded in the heartbeat's state (``reviews``), keyed by the method's
fingerprint (source and examples), so a changed method is reviewed again. A review
never changes a method.
"""
from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass
from typing import Any

MAX_TOKENS = 48
MAX_WHY = 200
MAX_SOURCE = 2000        # characters of the method's source shown to the reviewer
STOP = ("\n", "<|im_end|>", "<|endoftext|>")
_FLAW = re.compile(r"FLAW:[ \t]*(\S.*)")
_SPACE = re.compile(r"\s+")
_CLAIM = re.compile(r"(?P<input>.+?)\s+(?:gives|returns|answers)\s+(?P<got>.+?),?\s+"
                    r"(?:but\s+)?expected\s+(?P<want>.+?)[.\s]*", re.IGNORECASE | re.DOTALL)
#: verdicts that close a method version's review (a "none" is asked again)
FINAL = ("ok", "flaw", "refuted", "unverified")


@dataclass(frozen=True)
class Review:
    """One verdict: ``ok``, ``flaw`` (with ``why``) or ``none`` (the answer, cleaned, in
    ``answer``); ``writer`` is the persona that wrote the method."""

    owner: str
    selector: str
    verdict: str
    why: str
    writer: str
    reviewer: str
    answer: str
    check: str = ""      # what running the method on the claimed input showed

    def line(self) -> str:
        """``ALFRED reviewed counter #double:: flaw: …`` (the notes' form)."""
        said = {"ok": "OK", "flaw": f"flaw: {self.why}",
                "refuted": f"flaw refuted: {self.why}",
                "unverified": f"flaw not checked: {self.why}"}.get(
            self.verdict, f"no verdict ({self.answer or 'empty answer'})")
        return f"{self.reviewer} reviewed {self.owner} #{self.selector}: {said}" + \
            (f" ({self.check})" if self.check else "")


def clean(text: Any, limit: int = MAX_WHY) -> str:
    """Untrusted model text as one printable line of at most ``limit`` characters."""
    from batos.guardian.hygiene import printable
    line = printable(_SPACE.sub(" ", str(text)).strip(), newlines=False)
    return line if len(line) <= limit else line[:limit - 1] + "…"


def parse_verdict(text: str) -> tuple[str, str]:
    """``("ok", "")``, ``("flaw", why)`` or ``("none", "")``: strict. The whole answer
    (surrounding spaces aside) is ``OK`` or ``FLAW: <why>`` on one line."""
    answer = str(text).strip()
    if "\n" in answer or "\r" in answer:
        return "none", ""
    if answer == "OK":
        return "ok", ""
    found = _FLAW.fullmatch(answer)
    if found:
        return "flaw", clean(found.group(1))
    return "none", ""


def _literal(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is one Python literal (``self``: the receiver)."""
    text = text.strip().strip("`").strip()
    if text == "self":
        from batos.lang.values import Symbol
        return True, Symbol("self")
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def claimed(why: str, selector: str) -> tuple[Any, Any] | None:
    """The example a flaw claims (the input it names and the answer it says is right)
    and the answer it says the method gives, or None when the claim names none batos
    can read. Only literals are read (``ast.literal_eval``); the selector's own keywords
    or name in the input are skipped (``between: 1 and: 5``, ``isEven_(1)``)."""
    from batos.lang.contracts import Example, arity
    found = _CLAIM.fullmatch(why.strip())
    if found is None:
        return None
    ok, want = _literal(found.group("want"))
    ok_got, got = _literal(found.group("got"))
    if not (ok and ok_got):
        return None
    args = _claimed_args(found.group("input"), selector, arity(selector))
    if args is None:
        return None
    return Example(args, want), Example(args, got)


def _claimed_args(text: str, selector: str, n: int) -> list[Any] | None:
    if n == 0:
        return []
    text = text.strip().strip("`").strip()
    name = selector.split(":")[0]
    call = re.search(rf"\b{re.escape(name)}_?\((.*)\)", text)   # isEven_(1), double(3)
    if call is not None and not _literal(text)[0]:
        text = call.group(1)
    for prefix in (f"#{selector}", selector, f"#{name}:", f"{name}:", f"#{name}", name):
        if text.startswith(prefix) and not _literal(text)[0]:
            text = text[len(prefix):].strip()
            break
    for keyword in selector.split(":")[1:-1]:
        text = re.sub(rf"(?<![\w'\"]){re.escape(keyword)}:", ",", text)
    ok, value = _literal(text)
    if not ok:
        ok, value = _literal("(" + text.strip(", ") + ",)")
        if ok and n == 1 and len(value) == 1:
            value = value[0]
    if not ok:
        return None
    if n == 1:
        return [value]
    if isinstance(value, (list, tuple)) and len(value) == n:
        return list(value)
    return None


def claimed_example(why: str, selector: str) -> Any:
    """The example a flaw claims (see :func:`claimed`), or None."""
    found = claimed(why, selector)
    return None if found is None else found[0]


def check_claim(image: Any, owner: Any, selector: str, why: str) -> tuple[str, str]:
    """(``flaw`` | ``refuted`` | ``unverified``, what the run showed). The method is
    sent the claimed input in a rolled-back savepoint: a flaw holds when it answers what
    the reviewer said it gives and that is not the right answer; it is refuted when it
    answers the right one; anything else (no readable claim, or the reviewer's trace of
    the method is wrong) leaves it unverified."""
    from batos.lang.contracts import run_example
    found = claimed(why, selector)
    if found is None:
        return "unverified", ""
    right, said = found
    outcome = run_example(image, owner, selector, right)
    shown = clean(f"{outcome.example}: answers {outcome.answer}", MAX_WHY)
    if outcome.verdict == "passed":
        return "refuted", shown
    if run_example(image, owner, selector, said).verdict == "passed":
        return "flaw", shown
    return "unverified", shown


def fingerprint(image: Any, owner: Any, selector: str, method: Any) -> str:
    """What a verdict holds for: the method's source and its contract's examples (as a
    verification's, :func:`batos.mind.workstate.verification_hash`)."""
    from batos.lang.contracts import contracts_of
    from batos.mind.workstate import verification_hash
    return verification_hash(method, contracts_of(image, owner).get(selector))


def _examples(image: Any, owner: Any, selector: str) -> list[str]:
    from batos.lang.contracts import contracts_of
    contract = contracts_of(image, owner).get(selector)
    return [ex.describe(selector) for ex in contract.examples] if contract is not None else []


def writer_of(method: Any) -> str:
    """The persona that wrote ``method`` (its provenance author; "" for a human's)."""
    author = str((getattr(method, "provenance", None) or {}).get("author", "") or "")
    return "" if author == "human" else author.upper()


def request(image: Any, owner: Any, selector: str, method: Any) -> str:
    """The reviewer's user message."""
    from batos.mind.world import Family, shape
    receiver = shape("self", owner, Family.of_image(image)) or "self: an object with no slots"
    examples = _examples(image, owner, selector)
    source = method.source if len(method.source) <= MAX_SOURCE else \
        method.source[:MAX_SOURCE] + "\n# … (cut)"
    # Measured on the default 1.5B model (10 methods, 4 wrong): asking for the traced
    # input keeps it from answering FLAW to everything (7/10 right, 1 false flaw).
    return (f"Review method #{selector} of an object ({receiver}):\n"
            f"```python\n{source.rstrip()}\n```\n"
            + ("Its examples: " + "; ".join(examples) + "\n" if examples else "")
            + "Run it in your head on one small input. If it answers what its name promises, "
              "reply OK. If not, reply FLAW: <input> gives <its answer>, expected <the right "
              "answer>. Reply with that one line only.")


def review(image: Any, owner: Any, selector: str, method: Any, *, seed: int = 0) -> Review:
    """Ask the reviewer persona about ``method`` (one generation, logged and noted in
    the running cycle); answers the parsed :class:`Review`. Changes nothing else."""
    from batos.guardian.limits import paused
    from batos.mind import genlog
    from batos.llm.protocol import takes
    from batos.mind.workstate import global_name
    from batos.mind.personas import (REVIEWER, adapter_specs, backend_for, find_persona,
                                     persona_name, system_prompt_of)
    from batos.mind.psm import current_cycle
    proto = find_persona(image, REVIEWER)
    backend = backend_for(image)
    messages = [{"role": "system", "content": system_prompt_of(proto)},
                {"role": "user", "content": request(image, owner, selector, method)}]
    prompt = backend.format_chat(messages)
    extra = {"purpose": "review"} if takes(backend.generate, "purpose") else {}
    with paused():  # model time does not count against the cycle's time limit
        done = backend.generate(prompt, max_tokens=MAX_TOKENS, temperature=0.0, seed=seed,
                                stop=list(STOP), adapters=adapter_specs(proto), **extra)
    reviewer = persona_name(proto)
    cycle = current_cycle()
    if cycle is not None:
        cycle.note_completion(done, persona=reviewer)
    genlog.log_answer(image, reviewer, "review:", prompt, done)
    verdict, why = parse_verdict(done.text)
    shown = ""
    if verdict == "flaw":
        verdict, shown = check_claim(image, owner, selector, why)
    return Review(owner=global_name(owner._display()), selector=selector, verdict=verdict,
                  why=why, writer=writer_of(method), reviewer=reviewer,
                  answer=clean(done.text), check=shown)


def reviews(image: Any, create: bool = False) -> Any:
    """The heartbeat state's ``reviews`` table (key → (fingerprint, verdict, why, writer,
    reviewer, time)); None when there is none and ``create`` is false."""
    from batos.mind.workstate import state
    st = state(image, create=create)
    if st is None:
        return None
    table = st.get("reviews")
    if table is None and create:
        from BTrees.OOBTree import OOBTree
        table = st["reviews"] = OOBTree()
    return table


def record(image: Any, owner: Any, method: Any, result: Review, *,
           now: float | None = None) -> bool:
    """Record ``result`` for ``method``'s current fingerprint; a flaw deposits a ``flaw``
    trail against the method's writer. Answers whether a trail was deposited."""
    from batos.mind import ether
    from batos.mind.workstate import method_key
    now = time.time() if now is None else float(now)
    reviews(image, create=True)[method_key(owner, result.selector)] = (
        fingerprint(image, owner, result.selector, method), result.verdict, result.why,
        result.writer, result.reviewer, now)
    if result.verdict != "flaw":
        return False
    return ether.deposit(image, "flaw", result.selector, result.writer, now=now) is not None


def try_key(image: Any, owner: Any, selector: str, method: Any) -> str:
    """The tries counter of reviewing this version of the method."""
    return _try_key(owner, selector, fingerprint(image, owner, selector, method))


def _try_key(owner: Any, selector: str, version: str) -> str:
    from batos.mind.workstate import method_key
    return f"review {method_key(owner, selector)} {version[:16]}"


def pending(image: Any, limit: int = 20) -> list[tuple[Any, str, Any]]:
    """(object, selector, method) of generated methods in globals' own slots with no
    verdict for their current version (a "no verdict" is asked again, up to
    :data:`batos.mind.workstate.MAX_INTENT_TRIES` tries per version). A method whose
    contract fails is left to the regenerate work."""
    from batos.lang.contracts import contracts_of
    from batos.mind.workstate import (MAX_INTENT_TRIES, fresh_verdict, generated_methods,
                                      method_key, state, verification_hash)
    st = state(image, create=False)
    tries = st["tries"] if st is not None else {}
    table = reviews(image) or {}
    out: list[tuple[Any, str, Any]] = []
    for obj, m in generated_methods(image):
        contract = contracts_of(image, obj).get(m.selector)
        version = verification_hash(m, contract)
        rec = table.get(method_key(obj, m.selector))
        if rec is not None and rec[1] in FINAL and rec[0] == version:
            continue
        if tries.get(_try_key(obj, m.selector, version), 0) >= MAX_INTENT_TRIES:
            continue
        if contract is not None and fresh_verdict(st, obj, contract, m) not in (None, "passed"):
            continue   # its contract fails: the regenerate work's
        out.append((obj, m.selector, m))
        if len(out) >= limit:
            return out
    return out


__all__ = ["Review", "review", "record", "pending", "parse_verdict", "clean", "fingerprint",
           "claimed", "claimed_example", "check_claim", "FINAL",
           "reviews", "writer_of", "request", "try_key", "MAX_TOKENS", "MAX_WHY"]
