"""doesNotUnderstand_: a local model writes the missing method, inside the send's transaction.

The default ``doesNotUnderstand_`` on ``traits`` runs a Prototypal State Machine
cycle (``batos.mind.psm``)::

    IDLE → DECOMPOSING (mission brief) → DELEGATING (persona, adapters, backend)
         → SYNTHESIZING (generate → extract → audit → compile → install → run)
         → COMPLETE, or back to SYNTHESIZING with the error fed back, or FAILED

A failure aborts the whole send (the image is unchanged); the attempts, a
failure record and the trace are then written in a separate transaction (the
exception's ``followup``, run by :meth:`Image.execute`).
"""
from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from batos.errors import GenerationFailed, MessageNotUnderstood, ModelError
from batos.guardian.limits import paused
from batos.llm.backend import Completion
from batos.llm.protocol import takes
from batos.mind import cove, genlog
from batos.mind.candidates import (AttemptFailed, Candidate, Runaway, RunawayGuard, Trial,
                                   choose, disputed, evaluate, failure_of, install_and_send,
                                   judge_examples, mean_logprob, same_behaviour, same_code)
from batos.mind.extract import extract_code
from batos.mind.prompts import (STOP, MissionBrief, build_messages,
                                fixed_prefixes, prefill, preview, prompt_hash,
                                return_hint, type_name)
from batos.settings import overriding, setting

if TYPE_CHECKING:
    from batos.image.image import Image
    from batos.image.message import Message
    from batos.image.proto import Proto

_token_sink: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "batos_token_sink", default=None)
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("batos_dnu_depth", default=0)


# --- configuration hooks used by the CLI, the REPL and tests ------------------------------

@contextlib.contextmanager
def use_backend(backend: Any) -> Iterator[Any]:
    """Generate with ``backend`` (e.g. a FakeBackend) inside the block: the ``backend``
    setting at the flag level (:mod:`batos.settings`)."""
    with overriding(backend=backend):
        yield backend


@contextlib.contextmanager
def stream_to(sink: Callable[[str], None] | None) -> Iterator[None]:
    """Send generated tokens to ``sink`` as they arrive (None: silent)."""
    token = _token_sink.set(sink)
    try:
        yield
    finally:
        _token_sink.reset(token)


@contextlib.contextmanager
def use_persona(name: str | None) -> Iterator[None]:
    """Ask for persona ``name`` for misses inside the block (``--persona``): the
    ``persona`` setting at the flag level."""
    with overriding(persona=name):
        yield


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters between words, with ``…`` when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    inside_a_word = text[limit - 1] != " " and space > limit // 2
    return (cut[:space] if inside_a_word else cut).rstrip() + "…"


def generation_enabled(options: Mapping[str, Any] | None = None) -> bool:
    """Off with ``BATOS_LLM=off`` (tests, scripts) unless a backend is given explicitly
    (``use_backend``, ``image.options['backend']``)."""
    if setting("backend", options=options) is not None:
        return True
    return bool(setting("llm", options=options))


def _default_sink() -> Callable[[str], None] | None:
    mode = setting("stream")
    if mode == "1" or (mode != "0" and sys.stderr.isatty()):
        def write(text: str) -> None:
            from batos.guardian.hygiene import printable  # model text: escapes shown
            sys.stderr.write(printable(text))
            sys.stderr.flush()
        return write
    return None


def current_sink() -> Callable[[str], None] | None:
    """Where generated text streams now: the sink of an enclosing :func:`stream_to`
    block (the REPL's), else stderr when it is a terminal or ``BATOS_STREAM=1``, else
    None. doesNotUnderstand_ methods and the ``ask:`` contrapunto both use it."""
    return _token_sink.get() or _default_sink()


# --- awakening -------------------------------------------------------------------------

def awaken_llm(image: "Image") -> None:
    """Make the model-backed doesNotUnderstand_ the default on traits."""
    from batos.image.method import primitive
    traits = image.root["globals"]["traits"]
    traits.set_slot("doesNotUnderstand_", primitive(
        "doesNotUnderstand_", "batos.mind.dnu:does_not_understand",
        "ask the local model to write the missing method, audit, install and re-send"))
    genlog._log(image)


# --- the primitive ---------------------------------------------------------------------

