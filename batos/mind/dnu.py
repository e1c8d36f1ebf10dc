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
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from batos.errors import (GenerationFailed, LimitExceeded, MessageNotUnderstood,
                          MethodDefinitionError, ModelError)
from batos.guardian.limits import paused
from batos.llm.backend import Completion
from batos.mind import genlog
from batos.mind.prompts import (STOP, MissionBrief, build_messages, change_kind,
                                emptied_slots, extract_code, fixed_prefixes, param_names,
                                prefill, preview, prompt_hash, return_hint, type_name)
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
        examples = list(contract.examples) if contract is not None else None
        return DNUCycle(image, self, message, examples=examples).run()
    finally:
        _depth.reset(token)


# --- the cycle ------------------------------------------------------------------------

class AttemptFailed(Exception):
    """One attempt did not produce a working method; ``error`` is fed back."""

    def __init__(self, error: str, code: str) -> None:
        super().__init__(error)
        self.error = error
        self.code = code


class DNUCycle:
    """One doesNotUnderstand_ cycle: the handlers the PSM states delegate to."""

    def __init__(self, image: "Image", receiver: "Proto", message: "Message", *,
                 examples: list[Any] | None = None, hint: str | None = None,
                 rejected: str | None = None, send: bool = True) -> None:
        self.examples = list(examples or [])   # batos.lang.contracts.Example: must pass
        self.hint = hint                       # a correction: what the user meant
        self.rejected = rejected               # a correction: the source that was wrong
        self.send = send                       # False (teach:): install only, run nothing
        self.image = image
        self.receiver = receiver
        self.message = message
        self.retries = int(setting("retries", options=image.options))
        self.brief: MissionBrief | None = None
        self.backend: Any = None
        self.persona: Any = None
        self.feedback: list[tuple[str, str]] = []
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
        attempt = len(self.records) + 1
        try:
            self._attempt(attempt)
        except AttemptFailed as failure:
            self.feedback.append((failure.code, failure.error))
            self._note(cycle, attempt=attempt, verdict="failed", error=_clip(failure.error, 300))
            return "SYNTHESIZING" if attempt <= self.retries else "FAILED"
        rec = self.records[-1]
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
            if len(self.feedback) > self.retries and not isinstance(exc, GenerationFailed):
                raise self._failure(getattr(exc, "followup", None)) from None
            self._attach_followup(exc)
            raise
        return self.result

    def _failure(self, previous: Callable[["Image"], Any] | None = None) -> GenerationFailed:
        errors = "; ".join(f"attempt {i + 1}: {e}" for i, (_, e) in enumerate(self.feedback))
        exc = GenerationFailed(
            f"could not write #{self.message.selector} for {self.receiver._display()} after "
            f"{len(self.feedback)} attempt(s); nothing was changed. {errors}")
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
            [{"code": code, "error": err} for code, err in self.feedback])

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

    # one attempt ----------------------------------------------------------------------
    def _attempt(self, attempt: int) -> None:
        from batos.image.method import Method
        brief = self.brief
        assert brief is not None
        persona = self.persona
        messages = build_messages(brief, persona.system_prompt, self.feedback)
        head = prefill(brief)
        prompt = self.backend.format_chat(messages) + head
        prefix = fixed_prefixes(self.backend, prompt, persona.system_prompt) or None
        sink = current_sink()
        if sink is not None:
            sink(f"\n{persona.name} ▸ writing #{brief.selector}\n{head.split(chr(10), 1)[-1]}")
        temperature = float(setting("temperature" if attempt == 1 else "retry_temperature",
                                    options=self.image.options))
        guard = _RunawayGuard(sink)
        t0 = time.perf_counter()
        with paused():  # generation time does not count against the statement's limit
            try:
                completion = self.backend.generate(
                    prompt, max_tokens=setting("max_tokens", options=self.image.options),
                    temperature=temperature, seed=attempt, stop=STOP,
                    adapters=list(persona.adapters), on_token=guard, prefix=prefix)
            except _Runaway:
                model, sha = self.backend.model_identity()
                completion = Completion(guard.text, 0, 0, time.perf_counter() - t0, 0.0,
                                        model, sha, finish_reason="runaway")
        if sink is not None:
            sink("\n")
        seconds = time.perf_counter() - t0
        code = extract_code(head, completion.text)
        model, sha = self.backend.model_identity()
        record = genlog.GenerationRecord(
            receiver=self.receiver._display(), selector=brief.selector, attempt=attempt,
            persona=persona.name, model=model, model_sha256=sha,
            adapters=[list(a) for a in persona.adapters], prompt=prompt,
            prompt_hash=prompt_hash(prompt), output=completion.text, code=code,
            prompt_tokens=completion.prompt_tokens,
            prompt_tokens_cached=completion.prompt_tokens_cached,
            completion_tokens=completion.completion_tokens, seconds=seconds,
            prompt_seconds=completion.prompt_seconds,
            cycle=getattr(getattr(self.cycle, "trace", None), "id", None))
        self.records.append(record)
        provenance = {"persona": persona.name, "model": model, "model_sha256": sha,
                      "adapters": [list(a) for a in persona.adapters],
                      "prompt_hash": record.prompt_hash, "prompt_tokens": completion.prompt_tokens,
                      "completion_tokens": completion.completion_tokens,
                      "seconds": round(seconds, 3), "attempt": attempt,
                      "reviewer": getattr(persona, "reviewer", "ALFRED"),
                      "trace": record.cycle}
        if completion.finish_reason == "runaway":
            record.verdict = "rejected"
            record.error = (f"the output ran away (a line of over {_RunawayGuard.LINE} "
                            "characters, so it was stopped); write a short method")
            raise AttemptFailed(record.error, code)
        if _calls_print(code):
            record.verdict = "rejected"
            record.error = "it prints; build the text and return it instead of printing"
            raise AttemptFailed(record.error, code)
        try:
            method = Method.create(brief.selector, code, language="python",
                                   author=persona.name, provenance=provenance, repair=True)
        except MethodDefinitionError as exc:
            record.verdict, record.error = "rejected", str(exc)
            raise AttemptFailed(str(exc), code) from None
        savepoint = self.image.tm.savepoint()
        try:
            from batos.image.proto import selector_to_name
            before = _state_snapshot(self.receiver)
            self.receiver.set_slot(selector_to_name(brief.selector), method)
            self._check_examples(method)
            if not self.send:
                raise _Installed()
            result = method.function(self.receiver, *self.message.arguments)
            if result is None:
                raise AttemptFailed("it returned None; return the answer (or self after "
                                    "changing state) instead of printing it", method.source)
            if (result is self.receiver and _state_snapshot(self.receiver) == before
                    and _should_have_changed(self.receiver, brief, method.source)):
                raise AttemptFailed(
                    "it changed nothing: every slot still holds the value it had before "
                    f"({', '.join(f'{n} = {p}' for n, p, _ in brief.slots) or 'no slots'}). "
                    f"Make #{brief.selector} do what its name says.", method.source)
        except _Installed:
            result = method
        except AttemptFailed as failure:
            savepoint.rollback()
            record.verdict, record.error = "error", failure.error
            raise
        except (KeyboardInterrupt, LimitExceeded):
            savepoint.rollback()
            raise
        except Exception as exc:  # the generated code raised: feed it back
            savepoint.rollback()
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, MessageNotUnderstood) and exc.receiver is self.receiver:
                names = ", ".join(n for n, _, _ in brief.slots) or "none"
                error = (f"self has no slot or method named {exc.selector!r}; its slots are: "
                         f"{names}. Use only those, or create a slot by assigning it first.")
            record.verdict, record.error = "error", error
            raise AttemptFailed(error, method.source) from None
        record.verdict = "installed"
        record.code = method.source
        self.method = method
        self.result = result
        genlog.append(self.image, self.records)


    def _check_examples(self, method: Any) -> None:
        """Each example of the contract, as a send in a savepoint (rolled back); the first
        that fails is fed back."""
        if not self.examples:
            return
        from batos.lang.contracts import check
        bad = [o for o in check(self.image, self.receiver, self.message.selector, self.examples)
               if o.verdict != "passed"]
        if bad:
            raise AttemptFailed(
                f"it does not satisfy the example {bad[0].example} ({bad[0].verdict}: "
                f"{bad[0].detail}); {len(self.examples) - len(bad)} of {len(self.examples)} "
                "examples passed. Make every example hold.", method.source)


