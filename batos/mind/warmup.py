"""Warming a persona's prompt prefix before its first miss (``:persona NAME``).

The fixed prefixes of every doesNotUnderstand_ prompt written under a persona (its
system prompt and the brief's fixed head, :func:`batos.mind.prompts.fixed_prefixes`)
are evaluated by the model under the persona's adapters and kept on disk per model and
adapter set (:mod:`batos.llm.kvdisk`), so the persona's first miss starts from them.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from batos.mind.prompts import MissionBrief, build_messages, fixed_prefixes, prefill

if TYPE_CHECKING:
    from batos.image.image import Image


#: set to stop background warm-ups (the engine also stops them when the process exits)
_WARM_STOP = threading.Event()


def persona_prefixes(backend: Any, persona_prompt: str | None) -> list[str]:
    """The fixed prefixes of every doesNotUnderstand_ prompt written under
    ``persona_prompt``, shortest first (:func:`batos.mind.prompts.fixed_prefixes`)."""
    brief = MissionBrief(receiver="a Proto(object)", selector="example", name="example",
                         params=[], arguments=[], slots=[], understood=[])
    prompt = backend.format_chat(build_messages(brief, persona_prompt)) + prefill(brief)
    return fixed_prefixes(backend, prompt, persona_prompt)


def warm_persona(image: "Image", name: str, *, background: bool = True,
                 backend: Any = None) -> threading.Thread | None:
    """Have the model evaluate persona ``name``'s fixed prompt prefix under its adapters
    now (kept on disk per model and adapter set, :mod:`batos.llm.kvdisk`), so its first
    miss starts from it: ``:persona NAME`` does this in a background thread. Nothing
    happens when generation is off or the backend keeps no prefix states (fake, http).
    Returns the thread (``background``), else None after warming."""
    from batos.mind.dnu import generation_enabled
    if not generation_enabled(image.options):
        return None
    from batos.mind.personas import backend_for, persona_for_code
    backend = backend if backend is not None else backend_for(image)
    if not callable(getattr(backend, "warm_prefix", None)):
        return None
    choice = persona_for_code(image, None, requested=name)
    system, adapters = choice.system_prompt, list(choice.adapters)

    def work() -> None:
        try:
            backend.warm_prefix(persona_prefixes(backend, system), adapters,
                                cancel=_WARM_STOP)
        except BaseException:  # noqa: BLE001 - only speed is lost; the miss will compute it
            pass
    if not background:
        work()
        return None
    thread = threading.Thread(target=work, name=f"batos-warm-{name}", daemon=True)
    thread.start()
    return thread
