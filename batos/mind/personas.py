"""The Composite Mind's personas: BRICK, ROBIN, BABS and ALFRED as prototypes (issue 7.1).

Each persona is cloned from ``pLLM`` (its data slots copied: temperature,
max_tokens ...) and delegates behaviour to it through a ``pLLM*`` parent slot.
Its codex lives in slots users may edit or clone in BST like any object:

* ``system_prompt`` -- who the persona is; ``voice`` -- how it speaks;
* ``pillars`` -- facet name → a specialised system prompt (cognitive facets);
* ``cues`` -- routing keywords for the CP-MoE router;
* ``adapter`` -- None or a persistent :class:`batos.mind.adapters.Adapter` (a LoRA
  GGUF kept as a ZODB blob), hot-applied with ``adapter_scale`` per generation.

The global ``personas`` maps names to persona prototypes in order; a persona
added there takes part in routing. Behaviour installed on ``pLLM``:
``infer:``, ``infer:system:``, ``facet:with:`` (and one ``<pillar>:`` method per
pillar on each persona), ``ask:`` (the Socratic contrapunto, in
:mod:`batos.mind.contrapunto`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from batos.errors import BatosError
from batos.image.method import Method, primitive
from batos.image.proto import Proto, selector_to_name
from batos.settings import setting

NAMES = ("BRICK", "ROBIN", "BABS", "ALFRED")
REVIEWER = "ALFRED"

CODEX: dict[str, dict[str, Any]] = {
    "BRICK": {
        "role": "technical deconstruction and code",
        "system_prompt": (
            "You are BRICK, the logical lead of a live object image. You deconstruct a problem "
            "into its parts, name the systemic cause, and build the tool that solves it: "
            "precise, literal, mission-driven. When asked for code you write exactly what was "
            "asked, correct and small."),
        "voice": "declarative, literal, heroic mission language with tangential facts",
        "pillars": {
            "deconstruct": ("You are BRICK's Tamland Engine. Take the statement apart: list "
                            "its literal parts, its hidden assumptions and the systemic cause, "
                            "one per line."),
            "forge": ("You are BRICK's ToolForge. Propose the smallest concrete tool, object "
                      "or method that solves the problem, with its name and its slots."),
            "guide": ("You are BRICK's Guide. Give one relevant, surprising but true fact "
                      "that reframes the problem, then say why it matters."),
        },
        "cues": ["code", "method", "implement", "build", "design", "model", "algorithm",
                 "structure", "debug", "error", "fix", "logic", "system", "architect",
                 "class", "object", "slot", "function", "compute", "calculat", "sort"],
    },
    "ROBIN": {
        "role": "emotional and contextual resonance",
        "system_prompt": (
            "You are ROBIN, the heart of a live object image. You listen for what matters to "
            "the person behind the question, relate the problem to its context and its "
            "people, and answer with warmth, gentle curiosity and plain words."),
        "voice": "warm, gentle, curious, joyfully un-ironic",
        "pillars": {
            "resonate": ("You are ROBIN's resonance. Say what this means for the people "
                         "involved and what they might feel or need, in two or three "
                         "sentences."),
            "wonder": ("You are ROBIN's gentle curiosity. Ask the two questions that would "
                       "help most, and say why each matters."),
            "flow": ("You are ROBIN's sense of flow. Suggest the simplest, most natural way "
                     "forward, without forcing anything."),
        },
        "cues": ["feel", "people", "person", "user", "human", "friend", "care", "stress",
                 "worr", "happy", "sad", "meaning", "value", "story", "context", "community",
                 "team", "help", "why"],
    },
    "BABS": {
        "role": "research and retrieval",
        "system_prompt": (
            "You are BABS, the researcher of a live object image. You find the facts that "
            "matter, cite where they come from, and summarise them concisely and precisely, "
            "flagging what is uncertain."),
        "voice": "cool, concise, precise, flawless execution",
        "pillars": {
            "retrieve": ("You are BABS retrieving. List the facts needed to answer, each "
                         "with how sure it is and where it would be found."),
            "summarise": ("You are BABS summarising. Give the essence in three precise "
                          "bullet points."),
        },
        "cues": ["research", "source", "evidence", "data", "fact", "find", "search", "look up",
                 "reference", "document", "paper", "study", "history", "catalog", "library",
                 "which", "compare", "survey"],
    },
    "ALFRED": {
        "role": "stewardship: audit, efficiency",
        "system_prompt": (
            "You are ALFRED, the steward of a live object image. You audit plans and code for "
            "waste, risk and needless complexity, and say plainly what to cut or keep. You are "
            "laconic and pragmatic."),
        "voice": "laconic, pragmatic, dry",
        "pillars": {
            "audit": ("You are ALFRED auditing. Name the single biggest risk or inefficiency "
                      "and the fix, in at most three sentences."),
            "simplify": ("You are ALFRED simplifying. Say what can be removed without loss, "
                         "as a short list."),
        },
        "cues": ["inefficien", "efficien", "slow", "fast", "cost", "waste", "bloat", "simpl",
                 "complex", "risk", "secur", "audit", "review", "check", "performance",
                 "memory", "optimi", "clean"],
    },
}


@dataclass
class PersonaChoice:
    """Who writes a method, with what prompt and adapters, and why (for the trace)."""

    name: str
    proto: Proto
    system_prompt: str
    adapters: list[tuple[str, float]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    reviewer: str = REVIEWER
    requested: bool = False
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data for traces."""
        return {"persona": self.name, "adapters": [[os.path.basename(p), s]
                                                   for p, s in self.adapters],
                "scores": dict(self.scores), "reviewer": self.reviewer,
                "requested": self.requested, "seed": self.seed}


