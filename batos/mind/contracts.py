"""Teaching by example and corrections: ``teach:examples:``, ``fix:hint:``, hand edits.

* ``obj teach: #sel examples: {ARGS -> ANSWER. ...}`` stores the contract
  (:mod:`batos.lang.contracts`) and, when ``obj`` does not understand ``#sel`` or its
  method breaks an example, has the doesNotUnderstand_ cycle write it against the
  examples (each candidate checked in a savepoint; a failing example is fed back).
* ``obj fix: #sel hint: 'what I meant'`` regenerates with the hint, the rejected
  source shown as what was wrong, and the contract's examples.
* :func:`edit_method` installs a hand-edited source (audited), warning when it breaks
  the contract. Every correction logs both versions (rejected → accepted).

Methods written this way go where every generated method goes (the receiver's family
prototype when ``family_methods`` is on: :func:`batos.image.proto.method_home`); the
contract stays with the receiver, and the examples run as sends to it, so the
guardian's capability rules hold for them. A contract the model proposed (origin
``"proposed"``, Chain-of-Verification) is softer when a method is regenerated against
it: two candidates that agree against one of its examples drop that example.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from batos.errors import BatosError, GenerationFailed
from batos.guardian.capability import require_human
from batos.lang.contracts import (Example, check, parse_examples, set_contract, table_of,
                                  warn_if_broken)
from batos.mind import genlog

if TYPE_CHECKING:
    from batos.image.image import Image
    from batos.image.proto import Proto


def _image(obj: "Proto") -> "Image":
    from batos.image.image import image_of
    image = image_of(obj)
    if image is None or image.read_only:
        raise BatosError(f"{obj._display()} is in no image open for writing")
    return image


def _own_method(obj: "Proto", selector: str) -> Any:
    """The non-primitive Method answering ``selector`` for ``obj`` (own or inherited)."""
    from batos.image.method import Method
    from batos.image.proto import selector_to_name
    found = obj.lookup(selector_to_name(selector))
    if found is None or not isinstance(found[1], Method):
        return None
    return found[1] if found[1].language != "primitive" else None


def regenerate(image: "Image", obj: "Proto", selector: str, examples: list[Example], *,
               hint: str | None = None, rejected: str | None = None,
               proposed: bool = False) -> Any:
    """Run the doesNotUnderstand_ cycle for ``selector`` without sending it: the method
    is written against ``examples`` (the model's own when ``proposed``; with ``hint`` and
    the ``rejected`` source), installed for ``obj`` and answered."""
    from batos.image.message import Message
    from batos.lang.contracts import arity
    from batos.mind.dnu import DNUCycle, generation_enabled
    if not generation_enabled(image.options):
        raise GenerationFailed(f"no model to write #{selector} (generation is off); "
                               "nothing was changed")
    args = list(examples[0].args) if examples else [None] * arity(selector)
    given = {"proposed": examples} if proposed else {"examples": examples}
    cycle = DNUCycle(image, obj, Message(obj, selector, args), hint=hint, rejected=rejected,
                     send=False, **given)
    return cycle.run()


def teach(obj: "Proto", selector: str, examples: Any, *, origin: str = "user") -> "Proto":
    """Store ``selector``'s contract on ``obj``; write the method when it is missing or
    breaks an example (see the module doc). Answers ``obj``."""
    selector = str(selector)
    image = _image(obj)
    parsed = parse_examples(selector, examples)
    set_contract(image, obj, selector, parsed, origin)
    method = _own_method(obj, selector)
    rejected = None
    if method is not None:
        bad = [o for o in check(image, obj, selector, parsed) if o.verdict != "passed"]
        if not bad:
            return obj
        from batos.mind.dnu import generation_enabled
        if not generation_enabled(image.options):  # no model: keep it red, say so
            warn_if_broken(obj, selector)
            return obj
        rejected = method.source
    regenerate(image, obj, selector, parsed, rejected=rejected)
    return obj


def _rejected_record(image: "Image", obj: "Proto", selector: str, source: str,
                     why: str) -> genlog.GenerationRecord:
    return genlog.GenerationRecord(receiver=obj._display(), selector=selector, attempt=0,
                                   persona="human", code=source, verdict="rejected",
                                   error=f"corrected by the user: {why}")


def fix(obj: "Proto", selector: str, hint: str) -> "Proto":
    """Regenerate ``selector`` on ``obj`` with ``hint``; the old source is logged as
    rejected, the new one as installed. Answers ``obj``."""
    selector, hint = str(selector), str(hint)
    image = _image(obj)
    method = _own_method(obj, selector)
    if method is None:
        raise BatosError(f"{obj._display()} has no method #{selector} to fix")
    table = table_of(image, obj)
    contract = table.by_selector.get(selector) if table is not None else None
    examples = list(contract.examples) if contract is not None else []
    genlog.append(image, [_rejected_record(image, obj, selector, method.source, hint)])
    regenerate(image, obj, selector, examples, hint=hint, rejected=method.source,
               proposed=contract is not None and contract.origin == "proposed")
    return obj


def edit_method(obj: "Proto", selector: str, source: str) -> Any:
    """Install the hand-edited ``source`` of ``selector`` on ``obj`` (compiled and
    audited; a rejected source raises and changes nothing). Logs rejected → accepted and
    prints a warning when the contract breaks. Answers the Method."""
    image = _image(obj)
    old = _own_method(obj, selector)
    method = obj.define(selector, source, author="human")
    records = []
    if old is not None:
        records.append(_rejected_record(image, obj, selector, old.source, "edited by hand"))
    records.append(genlog.GenerationRecord(receiver=obj._display(), selector=selector,
                                           attempt=0, persona="human", code=method.source,
                                           verdict="installed"))
    genlog.append(image, records)
    warn_if_broken(obj, selector)
    return method


# --- the primitives on traits ----------------------------------------------------------

def teach_examples(self: "Proto", selector: Any, examples: Any) -> "Proto":
    """``teach: #sel examples: {...}``."""
    require_human(f"teach methods (#{selector})")
    if str(selector).startswith("_"):
        raise BatosError(f"selectors starting with '_' are private: cannot teach #{selector}")
    return teach(self, str(selector), examples)


