"""``ask:`` -- the Socratic contrapunto as a PSM cycle (issue 7.5), streamed and bounded.

    genesis ask: 'How should I model a library?'

DECOMPOSING routes the question (noisy top-k over the personas' cues, seeded)
and plans the turns: BRICK and ROBIN alternate, each prompt carrying every
previous turn and the instruction to build explicitly on the last one.
DELEGATING runs one turn per visit (so every generation is a step of the
trace, with its persona, adapters, tokens and timings); when a turn hits
BABS's or ALFRED's cues (``research``, ``inefficient`` ...) that persona joins
next, once (sparse intervention). SYNTHESIZING has the routed lead persona
weave the turns into one answer, which ``ask:`` returns as prose
(:mod:`batos.lang.prose`: the REPL shows it as text, not as a String literal).

Every generation streams to the same sink as a doesNotUnderstand_ method (the
terminal's stderr), headed by its persona. The dialogue is bounded by a number
of turns (``ask_max_turns``, default 4, joiners included) and a time budget
(``ask_seconds``, default 60; 0 for none), read from ``image.options`` first,
then from the receiver's slots: turns stop when the budget's share for them is
spent (a turn in progress is cut), and the synthesis is cut at the budget. A
reply cut by the budget or by its token limit is trimmed back to its last
complete sentence. Every message the model answers says what batos is (prototypes,
slots, clones, ``parent*`` slots, Smalltalk syntax), or a small model answers with
Python classes.
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable

from batos.errors import BatosError
from batos.image.proto import Proto
from batos.settings import SETTINGS, setting

PAIR = ("BRICK", "ROBIN")
JOINERS = ("BABS", "ALFRED")
DEFAULT_SECONDS: float = SETTINGS["ask_seconds"].default
DEFAULT_MAX_TURNS: int = SETTINGS["ask_max_turns"].default
#: the share of the time budget kept for the synthesis
SYNTHESIS_SHARE = 0.4

WORLD = (
    "batos is a live image of prototype objects (like Self), programmed in Smalltalk "
    "syntax. It has no classes: every object is made by cloning a prototype and keeps its "
    "state in slots. In batos: Image at: #Book put: genesis clone (a Book prototype); "
    "Book setSlot: #title value: 'Dune' (a slot); Book >> describe [ ^'Book: ', title ] "
    "(a method in a slot); dune setSlot: #'book*' value: Book (a parent slot: dune "
    "inherits Book's methods).")
FIRST_TURN_INSTRUCTION = ("You speak first in a dialogue with the other personas about the "
                          "question. Answer it in at most four sentences.")
TURN_INSTRUCTION = ("You are in a dialogue with the other personas about the question. "
                    "Build on the previous statement: add what it missed, without "
                    "repeating it. Answer in at most four sentences.")
SYNTHESIS_INSTRUCTION = ("Weave the dialogue into one clear, practical answer to the "
                         "question: keep what each voice got right, resolve their tensions, "
                         "and end with a concrete next step. Write at most six sentences "
                         "of plain prose; a short example in Smalltalk syntax is welcome.")

#: the clock the budget is measured with (tests replace it)
_now: Callable[[], float] = time.monotonic


class OutOfTime(Exception):
    """Raised from the token callback when the contrapunto's time is up."""


def _slot(proto: Proto, name: str, default: Any) -> Any:
    found = proto.lookup(name)
    return found[1] if found is not None and found[1] is not None else default


def _setting(image: Any, receiver: Proto, name: str, flag: Any = None) -> Any:
    """Setting ``name`` (:mod:`batos.settings`: flag → image options → environment),
    else the receiver's (inherited) slot, else the table's default."""
    return setting(name, flag=flag, options=getattr(image, "options", None),
                   default=_slot(receiver, name, SETTINGS[name].default))


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


_SENTENCE_END = re.compile(r"[.!?…](?:[\"')\]*_`]*)(?=\s|$)")
_NOT_AN_END = re.compile(r"(?:^|\s)(?:\d+|[A-Za-z]|e\.g|i\.e|vs|cf|Mr|Mrs|Dr)[.]$")
_FENCE = "```"
#: a "Synthesis:" label a model echoes at the end of its answer
_TRAILING_LABEL = re.compile(r"\s*\**Synthesis\**:?\**\s*$", re.IGNORECASE)