# --- awakening -------------------------------------------------------------------------------

PLLM_PRIMITIVES: list[tuple[str, str, str]] = [
    ("infer:", "batos.mind.personas:infer", "answer a prompt in this persona's voice "
     "(its system prompt, its LoRA adapter hot-applied)"),
    ("infer:system:", "batos.mind.personas:infer_system", "answer a prompt under a given "
     "system prompt, with this persona's adapter"),
    ("facet:with:", "batos.mind.personas:facet_with", "think with one pillar (cognitive facet): "
     "the pillar's specialised system prompt, this persona's adapter, no extra adapter"),
    ("ask:", "batos.mind.contrapunto:ask", "the Socratic contrapunto: BRICK and ROBIN build on "
     "each other, BABS and ALFRED join on their cues; answers the synthesis"),
]


def awaken_personas(image: Any) -> None:
    """Create BRICK, ROBIN, BABS, ALFRED (globals and the ``personas`` mapping) and install
    the inference methods on ``pLLM`` (the awakening step then offers ``loras/``:
    :func:`batos.mind.adapters.awaken_personas`)."""
    from persistent.mapping import PersistentMapping
    g = image.root["globals"]
    pllm: Proto = g["pLLM"]
    for selector, ref, doc in PLLM_PRIMITIVES:
        pllm.set_slot(selector_to_name(selector), primitive(selector, ref, doc))
    if not pllm.has_slot("persona"):
        pllm.set_slot("persona", "BRICK")
    # optional tuning slots, read with defaults (kept off pLLM so that every object's
    # mission brief stays short): reviewer, contrapunto_turns, ask_max_tokens
    registry = g.get("personas")
    if registry is None:
        registry = g["personas"] = PersistentMapping()
    for name in NAMES:
        if name in registry:
            continue
        proto = make_persona(pllm, name, CODEX[name])
        g[name] = proto
        registry[name] = proto