def fix_hint(self: "Proto", selector: Any, hint: Any) -> "Proto":
    """``fix: #sel hint: 'what I meant'``."""
    require_human(f"correct methods (#{selector})")
    return fix(self, str(selector), str(hint))


def verify_contracts(self: "Proto") -> bool:
    """``verifyContracts``: whether every contract of the receiver holds (rolled back)."""
    from batos.lang.contracts import verify
    report = verify(_image(self), self)
    from batos.lang.transcript import transcript
    transcript().render(report)
    return report.ok


TRAITS_SELECTORS = [
    ("teach:examples:", "teach_examples",
     "store examples as the selector's contract; write or rewrite the method to satisfy them"),
    ("fix:hint:", "fix_hint", "regenerate a method with a hint of what was meant"),
    ("verifyContracts", "verify_contracts", "run the receiver's contracts; true if all pass"),
]


def awaken_contracts(image: "Image") -> None:
    """Install ``teach:examples:``, ``fix:hint:`` and ``verifyContracts`` on traits."""
    from batos.image.method import primitive
    from batos.image.proto import selector_to_name
    traits = image.root["globals"]["traits"]
    for selector, fn, doc in TRAITS_SELECTORS:
        traits.set_slot(selector_to_name(selector),
                        primitive(selector, "batos.mind.contracts:" + fn, doc))


__all__ = ["teach", "fix", "edit_method", "regenerate", "awaken_contracts",
           "teach_examples", "fix_hint", "verify_contracts"]

#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({"teach_examples", "fix_hint", "verify_contracts"})