class _Installed(Exception):
    """The method passed its examples and is installed; nothing is sent (teach:)."""


class _Runaway(Exception):
    """Raised from the token callback to stop a generation that has run away."""


class _RunawayGuard:
    """The token callback of a generation: passes text on to the terminal sink and
    stops the model when a line grows longer than any method's line would (a small
    model at a higher temperature can repeat one list item for hundreds of tokens,
    ~50 ms each on a CPU)."""

    LINE = 240

    def __init__(self, sink: Callable[[str], None] | None) -> None:
        self.sink = sink
        self.text = ""
        self.line = 0

    def __call__(self, piece: str) -> None:
        if self.sink is not None:
            self.sink(piece)
        self.text += piece
        newline = piece.rfind("\n")
        self.line = len(piece) - newline - 1 if newline >= 0 else self.line + len(piece)
        if self.line > self.LINE:
            raise _Runaway()


def _state_snapshot(receiver: Any) -> dict[str, str]:
    """The printStrings of the receiver's own data slots (to notice a no-op mutator)."""
    return {row.name: preview(row.value, 200) for row in receiver.slots(inherited=False)
            if row.kind == "data"}


def _should_have_changed(receiver: Any, brief: MissionBrief, code: str) -> bool:
    """Whether a method that left every slot as it was cannot be what its selector
    asks for: an emptying selector whose slots were not empty yet, an always-changing
    one (``increment``), or a unary one whose code assigns slots (it re-assigned the
    values they had). A setter given the value a slot holds changes nothing, rightly."""
    kind = change_kind(brief.selector)
    if kind == "emptying":
        names = emptied_slots(brief.selector, [n for n, _, _ in brief.slots])
        return any(not _is_empty(_slot_value(receiver, n)) for n in names)
    if kind == "always":
        return True
    return not brief.params and _assigns_state(code)