def make_persona(pllm: Proto, name: str, codex: Mapping[str, Any]) -> Proto:
    """A persona: a clone of ``pllm`` delegating to it, with ``codex`` in its slots."""
    proto = pllm.clone()
    for key in [k for k in proto.slot_names()
                if k.endswith("*") or isinstance(proto.get_slot(k), Method)]:
        proto.remove_slot(key)  # behaviour is inherited, not copied
    proto.__dict__["_name"] = name
    from batos.image.proto import mark_primordial
    mark_primordial(proto)  # batos made it: in no method's custody, starts a new kind
    proto.set_slot("pLLM*", pllm)
    proto.set_slot("name", name)
    proto.set_slot("persona", name)
    proto.set_slot("description", f"{name}: {codex['role']}")
    proto.set_slot("role", codex["role"])
    proto.set_slot("system_prompt", codex["system_prompt"])
    proto.set_slot("voice", codex["voice"])
    proto.set_slot("pillars", dict(codex["pillars"]))
    proto.set_slot("cues", list(codex["cues"]))
    proto.set_slot("adapter", None)
    proto.set_slot("adapter_scale", 1.0)
    for pillar in codex["pillars"]:
        define_pillar(proto, pillar)
    return proto


def define_pillar(proto: Proto, pillar: str) -> None:
    """Install ``<pillar>:`` on ``proto``: a Python method calling ``facet:with:``."""
    name = selector_to_name(pillar + ":")
    source = (f"def {name}(self, text):\n"
              f"    return self.facet_with_({pillar!r}, text)\n")
    proto.define(pillar + ":", source, author="batos",
                 provenance={"doc": f"cognitive facet {pillar!r} of this persona"})


# --- finding personas ----------------------------------------------------------------------------

def registry(image: Any) -> Mapping[str, Proto]:
    """The ``personas`` global (name → prototype), empty if the image has none."""
    reg = image.root["globals"].get("personas")
    return reg if reg is not None else {}


def persona_names(image: Any) -> list[str]:
    return list(registry(image))


def persona_name(proto: Proto) -> str:
    """A persona's name: its ``name`` slot, else its global name."""
    found = proto.lookup("name")
    if found is not None and isinstance(found[1], str):
        return found[1]
    return proto.__dict__.get("_name") or "?"


def find_persona(image: Any, name: str) -> Proto:
    """The persona called ``name`` (case-insensitive; ``personas`` first, then globals)."""
    reg = registry(image)
    want = str(name).strip()
    for key, proto in reg.items():
        if key.lower() == want.lower():
            return proto
    g = image.root["globals"]
    for key in (want, want.upper()):
        value = g.get(key)
        if isinstance(value, Proto) and value.lookup("system_prompt") is not None:
            return value
    import difflib
    close = difflib.get_close_matches(want.upper(), list(reg), n=2)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    known = ", ".join(reg) or "none: open the image for writing to awaken them"
    raise BatosError(f"no persona named {name!r}{hint}; personas: {known}")


def cues_of(image: Any) -> dict[str, list[str]]:
    """{persona name: its routing cues} for every registered persona."""
    out: dict[str, list[str]] = {}
    for key, proto in registry(image).items():
        found = proto.lookup("cues")
        out[key] = [str(c) for c in (found[1] if found and found[1] else [])]
    return out


def adapter_specs(proto: Proto) -> list[tuple[str, float]]:
    """``[(file path, scale)]`` for ``proto``'s adapter (none when it has no adapter)."""
    found = proto.lookup("adapter")
    adapter = found[1] if found else None
    if adapter is None:
        return []
    scale = proto.lookup("adapter_scale")
    value = float(scale[1]) if scale and scale[1] is not None else 1.0
    return [(adapter.path(), value)] if value else []  # the blob's file (mind.adapters)


def _text(message: Any) -> str:
    """Routing text of a reified Message (selector, arguments) or of any string."""
    selector = getattr(message, "selector", None)
    if selector is None:
        return str(message)
    args = " ".join(str(a)[:200] for a in getattr(message, "arguments", []))
    receiver = getattr(message, "receiver", None)
    who = receiver.__dict__.get("_name", "") if isinstance(receiver, Proto) else ""
    return f"{selector} {args} {who}"