def does_not_understand(self: "Proto", message: "Message") -> Any:
    """The default doesNotUnderstand_: generate, audit, install, re-send."""
    from batos.image.image import image_of
    selector = message.selector
    image = image_of(self)
    if (image is None or image.read_only or not generation_enabled(image.options)
            or _depth.get() > 0
            or selector.startswith("_") or selector in ("doesNotUnderstand:", "doesNotUnderstand_")):
        raise MessageNotUnderstood(self, selector, message.arguments)
    image.claim_generation(self, selector)  # a shared image: one client generates it
    token = _depth.set(_depth.get() + 1)
    try:
        from batos.lang.contracts import table_of  # a taught selector's examples hold
        table = table_of(image, self)
        contract = table.by_selector.get(selector) if table is not None else None
        given = list(contract.examples) if contract is not None else []
        if contract is not None and contract.origin == "proposed":
            return DNUCycle(image, self, message, proposed=given).run()
        return DNUCycle(image, self, message, examples=given).run()
    finally:
        _depth.reset(token)


# --- the cycle ------------------------------------------------------------------------

class DNUCycle:
    """One doesNotUnderstand_ cycle: the handlers the PSM states delegate to.

    Each attempt decodes ``candidates`` methods together (Tree-of-Thought), tries each
    in a savepoint (:mod:`batos.mind.candidates`) and installs the best. When the send
    has no examples and the candidates that ran are not all the same code, the model
    proposes some and the candidates are judged against them too (Chain-of-Verification,
    :mod:`batos.mind.cove`); candidates that examples could not tell apart (the same
    code, or the same answer to the send when only its own example is asked for) skip
    it. A retry is shown every failed code as what not to do, runs hotter,
    and never runs code that already failed again."""

    def __init__(self, image: "Image", receiver: "Proto", message: "Message", *,
                 examples: list[Any] | None = None, proposed: list[Any] | None = None,
                 hint: str | None = None, rejected: str | None = None,
                 send: bool = True) -> None:
        self.examples = list(examples or [])   # batos.lang.contracts.Example: must pass
        self.proposed = list(proposed or [])   # the model's (a proposed contract's): softer
        self.had_contract = bool(proposed)     # they came from a stored proposed contract
        self.hint = hint                       # a correction: what the user meant
        self.rejected = rejected               # a correction: the source that was wrong
        self.send = send                       # False (teach:): install only, run nothing
        self.image = image
        self.receiver = receiver
        self.message = message
        self.retries = int(setting("retries", options=image.options))
        self.width = max(1, int(setting("candidates", options=image.options) or 1))
        self.cove_lines = int(setting("cove_lines", options=image.options))
        self.brief: MissionBrief | None = None
        self.backend: Any = None
        self.persona: Any = None
        self.feedback: list[tuple[str, str]] = []   # (code, error): shown to the retry
        self.errors: list[str] = []                 # one per failed attempt
        self.failed_codes: set[str] = set()         # digests of code that failed: not rerun
        self.disputed = False                       # proposed examples were fed back once
        self.proposal: Any = None                   # the CoVe completion
        self.cove_asked = False                     # examples were asked for once
        self.records: list[genlog.GenerationRecord] = []
        self.result: Any = None
        self.method: Any = None
        self.cycle: Any = None

    # the handlers: each returns the next state's name
    def idle(self, cycle: Any) -> str:
        return "DECOMPOSING"

    def decompose(self, cycle: Any) -> str:
        self.brief = decompose(self.image, self.receiver, self.message)
        self.brief.examples = [ex.describe(self.message.selector) for ex in self.examples]
        self.brief.correction = self.hint
        self.brief.rejected = self.rejected
        cycle.context["brief"] = self.brief
        self._note(cycle, slots=len(self.brief.slots), notes=len(self.brief.notes))
        return "DELEGATING"

    def delegate(self, cycle: Any) -> str:
        self.persona = choose_persona(self.image, self.message)
        from batos.mind.personas import backend_for
        self.backend = backend_for(self.image)
        self._note(cycle, persona=self.persona.name, backend=getattr(self.backend, "name", "?"),
                   adapters=[list(a) for a in self.persona.adapters],
                   scores=dict(getattr(self.persona, "scores", {}) or {}))
        return "SYNTHESIZING"

    def synthesize(self, cycle: Any) -> str:
        attempt = len(self.errors) + 1
        try:
            self._attempt(attempt, cycle)
        except AttemptFailed as failure:
            self.errors.append(failure.error)
            self._note(cycle, attempt=attempt, verdict="failed", error=_clip(failure.error, 300))
            return "SYNTHESIZING" if attempt <= self.retries else "FAILED"
        rec = next(r for r in self.records if r.verdict == "installed")
        self._note(cycle, attempt=attempt, verdict="installed",
                   prompt_tokens=rec.prompt_tokens, completion_tokens=rec.completion_tokens,
                   seconds=round(rec.seconds, 3))
        return "COMPLETE"

    def handlers(self) -> dict[str, Callable[[Any], str | None]]:
        return {"IDLE": self.idle, "DECOMPOSING": self.decompose, "DELEGATING": self.delegate,
                "SYNTHESIZING": self.synthesize}

    @staticmethod
    def _note(cycle: Any, **info: Any) -> None:
        cycle.note(**info)

    def run(self) -> Any:
        from batos.mind.personas import code_persona_name
        persona_name = code_persona_name(self.image)
        mission = f"{self.receiver._display()} #{self.message.selector}"
        from batos.mind import psm
        cycle = psm.new_cycle(self.image, "doesNotUnderstand_", mission, persona_name)
        self.cycle = cycle
        try:
            cycle.run(self.handlers())
        except ModelError as exc:
            exc.followup = None  # type: ignore[attr-defined]  # no model: leave the image untouched
            raise
        except BaseException as exc:
            if len(self.errors) > self.retries and not isinstance(exc, GenerationFailed):
                raise self._failure(getattr(exc, "followup", None)) from None
            self._attach_followup(exc)
            raise
        return self.result

    def _failure(self, previous: Callable[["Image"], Any] | None = None) -> GenerationFailed:
        errors = "; ".join(f"attempt {i + 1}: {e}" for i, e in enumerate(self.errors))
        exc = GenerationFailed(
            f"could not write #{self.message.selector} for {self.receiver._display()} after "
            f"{len(self.errors)} attempt(s); nothing was changed. {errors}")
        if previous is not None:
            exc.followup = previous  # type: ignore[attr-defined]
        self._attach_followup(exc)
        return exc

    def _attach_followup(self, exc: BaseException) -> None:
        if getattr(exc, "_batos_dnu_followup", False):
            return
        previous = getattr(exc, "followup", None)
        records = list(self.records)
        failure = genlog.FailureRecord(
            self.receiver._display(), self.message.selector,
            [preview(a) for a in self.message.arguments],
            [{"code": r.code, "error": r.error, "attempt": r.attempt,
              "branch": getattr(r, "branch", 0)} for r in self.records])

        def followup(image: "Image") -> str:
            if callable(previous):
                previous(image)
            genlog.append(image, [_copy_record(r) for r in records] + [failure])
            return f"record failed generation of #{self.message.selector}"

        try:
            exc.followup = followup  # type: ignore[attr-defined]
            exc._batos_dnu_followup = True  # type: ignore[attr-defined]
        except AttributeError:
            pass

    # Chain-of-Verification ---------------------------------------------------------------
    def _propose(self, cycle: Any) -> bool:
        """Ask for examples of the send when it has none, once (see
        :mod:`batos.mind.cove`); answers whether some were proposed."""
        if (self.cove_asked or self.examples or self.proposed or not self.send
                or not setting("cove", options=self.image.options)
                or not cove.can_propose(self.message.arguments)):
            return False
        self.cove_asked = True
        brief, persona = self.brief, self.persona
        assert brief is not None
        messages = build_messages(brief, persona.system_prompt)
        whole = self.backend.format_chat(messages)
        prefix = fixed_prefixes(self.backend, whole, persona.system_prompt) or None
        sink = current_sink()
        if sink is not None:
            sink(f"\n{persona.name} ▸ examples of #{brief.selector}\n"
                 f"{cove.prefill(self.message.arguments)[4:]}")
        t0 = time.perf_counter()
        with paused():
            self.proposed, self.proposal = cove.propose(
                self.backend, messages, brief.selector, self.message.arguments,
                adapters=list(persona.adapters), prefix=prefix, on_token=sink,
                lines=self.cove_lines)
        if sink is not None:
            sink("\n")
        self._note(cycle, proposed=[ex.describe(brief.selector) for ex in self.proposed],
                   proposal_tokens=getattr(self.proposal, "completion_tokens", 0),
                   proposal_seconds=round(time.perf_counter() - t0, 3))
        return bool(self.proposed)

    def _cove_needless(self, cands: list[Candidate]) -> str:
        """Why examples could not tell these candidates apart ("" when they could): the
        same code, or -- when only the send's own answer is asked for -- the same
        behaviour on the send."""
        if same_code(cands):
            return "the candidates are the same code"
        if self.cove_lines <= 1 and same_behaviour(cands):
            return "the candidates answer the send the same way"
        return ""

    # one attempt ----------------------------------------------------------------------
    def _trial(self) -> Trial:
        assert self.brief is not None
        home = self.receiver
        try:
            from batos.image.proto import method_home  # the receiver's family prototype
        except ImportError:  # pragma: no cover - an image layer without families
            method_home = None
        if method_home is not None:
            home = method_home(self.receiver, self.image.options)
        return Trial(self.image, self.receiver, home, self.message.selector,
                     list(self.message.arguments), self.brief, self.send,
                     list(self.examples), list(self.proposed))

    def _attempt(self, attempt: int, cycle: Any) -> None:
        cands = self._generate(attempt)
        trial = self._trial()
        judged: dict[str, Candidate] = {}
        for cand in cands:
            if cand.digest in self.failed_codes:
                cand.verdict = "repeat"
                cand.error = "the same code as an attempt that already failed; not run again"
            elif cand.digest in judged:  # the same method twice in one attempt: tried once
                cand.judged_as(judged[cand.digest])
            else:
                evaluate(trial, cand, author=self.persona.name,
                         provenance=self._provenance(cand, attempt))
                judged[cand.digest] = cand
        skip = self._cove_needless(cands)
        if skip:
            if not self.cove_asked and not (self.examples or self.proposed):
                self._note(cycle, cove=f"skipped: {skip}")
        elif self._propose(cycle):
            if cands and cands[0].record is not None:  # logged with the attempt that asked
                cands[0].record.proposal = self.proposal.text
            trial = self._trial()
            for cand in judged.values():
                judge_examples(trial, cand)
            tried = {id(c) for c in judged.values()}
            for cand in cands:
                if cand.verdict != "repeat" and id(cand) not in tried:
                    cand.judged_as(judged[cand.digest])
        best = choose(cands)
        if best is not None and best.passed < len(best.outcomes):
            drop = set(disputed(cands, best))
            if drop:  # two or more candidates agree against an example: trust them
                trial.proposed = [e for i, e in enumerate(trial.proposed) if i not in drop]
                self.proposed = list(trial.proposed)
                for c in cands:
                    c.outcomes = [o for i, o in enumerate(c.outcomes) if i not in drop]
                best = choose(cands)
        try:
            self._decide(attempt, cands, best, trial)
        finally:
            self._note(cycle, branches=[c.branch_info() for c in cands])
            self._log(cands)

    def _decide(self, attempt: int, cands: list[Candidate], best: Candidate | None,
                trial: Trial) -> None:
        if best is None:
            failures = failure_of(cands)
            self.failed_codes.update(c.digest for c in failures)
            if not failures:
                raise AttemptFailed("every candidate repeated code that already failed", "")
            self.feedback += [(c.code, c.error) for c in failures[:2]]
            raise AttemptFailed(failures[0].error, failures[0].code)
        missed = [o for o in best.outcomes if o.verdict != "passed"]
        if missed and not self.disputed and attempt <= self.retries:
            self.disputed = True
            first = missed[0]
            error = (f"for {first.example} it answered {first.answer or first.detail}. That "
                     f"example of what #{trial.selector} should answer may be wrong: if the "
                     "method is right, write it again unchanged; otherwise correct it.")
            self.feedback.append((best.code, error))
            best.chosen, best.error = False, error
            raise AttemptFailed(error, best.code, soft=True)
        try:
            self.result = install_and_send(trial, best, author=self.persona.name,
                                           provenance=self._provenance(best, attempt))
        except AttemptFailed as failure:
            best.verdict, best.error, best.chosen = "error", failure.error, False
            self.failed_codes.add(best.digest)
            self.feedback.append((best.code, failure.error))
            raise
        self.method = best.method
        if not self.send:
            self.result = best.method
        self._keep_proposed(best, trial)

    def _keep_proposed(self, best: Candidate, trial: Trial) -> None:
        """The proposed examples the chosen method passed become its contract, unless
        the send changed the receiver (they described the state it no longer has)."""
        if not (self.proposed or self.had_contract):
            return
        from batos.lang.contracts import remove_contract, set_contract
        kept = [e for e, o in zip(trial.proposed, best.outcomes)
                if o.verdict == "passed" and not best.changed]
        if kept:
            set_contract(self.image, self.receiver, trial.selector, kept, origin="proposed")
        elif self.had_contract:
            remove_contract(self.image, self.receiver, trial.selector)

    def _generate(self, attempt: int) -> list[Candidate]:
        """The attempt's candidates, decoded together, each with its log record."""
        brief, persona = self.brief, self.persona
        assert brief is not None
        messages = build_messages(brief, persona.system_prompt, self.feedback)
        head = prefill(brief)
        prompt = self.backend.format_chat(messages) + head
        prefix = fixed_prefixes(self.backend, prompt, persona.system_prompt) or None
        sink = current_sink()
        if sink is not None:
            sink(f"\n{persona.name} ▸ writing #{brief.selector}\n{head.split(chr(10), 1)[-1]}")
        options = self.image.options
        first, hotter = (float(setting("temperature", options=options)),
                         float(setting("retry_temperature", options=options)))
        if attempt == 1:
            temps = [first] + [hotter] * (self.width - 1)
        else:  # each retry a little hotter than the last
            temps = [min(hotter + 0.15 * (attempt - 2), 1.2)] * self.width
        guard = RunawayGuard(sink)
        t0 = time.perf_counter()
        with paused():  # generation time does not count against the statement's limit
            try:
                completions = self._complete(prompt, temps, attempt, guard, prefix)
            except Runaway:
                model, sha = self.backend.model_identity()
                completions = [Completion(guard.text, 0, 0, time.perf_counter() - t0, 0.0,
                                          model, sha, finish_reason="runaway")]
        if sink is not None:
            sink("\n")
        seconds = time.perf_counter() - t0
        model, sha = self.backend.model_identity()
        cands = []
        for i, completion in enumerate(completions):
            code = extract_code(head, completion.text)
            record = genlog.GenerationRecord(
                receiver=self.receiver._display(), selector=brief.selector, attempt=attempt,
                persona=persona.name, model=model, model_sha256=sha,
                adapters=[list(a) for a in persona.adapters], prompt=prompt,
                prompt_hash=prompt_hash(prompt), output=completion.text, code=code,
                prompt_tokens=completion.prompt_tokens,
                prompt_tokens_cached=completion.prompt_tokens_cached,
                completion_tokens=completion.completion_tokens,
                seconds=getattr(completion, "seconds", seconds) or seconds,
                prompt_seconds=completion.prompt_seconds,
                cycle=getattr(getattr(self.cycle, "trace", None), "id", None),
                branch=i, branches=len(completions))
            self.records.append(record)
            cands.append(Candidate(i, code, completion, record, mean_logprob(completion)))
        return cands

    def _complete(self, prompt: str, temps: list[float], attempt: int,
                  guard: RunawayGuard, prefix: Any) -> list[Completion]:
        """Up to ``len(temps)`` completions: one batch with ``generate_many`` (sequence 0
        streamed and watched for a runaway), else one ``generate`` (a backend without it)."""
        persona = self.persona
        common: dict[str, Any] = dict(
            max_tokens=setting("max_tokens", options=self.image.options), seed=attempt,
            stop=STOP, adapters=list(persona.adapters), on_token=guard, prefix=prefix)
        many = getattr(self.backend, "generate_many", None)
        if len(temps) > 1 and callable(many):
            if attempt == 1 and takes(many, "min_p"):
                # a higher min-p keeps the branches on the greedy path until the model is
                # unsure (faster, less diverse); retries always sample as widely as usual
                common["min_p"] = float(setting("branch_min_p", options=self.image.options))
            return list(many(prompt, len(temps), temperature=temps, purpose="code",
                             **common))[:len(temps)]
        extra = {"purpose": "code"} if takes(self.backend.generate, "purpose") else {}
        return [self.backend.generate(prompt, temperature=temps[0], **common, **extra)]

    def _provenance(self, cand: Candidate, attempt: int) -> dict[str, Any]:
        rec, persona = cand.record, self.persona
        return {"persona": persona.name, "model": rec.model, "model_sha256": rec.model_sha256,
                "adapters": [list(a) for a in persona.adapters],
                "prompt_hash": rec.prompt_hash, "prompt_tokens": rec.prompt_tokens,
                "completion_tokens": rec.completion_tokens,
                "seconds": round(rec.seconds, 3), "attempt": attempt,
                "branch": cand.index, "candidates": rec.branches,
                "reviewer": getattr(persona, "reviewer", "ALFRED"), "trace": rec.cycle}

    def _log(self, cands: list[Candidate]) -> None:
        """Each candidate's verdict on its record; all of them logged on success."""
        for c in cands:
            rec = c.record
            rec.verdict = {"ok": "installed" if c.chosen else "passed over",
                           "repeat": "repeated"}.get(c.verdict, c.verdict)
            if c.chosen and c.verdict == "ok":
                rec.code = c.method.source
            rec.error = c.error
            rec.mean_logprob = c.logprob
            rec.agreement = c.agreement
            if c.outcomes:
                rec.examples = f"{c.passed}/{len(c.outcomes)}"
        if self.method is not None:
            genlog.append(self.image, self.records)