def _slot_value(receiver: Any, name: str) -> Any:
    found = receiver.lookup(name)
    return found[1] if found else None


def _is_empty(value: Any) -> bool:
    try:
        return value is None or value is False or value == 0 or len(value) == 0
    except TypeError:
        return False


def _assigns_state(code: str) -> bool:
    """Whether the method assigns self attributes other than ``_p_changed``."""
    import ast
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AugAssign) else [])
        for t in targets:
            if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                    and t.value.id == "self" and t.attr != "_p_changed"):
                return True
    return False


def _calls_print(code: str) -> bool:
    import ast
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
               for n in ast.walk(tree))


def _copy_record(rec: genlog.GenerationRecord) -> genlog.GenerationRecord:
    """A fresh record with the same fields (the original belonged to the aborted txn)."""
    fields = {k: v for k, v in rec.__dict__.items() if not k.startswith("_p_")}
    return genlog.GenerationRecord(**fields)


# --- each persona's fixed prefix, computed ahead ------------------------------------------

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
    return MissionBrief(
        receiver=receiver._display(), selector=selector, name=name,
        params=param_names(selector, len(args), args), arguments=[preview(a, 80) for a in args],
        slots=slots, understood=understood, notes=_grounding(image, receiver, selector),
        hint=return_hint(selector, args, slots))


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
           "current_sink", "warm_persona", "persona_prefixes",
           "decompose", "DNUCycle", "generation_enabled"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'does_not_understand'})