def code_persona_name(image: Any) -> str:
    """The name of the persona that writes missing methods now: the ``persona`` setting
    (``--persona``, ``:persona``, ``$BATOS_PERSONA``; :mod:`batos.settings`), else the
    image's code persona (``pLLM persona``), else BRICK. The one selector of the
    persona: the trace header and the generated method's provenance both use it."""
    requested = setting("persona", options=getattr(image, "options", None))
    if requested:
        return requested
    pllm = image.root["globals"].get("pLLM")
    default = pllm.lookup("persona") if pllm is not None else None
    return str(default[1]).upper() if default and default[1] else "BRICK"


def persona_for_code(image: Any, message: Any, *, requested: str | None = None,
                     seed: int | None = None) -> PersonaChoice:
    """Who writes the method for ``message``: ``requested`` if given, else
    :func:`code_persona_name` (the ``persona`` setting, else the image's code persona,
    BRICK by default). The router's noisy scores (seeded) go to the trace."""
    from batos.mind.ether import route_in
    cues = cues_of(image)
    decision = route_in(image, _text(message), cues, seed=seed, kind="code") if cues else None
    requested = setting("persona", flag=requested, options=getattr(image, "options", None))
    if requested:
        proto = find_persona(image, requested)
    else:
        try:
            proto = find_persona(image, code_persona_name(image))
        except BatosError:
            if decision is None:
                raise
            proto = find_persona(image, decision.top)
    return PersonaChoice(
        name=persona_name(proto), proto=proto, system_prompt=system_prompt_of(proto),
        adapters=adapter_specs(proto), scores=dict(decision.scores) if decision else {},
        reviewer=_reviewer(image), requested=bool(requested), seed=seed)


def _reviewer(image: Any) -> str:
    pllm = image.root["globals"].get("pLLM")
    found = pllm.lookup("reviewer") if pllm is not None else None
    return str(found[1]) if found and found[1] else REVIEWER


def system_prompt_of(proto: Proto, pillar: str | None = None) -> str:
    """The persona's system prompt (with its voice), or a pillar's specialised prompt."""
    if pillar is not None:
        found = proto.lookup("pillars")
        pillars = found[1] if found and found[1] is not None else {}
        key = str(pillar).lstrip("#")
        if key not in pillars:
            raise BatosError(f"{persona_name(proto)} has no pillar {key!r} "
                             f"(pillars: {', '.join(pillars) or 'none'})")
        return str(pillars[key])
    found = proto.lookup("system_prompt")
    text = str(found[1]) if found and found[1] else ""
    voice = proto.lookup("voice")
    if voice and voice[1]:
        text += f"\nVoice: {voice[1]}."
    return text


# --- inference --------------------------------------------------------------------------------

def backend_for(image: Any) -> Any:
    """The backend generation uses (misses, ``infer:``, ``ask:``): a ``backend`` object
    (an enclosing ``batos.mind.dnu.use_backend`` block, else ``image.options['backend']``),
    else :func:`batos.llm.backend.configured_backend` (``model``, ``url``): one order,
    :mod:`batos.settings`."""
    from batos.llm.backend import configured_backend
    return configured_backend(getattr(image, "options", None))


