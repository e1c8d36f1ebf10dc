"""Incarnation: the forged adapter enters the image (cold tier) with its provenance.

The guardian's adapter audit runs first (:func:`batos.mind.adapters.add_adapter`
refuses an unfit file and changes nothing); the adapter's ``provenance`` records the
dataset hash and size, the training settings, steps, loss and the evaluation figures,
so ``batos persona show`` can say where the persona's weights came from. The next
generation by the persona hot-applies it; its prompt KV states are kept per adapter
set, so none computed without the adapter is reused.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from persistent.mapping import PersistentMapping


def incarnate(image: Any, persona: str, path: str, provenance: Mapping[str, Any], *,
              model: str | None = None) -> Any:
    """Audit ``path`` and store it as ``persona``'s adapter with ``provenance``
    (AuditRejected: nothing changed). Answers the Adapter."""
    from batos.mind.adapters import add_adapter
    t0 = time.perf_counter()
    adapter = add_adapter(image, persona, path, model=model)
    record = dict(provenance)
    record["incarnated"] = time.time()
    record["audit_and_blob_seconds"] = round(time.perf_counter() - t0, 3)
    adapter.provenance = PersistentMapping(record)
    return adapter


#: held-out cases that must be checked before "not worse" means anything
MIN_CHECKED = 5


def should_incarnate(evaluation: Mapping[str, Any] | None, force: bool) -> tuple[bool, str]:
    """Whether the adapter may be incarnated: at least :data:`MIN_CHECKED` held-out
    cases were checked, and it is not worse than the base on them nor on the probe set
    (or ``force``). A heartbeat run forged an adapter judged on 1 checked case and 8
    probes that then lost one of 42 held-out intents: too few cases cannot tell."""
    if force:
        return True, "forced"
    if not evaluation:
        return False, "not evaluated"
    checked = int((evaluation.get("heldout") or {}).get("cases", 0))
    if checked < MIN_CHECKED:
        return False, (f"only {checked} held-out case(s) could be checked (at least "
                       f"{MIN_CHECKED} are needed to tell it is not worse)")
    worse = [part for part in ("heldout", "probes")
             if evaluation.get(part) and evaluation[part]["adapter"] < evaluation[part]["base"]]
    if worse:
        return False, "the adapter is worse than the base on " + " and ".join(worse)
    return True, "not worse than the base"


__all__ = ["incarnate", "should_incarnate", "MIN_CHECKED"]
