"""The Prototypal Awakening: the primordial objects of a new image.

Awakening is a list of named, idempotent steps. A new image runs them all in its
first transaction; an existing image opened for writing runs the steps it lacks
(so images made by an older batos gain new primordial objects). Each step is
named here with the module that provides it, so opening an up-to-date image
imports nothing extra.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from batos.image.method import Method, primitive
from batos.image.proto import Proto

#: an open :class:`batos.image.image.Image` (named, not imported: it imports this module)
Image = Any

# (step name, "module:function") in order; each function takes the Image.
STEPS: tuple[tuple[str, str], ...] = (
    ("core", "batos.image.awakening:awaken_core"),
    ("catalog", "batos.mind.catalog:awaken_catalog"),
    ("personas", "batos.mind.adapters:awaken_personas"),  # personas, then their loras/
    ("psm", "batos.mind.psm:awaken_psm"),
    ("llm", "batos.mind.dnu:awaken_llm"),
    ("past", "batos.image.past:awaken_past"),  # traits historyOf:, restore:from:
    ("contracts", "batos.mind.contracts:awaken_contracts"),  # teach:examples:, fix:hint:
    ("family", "batos.image.awakening:awaken_family"),  # traits detachFromFamily
    ("heartbeat", "batos.mind.improve:awaken_improve"),  # genesis improveCognition
)


def missing_steps(image: "Image") -> list[str]:
    done = set(image.root.get("awakening", ()))
    return [name for name, _ in STEPS if name not in done]


def awaken(image: "Image") -> None:
    """Run every missing step inside the current transaction."""
    done = image.root["awakening"]
    for name, ref in STEPS:
        if name in done:
            continue
        module_name, _, attr = ref.partition(":")
        step: Callable[[Any], None] = getattr(importlib.import_module(module_name), attr)
        step(image)
        done.append(name)


# --- the core step ------------------------------------------------------------------

P = "batos.lang.traits:"

TRAITS_PRIMITIVES: list[tuple[str, str, str]] = [
    ("clone", "clone", "a shallow copy: new identity, own slot table, shared values"),
    ("deepClone", "deep_clone", "a copy whose data containers are copied too"),
    ("setSlot:value:", "set_slot_value", "add or replace a slot; answers the receiver"),
    ("removeSlot:", "remove_slot", "remove an own slot; answers the receiver"),
    ("hasSlot:", "has_slot", "whether the receiver has an own slot of that name"),
    ("slotAt:", "slot_at", "the value of a slot (own or inherited)"),
    ("slotNames", "slot_names", "the names of the own slots, in order"),
    ("parents", "parents", "the prototypes in the receiver's parent slots"),
    ("respondsTo:", "responds_to", "whether a selector is understood (own or inherited)"),
    ("define:as:", "define_as", "compile source (Python def or BST) and install it"),
    ("printString", "print_string", "the Smalltalk printString"),
    ("displayString", "display_string", "the printString without quotes for strings"),
    ("printNl", "print_nl", "print the printString on the transcript"),
    ("displayNl", "display_nl", "print the displayString on the transcript"),
    ("inspect", "inspect", "render the slot inspector on the transcript"),
    ("yourself", "yourself", "the receiver"),
    ("=", "equals", "identity equality"),
    ("==", "equals", "identity"),
    ("~=", "not_equals", "not identical"),
    ("isNil", "false", "false"),
    ("notNil", "true", "true"),
    ("doesNotUnderstand_", "does_not_understand", "the default: raise MessageNotUnderstood"),
]


def awaken_core(image: "Image") -> None:
    """Create ``traits``, ``pLLM`` and ``genesis``."""
    traits = Proto("traits")
    for selector, fn, doc in TRAITS_PRIMITIVES:
        from batos.image.proto import selector_to_name
        traits.set_slot(selector_to_name(selector), primitive(selector, P + fn, doc))
    traits.set_slot("description", "universal behaviour shared by every prototype")

    pllm = Proto("pLLM")
    pllm.set_slot("traits*", traits)
    pllm.set_slot("description", "the cognition prototype: a proxy to the local model, "
                                 "which loads only when a message is not understood")
    pllm.set_slot("persona", "BRICK")
    pllm.set_slot("temperature", 0.2)
    pllm.set_slot("max_tokens", 384)

    genesis = Proto("genesis")
    genesis.set_slot("pLLM*", pllm)
    genesis.set_slot("traits*", traits)
    # an identity slot (proto.IDENTITY_SLOTS): genesis's clones neither copy nor inherit it
    genesis.set_slot("description", "first object of this image")

    g = image.root["globals"]
    g["traits"] = traits
    g["pLLM"] = pllm
    g["genesis"] = genesis


def awaken_family(image: "Image") -> None:
    """``traits detachFromFamily`` (clones keep a ``family*`` link: proto.py), and the
    mark of the system objects made by cloning (personas) or by an older batos, so their
    clones start new kinds and no generated method is installed on them."""
    from batos.image.proto import mark_primordial, selector_to_name
    g = image.root["globals"]
    traits = g["traits"]
    traits.set_slot(selector_to_name("detachFromFamily"), primitive(
        "detachFromFamily", P + "detach_from_family",
        "own a copy of the family's slots and drop the family* link; answers the receiver"))
    system = [g.get(n) for n in ("genesis", "traits", "pLLM", "catalog", "psm_states")]
    system += list((g.get("personas") or {}).values())
    states = g.get("psm_states")
    if isinstance(states, Proto):
        system += list(states.own_slots().values())  # the states and their base
    for obj in system:
        if isinstance(obj, Proto):
            mark_primordial(obj)


__all__ = ["STEPS", "awaken", "missing_steps", "Method"]