def generate_as(image: Any, proto: Proto, user: str, *, system: str | None = None,
                max_tokens: int | None = None, seed: int | None = None,
                stop: tuple[str, ...] = ("<|im_end|>",),
                on_token: Callable[[str], None] | None = None,
                stop_on: type[BaseException] | None = None) -> Any:
    """One generation as ``proto``: its system prompt (or ``system``) through the model's
    chat template, its adapter hot-applied, outside the statement's time limit. Noted in
    the running cycle, if any. ``on_token`` receives the text as it is generated; when it
    raises ``stop_on`` the generation ends there, with the text so far and the finish
    reason ``"time"``."""
    backend = backend_for(image)
    messages = [{"role": "system", "content": system if system is not None
                 else system_prompt_of(proto)},
                {"role": "user", "content": str(user)}]
    prompt = backend.format_chat(messages)
    temp = proto.lookup("temperature")
    tokens = proto.lookup("max_tokens")
    options = getattr(image, "options", None)
    from batos.guardian.limits import paused
    pieces: list[str] = []

    def feed(piece: str) -> None:
        pieces.append(piece)
        if on_token is not None:
            on_token(piece)
    adapters = adapter_specs(proto)
    t0 = time.perf_counter()
    with paused():  # model time does not count against the statement's time limit
        try:
            done = backend.generate(
                prompt, max_tokens=setting("max_tokens", flag=max_tokens, options=options,
                                           default=tokens[1] if tokens and tokens[1] else 256),
                temperature=setting("temperature", options=options,
                                    default=temp[1] if temp and temp[1] is not None else 0.0),
                seed=setting("seed", flag=seed, options=options),
                stop=list(stop), adapters=adapters,
                on_token=feed if on_token is not None else None)
        except BaseException as exc:
            if stop_on is None or not isinstance(exc, stop_on):
                raise
            done = _cut_completion(backend, "".join(pieces), len(pieces),
                                   time.perf_counter() - t0, adapters)
    from batos.mind.psm import current_cycle
    cycle = current_cycle()
    if cycle is not None:
        cycle.note_completion(done, persona=persona_name(proto))
    from batos.mind import genlog  # every generation is logged (`batos log`)
    kind = cycle.proto.get_slot("kind") if cycle is not None else "infer"
    genlog.log_answer(image, persona_name(proto), f"{kind}:", prompt, done)
    return done


def _cut_completion(backend: Any, text: str, n: int, seconds: float,
                    adapters: list[tuple[str, float]]) -> Any:
    """The Completion of a generation its token callback stopped (finish reason "time")."""
    from batos.llm.backend import Completion
    try:
        model, sha = backend.model_identity()
    except Exception:  # noqa: BLE001 - identity is only for the record
        model, sha = getattr(backend, "name", "?"), ""
    return Completion(text=text, prompt_tokens=0, completion_tokens=n, seconds=seconds,
                      prompt_seconds=0.0, model=model, model_sha256=sha,
                      adapters=tuple(adapters), finish_reason="time",
                      backend=getattr(backend, "name", ""))


def _image_of(proto: Proto) -> Any:
    from batos.image.image import image_of
    image = image_of(proto)
    if image is None:
        raise BatosError("this persona is not in an open image")
    return image


def infer(self: Proto, prompt: Any) -> str:
    """``infer:`` -- the persona answers ``prompt``."""
    return generate_as(_image_of(self), self, str(prompt)).text.strip()


def infer_system(self: Proto, prompt: Any, system: Any) -> str:
    """``infer:system:`` -- the persona answers under ``system`` (its adapter still on)."""
    return generate_as(_image_of(self), self, str(prompt), system=str(system)).text.strip()


def facet_with(self: Proto, pillar: Any, text: Any) -> str:
    """``facet:with:`` -- think with one pillar: its specialised system prompt, the
    persona's own adapter and no extra adapter."""
    system = system_prompt_of(self, str(pillar))
    return generate_as(_image_of(self), self, str(text), system=system).text.strip()


__all__ = ["NAMES", "CODEX", "PersonaChoice", "awaken_personas", "persona_for_code",
           "find_persona", "persona_names", "persona_name", "adapter_specs", "cues_of",
           "system_prompt_of", "generate_as", "backend_for", "code_persona_name", "infer",
           "infer_system",
           "facet_with", "make_persona"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'infer', 'infer_system', 'facet_with'})
