"""``ask:`` -- the Socratic contrapunto as a PSM cycle (issue 7.5).

    genesis ask: 'How should I model a library?'

DECOMPOSING routes the question (noisy top-k over the personas' cues, seeded)
and plans the turns: BRICK and ROBIN alternate, each prompt carrying every
previous turn and the instruction to build explicitly on the last one.
DELEGATING runs one turn per visit (so every generation is a step of the
trace, with its persona, adapters, tokens and timings); when a turn hits
BABS's or ALFRED's cues (``research``, ``inefficient`` ...) that persona joins
next, once (sparse intervention). SYNTHESIZING has the routed lead persona
weave the turns into one answer, which ``ask:`` returns.
"""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError
from batos.image.proto import Proto

PAIR = ("BRICK", "ROBIN")
JOINERS = ("BABS", "ALFRED")
TURN_INSTRUCTION = ("You are in a dialogue with the other personas about the question. "
                    "Explicitly reference and build upon the previous statement. "
                    "Answer in at most four sentences.")
SYNTHESIS_INSTRUCTION = ("Weave the dialogue into one clear, practical answer to the "
                         "question: keep what each voice got right, resolve their tensions, "
                         "and end with a concrete next step.")


def _slot(proto: Proto, name: str, default: Any) -> Any:
    found = proto.lookup(name)
    return found[1] if found is not None and found[1] is not None else default


def transcript(turns: list[dict[str, Any]]) -> str:
    """The dialogue so far, one ``NAME: text`` paragraph per turn."""
    return "\n\n".join(f"{t['persona']}: {t['text']}" for t in turns)


def clean_turn(text: str, names: Any) -> str:
    """A turn's text without the ``NAME:`` label models like to echo from the transcript."""
    text = text.strip()
    changed = True
    while changed:
        changed = False
        for name in names:
            for label in (f"{name}:", f"**{name}:**", f"**{name}**:"):
                if text.upper().startswith(label.upper()):
                    text = text[len(label):].lstrip()
                    changed = True
    return text


def turn_prompt(question: str, turns: list[dict[str, Any]]) -> str:
    """The user message of the next turn: the question and every previous turn."""
    if not turns:
        return f"Question: {question}\n\nYou speak first."
    return (f"Question: {question}\n\nDialogue so far:\n{transcript(turns)}\n\n"
            f"Build on what {turns[-1]['persona']} just said.")


def run_ask(image: Any, receiver: Proto, question: str, *, seed: int | None = None,
            turns: int | None = None) -> str:
    """Run the contrapunto for ``question`` as a PSM cycle of kind "ask"; the synthesis."""
    from batos.mind.personas import (cues_of, find_persona, generate_as, persona_name,
                                     registry, system_prompt_of)
    from batos.mind.psm import new_cycle
    from batos.mind.router import cue_hits, route
    if not str(question).strip():
        raise BatosError("ask: needs a question")
    reg = registry(image)
    missing = [n for n in PAIR if n not in reg]
    if missing:
        raise BatosError(f"ask: needs the personas {', '.join(PAIR)} "
                         f"(missing: {', '.join(missing)})")
    options = getattr(image, "options", None) or {}
    if seed is None and options.get("seed") is not None:
        seed = int(options["seed"])
    n_turns = int(turns if turns is not None else _slot(receiver, "contrapunto_turns", 2))
    max_tokens = int(_slot(receiver, "ask_max_tokens", 192))
    cycle = new_cycle(image, "ask", question, persona=PAIR[0], seed=seed, turns=n_turns)
    ctx = cycle.context
    ctx.update(question=str(question), turns=[], joined=[], queue=[])

    def decompose(c: Any) -> str:
        decision = route(question, cues_of(image), k=2, seed=seed, kind="ask")
        lead = decision.top if decision.top in reg else PAIR[0]
        plan = [PAIR[i % 2] for i in range(max(n_turns, 1))]
        # a joiner whose cues the question itself hits speaks after the first turn
        early = [n for n in JOINERS if n in reg and decision.hits.get(n)]
        for name in early:
            plan.insert(1, name)
            ctx["joined"].append(name)
        ctx.update(plan=plan, lead=lead)
        c.note(route=decision.scores, noisy=decision.noisy, chosen=list(decision.chosen),
               lead=lead, plan=plan)
        return "DELEGATING"

    def delegate(c: Any) -> str:
        if not ctx["plan"]:
            return "SYNTHESIZING"
        name = ctx["plan"].pop(0)
        proto = find_persona(image, name)
        system = system_prompt_of(proto) + "\n" + TURN_INSTRUCTION
        turn_seed = None if seed is None else seed + len(ctx["turns"])
        c.note(persona=name, turn=len(ctx["turns"]) + 1)
        done = generate_as(image, proto, turn_prompt(question, ctx["turns"]), system=system,
                           max_tokens=max_tokens, seed=turn_seed)
        text = clean_turn(done.text, reg)
        ctx["turns"].append({"persona": name, "text": text})
        c.note(text=text[:400])
        for joiner in JOINERS:
            if joiner in reg and joiner not in ctx["joined"] and joiner != name:
                hits = cue_hits(text, _slot(reg[joiner], "cues", []))
                if hits:
                    ctx["joined"].append(joiner)
                    ctx["plan"].insert(0, joiner)
                    c.note(joins=joiner, cues=hits)
        return "DELEGATING" if ctx["plan"] else "SYNTHESIZING"

    def synthesize(c: Any) -> str:
        lead = find_persona(image, ctx["lead"])
        system = system_prompt_of(lead) + "\n" + SYNTHESIS_INSTRUCTION
        user = f"Question: {question}\n\nDialogue:\n{transcript(ctx['turns'])}\n\nSynthesis:"
        c.note(persona=persona_name(lead))
        done = generate_as(image, lead, user, system=system, max_tokens=max_tokens,
                           seed=None if seed is None else seed + 1000)
        text = clean_turn(done.text, reg)
        if not text:
            return c.fail(BatosError("the synthesis came back empty"))
        c.result = text
        return "COMPLETE"

    return cycle.run({"DECOMPOSING": decompose, "DELEGATING": delegate,
                      "SYNTHESIZING": synthesize})


def ask(self: Proto, question: Any) -> str:
    """``ask:`` (a primitive on pLLM) -- the contrapunto's synthesis for ``question``."""
    from batos.image.image import image_of
    image = image_of(self)
    if image is None:
        raise BatosError("ask: needs an open image")
    return run_ask(image, self, str(question))


__all__ = ["ask", "run_ask", "turn_prompt", "transcript", "clean_turn"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'ask'})
