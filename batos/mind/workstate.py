"""The heartbeat's state in the image, and the keys its self-directed work uses.

``root['heartbeat']`` holds the beats, the verification records, the curriculum, the
tries per piece of work, the forge marks and ALFRED's reviews. :mod:`batos.mind.improve`
plans and does the work; :mod:`batos.mind.review` asks ALFRED; both read and write
this state through these helpers (one module below both, so neither imports the other).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

STATE_KEY = "heartbeat"
MAX_INTENT_TRIES = 2     # attempts per piece of work (an intent, a regeneration, a review)


def state(image: Any, create: bool = True) -> Any:
    """``root['heartbeat']``: beats (an IOBTree, beat number -> JSON text), verification
    records, curriculum (and the intents taught from it, ``taught``), intents tried,
    forge marks."""
    found = image.root.get(STATE_KEY)
    if found is None and create and not getattr(image, "read_only", False):
        from BTrees.IOBTree import IOBTree
        from BTrees.OOBTree import OOBTree
        from persistent.list import PersistentList
        from persistent.mapping import PersistentMapping
        found = image.root[STATE_KEY] = PersistentMapping({
            "beats": IOBTree(), "verified": OOBTree(), "curriculum": PersistentList(),
            "tries": OOBTree(), "forge_golden": 0, "forge_pending": "", "improvements": 0,
            "reviews": OOBTree()})
    return found


def method_key(owner: Any, selector: str) -> str:
    """The key of ``owner``'s ``selector`` in the state's tables (its object id)."""
    oid = getattr(owner, "_p_oid", None)
    return f"{oid.hex() if oid else id(owner)}:{selector}"


def method_for(owner: Any, selector: str) -> Any:
    """The non-primitive Method answering ``selector`` for ``owner`` (None if none)."""
    from batos.image.method import Method
    from batos.image.proto import selector_to_name
    found = owner.lookup(selector_to_name(selector))
    method = found[1] if found else None
    if not isinstance(method, Method) or method.language == "primitive":
        return None
    return method


def is_generated(method: Any) -> bool:
    """Whether a model wrote ``method`` (provenance with a prompt hash, author not human)."""
    prov = getattr(method, "provenance", None) or {}
    return prov.get("author", "human") != "human" and bool(prov.get("prompt_hash"))


def verification_hash(method: Any, contract: Any) -> str:
    """The fingerprint a verification (or a review) holds for: the method's source and
    its contract's examples (none when ``contract`` is None)."""
    from batos.image.method import source_hash
    examples = "" if contract is None else "\n".join(
        ex.describe(contract.selector) for ex in contract.examples)
    return source_hash(method.source + "\0" + examples)


def fresh_verdict(st: Any, owner: Any, contract: Any, method: Any) -> str | None:
    """The verdict of the last verification of ``owner``'s ``contract`` when it holds
    for ``method`` as it is now; None when never verified, or the method or the
    examples changed since (or there is no method)."""
    if st is None or method is None:
        return None
    rec = st["verified"].get(method_key(owner, contract.selector))
    return rec[1] if rec is not None and rec[0] == verification_hash(method, contract) else None


def generated_methods(image: Any) -> Iterator[tuple[Any, Any]]:
    """(object, method) of every model-written method in a global's own slots."""
    from batos.image.method import Method
    from batos.image.proto import Proto
    for name in list(image.globals):
        obj = image.globals.get(name)
        if not isinstance(obj, Proto):
            continue
        for row in obj.slots(inherited=False):
            if isinstance(row.value, Method) and is_generated(row.value):
                yield obj, row.value


def global_name(display: str) -> str:
    """``a Proto(counter)`` (a log's receiver) → ``counter``."""
    found = re.match(r"^an? Proto\((.+)\)$", display.strip())
    return found.group(1) if found else display.strip()


def count_try(image: Any, key: str) -> None:
    """One more attempt at the work ``key`` (so failing work is not retried forever)."""
    tries = state(image)["tries"]
    tries[key] = tries.get(key, 0) + 1


__all__ = ["STATE_KEY", "MAX_INTENT_TRIES", "state", "method_key", "method_for", "is_generated",
           "verification_hash", "fresh_verdict", "generated_methods", "global_name",
           "count_try"]