def complete_sentences(text: str) -> str:
    """``text`` cut back to its last complete sentence (a reply cut by a token limit or a
    time budget); a closed code block also counts as complete. Text without any complete
    sentence is kept, with ``…``."""
    text = text.rstrip()
    if not text:
        return text
    body = text
    if body.count(_FENCE) % 2:  # an unclosed code block: drop it
        body = body[: body.rfind(_FENCE)].rstrip()
    if body.endswith(_FENCE) or _ends_sentence(body):
        return body
    end = -1
    for m in _SENTENCE_END.finditer(body):
        if not _NOT_AN_END.search(body[: m.start() + 1]):
            end = m.end()
    fence = body.rfind(_FENCE)
    if fence >= 0 and body.count(_FENCE, 0, fence + 3) % 2 == 0:
        end = max(end, fence + 3)
    if end <= 0:
        return text + "…"
    return body[:end].rstrip()


def _ends_sentence(text: str) -> bool:
    m = _SENTENCE_END.search(text, max(len(text) - 8, 0))
    while m is not None and m.end() != len(text):
        m = _SENTENCE_END.search(text, m.end())
    return m is not None and not _NOT_AN_END.search(text[: m.start() + 1])


def context(question: str) -> str:
    """The question with batos's world (a small model answers with Python classes
    unless the message it answers says what batos is)."""
    return (f"Question about batos: {question}\n\nRemember: {WORLD} "
            "Use prototypes, not classes.")


def turn_prompt(question: str, turns: list[dict[str, Any]]) -> str:
    """The user message of the next turn: the question and every previous turn."""
    if not turns:
        return f"{context(question)}\n\nYou speak first."
    return (f"{context(question)}\n\nDialogue so far:\n{transcript(turns)}\n\n"
            f"Build on what {turns[-1]['persona']} just said.")


class _Stream:
    """The token callback of one generation: tokens go to the terminal sink (as a
    doesNotUnderstand_ method's do) and the generation stops at ``deadline``."""

    def __init__(self, sink: Callable[[str], None] | None, deadline: float | None) -> None:
        self.sink = sink
        self.deadline = deadline

    def __call__(self, piece: str) -> None:
        if self.sink is not None:
            self.sink(piece)
        if self.deadline is not None and _now() >= self.deadline:
            raise OutOfTime()


def _sink() -> Callable[[str], None] | None:
    from batos.mind.dnu import current_sink
    return current_sink()


