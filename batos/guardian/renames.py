"""The image format's rename table: old module paths an image may still name.

Module paths are part of the image format: a record names its class
(``batos.mind.genlog.GenerationRecord``) and a primitive Method names its body
(``batos.mind.dnu:does_not_understand``). Moving one must never strand an image, so
every move of a pickled path adds an entry here (and a fixture test). The table is read
by the restricted class loader (:func:`batos.guardian.unpickle.resolve_global`, so a
read-only open of an old image works without writing), by primitive resolution
(:func:`batos.image.method.resolve_primitive`) and by ``batos image upgrade``
(:mod:`batos.image.upgrade`), which rewrites the old paths in place once, on the first
writable open, and stores :data:`FORMAT` in the root.

This module imports nothing: it is data.
"""
from __future__ import annotations

#: the image format this batos writes (``root['format']``); images without one are 1
FORMAT = 2

#: format → what changed (for ``batos image upgrade`` and the docs)
HISTORY: dict[int, str] = {
    1: "images written before the format was stored (batos ≤ issue 12)",
    2: "issue 13's layering: the doesNotUnderstand_ cycle moved to batos.mind, traits' "
       "primitives to batos.lang.traits, PersistentSet to batos.image.containers",
}

#: old module → new module, for every name in it (classes and primitives alike)
MODULES: dict[str, str] = {
    "batos.llm.dnu": "batos.mind.dnu",              # format 2: doesNotUnderstand_ primitive
    "batos.llm.genlog": "batos.mind.genlog",        # format 2: GenerationRecord, FailureRecord
    "batos.image.primitives": "batos.lang.traits",  # format 2: traits' primitives
}

#: (old module, old name) → (new module, new name), for a class that moved alone
CLASSES: dict[tuple[str, str], tuple[str, str]] = {
    ("batos.lang.collections", "PersistentSet"): ("batos.image.containers", "PersistentSet"),
}


def renamed_class(module: str, name: str) -> tuple[str, str]:
    """Where the class an image names as ``module.name`` lives today (itself if it did
    not move)."""
    moved = CLASSES.get((module, name))
    if moved is not None:
        return moved
    new_module = MODULES.get(module)
    return (new_module, name) if new_module is not None else (module, name)


def renamed_primitive(ref: str) -> str:
    """A primitive reference ``module:function`` with an old module replaced."""
    module, sep, function = str(ref).partition(":")
    new_module = MODULES.get(module)
    return f"{new_module}{sep}{function}" if new_module is not None and sep else str(ref)


def class_renames(names: "set[tuple[str, str]] | None" = None) -> dict[tuple[str, str],
                                                                      tuple[str, str]]:
    """``{(old module, name): (new module, name)}`` for zodbupdate: every explicit class
    entry, plus each of ``names`` (classes seen in an image) whose module moved."""
    table = dict(CLASSES)
    for module, name in names or ():
        if module in MODULES:
            table[(module, name)] = (MODULES[module], name)
    return table


__all__ = ["FORMAT", "HISTORY", "MODULES", "CLASSES", "renamed_class", "renamed_primitive",
           "class_renames"]