def _copy_record(rec: genlog.GenerationRecord) -> genlog.GenerationRecord:
    """A fresh record with the same fields (the original belonged to the aborted txn)."""
    fields = {k: v for k, v in rec.__dict__.items() if not k.startswith("_p_")}
    return genlog.GenerationRecord(**fields)


# --- each persona's fixed prefix, computed ahead ------------------------------------------

# --- decomposition and persona choice ---------------------------------------------------

def decompose(image: "Image", receiver: "Proto", message: "Message") -> MissionBrief:
    """The mission brief: receiver, its slots and selectors, the message, grounding notes."""
    from batos.image.proto import selector_to_name
    selector = message.selector
    name = selector_to_name(selector)
    if not name.isidentifier():
        name = "binary_" + "".join(f"{ord(c):x}" for c in selector)
    slots: list[tuple[str, str, str]] = []
    understood: list[str] = []
    system = {id(image.globals.get(n)) for n in ("traits", "pLLM")}
    for row in receiver.slots():
        if row.inherited and id(row.owner) in system:
            continue  # the machinery's own settings are not the receiver's state
        if row.kind == "data" and len(slots) < 20:
            slots.append((row.name, preview(row.value), type_name(row.value)))
        elif (row.kind == "method" and len(understood) < 30
              and getattr(row.value, "language", "") != "primitive"):
            understood.append(getattr(row.value, "selector", row.name))
    args = list(message.arguments)
    from batos.mind.world import order_reading, params_and_world
    params, world = params_and_world(image, receiver, selector, args)
    return MissionBrief(
        receiver=receiver._display(), selector=selector, name=name,
        params=params, arguments=[preview(a, 80) for a in args],
        slots=slots, understood=understood, notes=_grounding(image, receiver, selector),
        hint=return_hint(selector, args, slots) or order_reading(receiver, selector),
        world=world)


def _grounding(image: "Image", receiver: "Proto", selector: str) -> list[str]:
    """The catalog's most relevant chunks (it splits selectors into words itself and
    answers [] when it has nothing or fails)."""
    from batos.mind.catalog import grounding
    query = f"{selector} {receiver.__dict__.get('_name') or ''}".strip()
    notes = []
    for chunk in grounding(image, query, k=3):
        text = " ".join(str(chunk.get("text", "")).split())
        if text:
            notes.append(text[:300])
    return notes


def choose_persona(image: "Image", message: "Message") -> Any:
    from batos.mind.personas import persona_for_code
    return persona_for_code(image, message)


__all__ = ["does_not_understand", "awaken_llm", "use_backend", "stream_to", "use_persona",
           "current_sink",
           "decompose", "DNUCycle", "generation_enabled"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'does_not_understand'})