def run_ask(image: Any, receiver: Proto, question: str, *, seed: int | None = None,
            turns: int | None = None, seconds: float | None = None,
            max_turns: int | None = None) -> str:
    """Run the contrapunto for ``question`` as a PSM cycle of kind "ask"; the synthesis."""
    from batos.mind.personas import (cues_of, find_persona, generate_as, persona_name,
                                     registry, system_prompt_of)
    from batos.mind.psm import new_cycle
    from batos.mind.ether import route_in
    from batos.mind.router import cue_hits
    if not str(question).strip():
        raise BatosError("ask: needs a question")
    reg = registry(image)
    missing = [n for n in PAIR if n not in reg]
    if missing:
        raise BatosError(f"ask: needs the personas {', '.join(PAIR)} "
                         f"(missing: {', '.join(missing)})")
    seed = setting("seed", flag=seed, options=getattr(image, "options", None), default=None)
    n_turns = int(turns if turns is not None else _slot(receiver, "contrapunto_turns", 2))
    max_tokens = int(_slot(receiver, "ask_max_tokens", 192))
    limit = _setting(image, receiver, "ask_max_turns", max_turns)
    budget = float(_setting(image, receiver, "ask_seconds", seconds) or 0.0)
    start = _now()
    end = start + budget if budget > 0 else None
    turns_end = start + budget * (1 - SYNTHESIS_SHARE) if budget > 0 else None
    sink = _sink()
    cycle = new_cycle(image, "ask", question, persona=PAIR[0], seed=seed, turns=0,
                      planned=n_turns, max_turns=limit, budget_s=budget)
    ctx = cycle.context
    ctx.update(question=str(question), turns=[], joined=[], queue=[])

    def count_turns() -> None:
        cycle.trace.info["turns"] = len(ctx["turns"])
        cycle.trace._p_changed = True

    def decompose(c: Any) -> str:
        decision = route_in(image, question, cues_of(image), k=2, seed=seed, kind="ask")
        lead = decision.top if decision.top in reg else PAIR[0]
        plan = [PAIR[i % 2] for i in range(max(n_turns, 1))]
        # a joiner whose cues the question itself hits speaks after the first turn
        early = [n for n in JOINERS if n in reg and decision.hits.get(n)]
        for name in early:
            plan.insert(1, name)
            ctx["joined"].append(name)
        del plan[limit:]
        ctx.update(plan=plan, lead=lead)
        c.note(route=decision.scores, noisy=decision.noisy, chosen=list(decision.chosen),
               lead=lead, plan=plan)
        return "DELEGATING"

    def delegate(c: Any) -> str:
        if not ctx["plan"]:
            return "SYNTHESIZING"
        name = ctx["plan"].pop(0)
        proto = find_persona(image, name)
        system = system_prompt_of(proto) + "\n" + (TURN_INSTRUCTION if ctx["turns"]
                                                    else FIRST_TURN_INSTRUCTION)
        turn_seed = None if seed is None else seed + len(ctx["turns"])
        number = len(ctx["turns"]) + 1
        c.note(persona=name, turn=number)
        if sink is not None:
            sink(f"\n{name} ▸ turn {number}\n")
        done = generate_as(image, proto, turn_prompt(question, ctx["turns"]), system=system,
                           max_tokens=max_tokens, seed=turn_seed,
                           on_token=_Stream(sink, turns_end), stop_on=OutOfTime)
        if sink is not None:
            sink("\n")
        text = clean_turn(done.text, reg)
        if done.finish_reason != "stop":
            text = complete_sentences(text)
        if text:
            ctx["turns"].append({"persona": name, "text": text})
            count_turns()
        c.note(text=text[:400])
        if done.finish_reason == "time":
            ctx["plan"].clear()
            c.note(stopped=f"time: {budget:g} s budget")
            return "SYNTHESIZING"
        for joiner in JOINERS:
            if joiner in reg and joiner not in ctx["joined"] and joiner != name:
                hits = cue_hits(text, _slot(reg[joiner], "cues", []))
                if hits:
                    ctx["joined"].append(joiner)
                    ctx["plan"].insert(0, joiner)
                    c.note(joins=joiner, cues=hits)
        if ctx["plan"] and len(ctx["turns"]) >= limit:
            ctx["plan"].clear()
            c.note(stopped=f"turns: at most {limit}")
        elif ctx["plan"] and turns_end is not None and _now() >= turns_end:
            ctx["plan"].clear()
            c.note(stopped=f"time: {budget:g} s budget")
        return "DELEGATING" if ctx["plan"] else "SYNTHESIZING"

    def synthesize(c: Any) -> str:
        lead = find_persona(image, ctx["lead"])
        name = persona_name(lead)
        system = system_prompt_of(lead) + "\n" + SYNTHESIS_INSTRUCTION
        user = (f"{context(question)}\n\nDialogue:\n{transcript(ctx['turns'])}\n\n"
                "Synthesis:")
        c.note(persona=name)
        if sink is not None:
            sink(f"\n{name} ▸ synthesis\n")
        # the synthesis gets at least a quarter of the budget, even after a long turn
        deadline = None if end is None else max(end, _now() + budget / 4)
        done = generate_as(image, lead, user, system=system, max_tokens=max_tokens * 2,
                           seed=None if seed is None else seed + 1000,
                           on_token=_Stream(sink, deadline), stop_on=OutOfTime)
        if sink is not None:
            sink("\n")
        text = _TRAILING_LABEL.sub("", clean_turn(done.text, [*reg, "Synthesis"]))
        if done.finish_reason != "stop":
            text = complete_sentences(text)
            c.note(trimmed=done.finish_reason)
        if not text:
            return c.fail(BatosError("the synthesis came back empty"))
        c.result = text
        return "COMPLETE"

    return cycle.run({"DECOMPOSING": decompose, "DELEGATING": delegate,
                      "SYNTHESIZING": synthesize})


def ask(self: Proto, question: Any) -> str:
    """``ask:`` (a primitive on pLLM) -- the contrapunto's synthesis for ``question``,
    as prose (shown as text by the REPL, ``eval`` and ``send``)."""
    from batos.image.image import image_of
    from batos.lang.prose import as_prose
    image = image_of(self)
    if image is None:
        raise BatosError("ask: needs an open image")
    return as_prose(run_ask(image, self, str(question)))


__all__ = ["ask", "run_ask", "turn_prompt", "context", "transcript", "clean_turn",
           "complete_sentences",
           "OutOfTime", "WORLD", "DEFAULT_SECONDS", "DEFAULT_MAX_TURNS"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'ask'})
