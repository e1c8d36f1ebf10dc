"""Tree-of-Thought candidates of one doesNotUnderstand_ attempt: check each, choose one.

Each candidate method is extracted, checked (no printing, no runaway line), audited
(``Method.create``) and then tried in a savepoint that is rolled back: installed
where the method will live, its examples run (a user's must all pass; the model's
proposed ones are counted), the actual send run with the usual self-checks (it
answered None; a state-changing selector changed nothing), and its behaviour noted
as a signature (the answer's printString and the slots it changed).

:func:`choose` ranks the candidates that ran without error: most proposed examples
passed, then agreement of behaviour with the other candidates (self-consistency),
then the mean log-probability of its tokens. The chosen one is then installed and
sent for real by :func:`install_and_send`, so side effects happen once.
"""
from __future__ import annotations

import ast
import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from batos.errors import LimitExceeded, MessageNotUnderstood, MethodDefinitionError
from batos.mind.overfit import overfit
from batos.mind.prompts import MissionBrief, change_kind, emptied_slots, preview
from batos.mind.world import failure_feedback, lookup_feedback

if TYPE_CHECKING:
    from batos.image.image import Image
    from batos.image.proto import Proto
    from batos.lang.contracts import Example, Outcome

#: a line longer than any method's: the generation ran away
RUNAWAY_LINE = 240


class AttemptFailed(Exception):
    """A candidate (or a whole attempt) did not produce a working method; ``error`` is
    fed back with ``code`` as what not to do. ``soft``: only proposed examples failed."""

    def __init__(self, error: str, code: str, soft: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.code = code
        self.soft = soft


@dataclass
class Trial:
    """What a candidate is tried against: the receiver, where the method goes, the send."""

    image: "Image"
    receiver: "Proto"
    home: "Proto"
    selector: str
    arguments: list[Any]
    brief: MissionBrief
    send: bool = True
    user: list["Example"] = field(default_factory=list)      # must all pass
    proposed: list["Example"] = field(default_factory=list)  # counted; softer


@dataclass
class Candidate:
    """One branch of an attempt's tree."""

    index: int
    code: str
    completion: Any = None
    record: Any = None                 # its genlog.GenerationRecord
    logprob: float | None = None
    verdict: str = ""                  # ok | error | rejected | repeat
    error: str = ""
    method: Any = None
    outcomes: list["Outcome"] = field(default_factory=list)   # the proposed examples'
    signature: str = ""
    changed: bool = False              # the actual send changed the receiver's slots
    agreement: int = 0
    chosen: bool = False

    @property
    def digest(self) -> str:
        return digest(self.code)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.verdict == "passed")

    def judged_as(self, other: "Candidate") -> None:
        """Take ``other``'s judgement (the same code, tried once)."""
        self.verdict, self.error, self.method = other.verdict, other.error, other.method
        self.outcomes, self.signature = list(other.outcomes), other.signature
        self.changed = other.changed

    def branch_info(self) -> dict[str, Any]:
        """The trace's row for this branch."""
        info: dict[str, Any] = {"branch": self.index, "code": self.digest[:8],
                                "verdict": self.verdict}
        if self.outcomes:
            info["examples"] = f"{self.passed}/{len(self.outcomes)}"
        if self.verdict == "ok":
            info["agreement"] = self.agreement
        if self.logprob is not None:
            info["logprob"] = round(self.logprob, 3)
        if self.error:
            info["error"] = self.error[:160]
        if self.chosen:
            info["chosen"] = True
        return info


def normalise(code: str) -> str:
    """``code`` with layout and comments gone (its AST), so two spellings of one method
    are the same code; the text with whitespace folded when it does not parse."""
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return " ".join(code.split())


def digest(code: str) -> str:
    """A short name for a method's normalised code (sha256, hex)."""
    return hashlib.sha256(normalise(code).encode("utf-8")).hexdigest()


def mean_logprob(completion: Any) -> float | None:
    extra = getattr(completion, "extra", None) or {}
    value = extra.get("mean_logprob")
    try:
        return None if value is None or math.isnan(float(value)) else float(value)
    except (TypeError, ValueError):
        return None


# --- static checks ------------------------------------------------------------------------

def ran_away(text: str) -> bool:
    """A line longer than any method's (a small model repeating one list item)."""
    return any(len(line) > RUNAWAY_LINE for line in text.splitlines())


def calls_print(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"
               for n in ast.walk(tree))


def static_error(code: str, output: str, finish: str) -> str | None:
    """Why a candidate is rejected before it is compiled, or None."""
    if finish == "runaway" or ran_away(output):
        return (f"the output ran away (a line of over {RUNAWAY_LINE} characters, so it was "
                "stopped); write a short method")
    if calls_print(code):
        return "it prints; build the text and return it instead of printing"
    return None


class Runaway(Exception):
    """Raised from the token callback to stop a generation that has run away."""


class RunawayGuard:
    """The token callback of a generation: passes text on to the terminal sink and
    stops the model when a line grows longer than any method's line would (a small
    model at a higher temperature can repeat one list item for hundreds of tokens,
    ~50 ms each on a CPU). With several candidates it watches sequence 0, the one
    streamed; the others are checked by :func:`static_error` when they are done."""

    LINE = RUNAWAY_LINE

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
            raise Runaway()


# --- trying a candidate -----------------------------------------------------------------------

def evaluate(trial: Trial, cand: Candidate, *, author: str,
             provenance: dict[str, Any]) -> Candidate:
    """Check, audit and try ``cand`` in a savepoint (rolled back); sets its verdict,
    error, proposed-example outcomes and behaviour signature. Answers ``cand``."""
    from batos.image.method import Method
    if cand.verdict:           # already judged (a repeat of failed code)
        return cand
    reason = static_error(cand.code, getattr(cand.completion, "text", ""),
                          getattr(cand.completion, "finish_reason", "stop"))
    if reason:
        cand.verdict, cand.error = "rejected", reason
        return cand
    fitted = None if trial.user else overfit(cand.code, trial.receiver, trial.selector,
                                             trial.arguments)
    if fitted:
        cand.verdict, cand.error = "error", fitted
        return cand
    try:
        cand.method = Method.create(trial.brief.selector, cand.code, language="python",
                                    author=author, provenance=provenance, repair=True)
    except MethodDefinitionError as exc:
        cand.verdict, cand.error = "rejected", str(exc)
        return cand
    savepoint = trial.image.tm.savepoint()
    try:
        install(trial, cand.method)
        answers = _check_user_examples(trial, cand.method) if trial.user else []
        if trial.proposed:
            from batos.lang.contracts import check
            cand.outcomes = check(trial.image, trial.receiver, trial.selector, trial.proposed)
        if trial.send:
            _, cand.signature, cand.changed = send_checked(trial, cand.method)
        else:  # teach: nothing is sent; the examples' answers are its behaviour
            cand.signature = " | ".join(answers + [o.answer for o in cand.outcomes])
        cand.verdict = "ok"
    except AttemptFailed as failure:
        cand.verdict, cand.error = "error", failure.error
    except (KeyboardInterrupt, LimitExceeded):
        raise
    except Exception as exc:  # the generated code raised: fed back
        cand.verdict, cand.error = "error", describe_error(trial, exc)
    finally:
        savepoint.rollback()
        _forget_lookups()
    return cand


def judge_examples(trial: Trial, cand: Candidate) -> Candidate:
    """Check an ``ok`` candidate against the trial's proposed examples (asked for after
    it was tried: :func:`same_code`), in a savepoint (rolled back)."""
    if cand.verdict != "ok" or not trial.proposed:
        return cand
    from batos.lang.contracts import check
    savepoint = trial.image.tm.savepoint()
    try:
        install(trial, cand.method)
        cand.outcomes = check(trial.image, trial.receiver, trial.selector, trial.proposed)
    finally:
        savepoint.rollback()
        _forget_lookups()
    return cand


def same_code(cands: Sequence[Candidate]) -> bool:
    """Whether two or more candidates ran and all of them are the same code: examples
    could not tell them apart, so Chain-of-Verification is skipped (with one that ran,
    a failed example would still be worth a retry)."""
    ok = [c for c in cands if c.verdict == "ok"]
    return len(ok) >= 2 and len({c.digest for c in ok}) == 1


def same_behaviour(cands: Sequence[Candidate]) -> bool:
    """Whether two or more candidates ran and all answered the actual send the same way
    (answer and changed slots): an example about the send itself could not tell them
    apart (it could only pass or fail them all)."""
    ok = [c for c in cands if c.verdict == "ok"]
    return len(ok) >= 2 and len({c.signature for c in ok}) == 1


def install(trial: Trial, method: Any) -> None:
    from batos.image.proto import selector_to_name
    trial.home.set_slot(selector_to_name(trial.brief.selector), method)


def install_and_send(trial: Trial, cand: Candidate, *, author: str,
                     provenance: dict[str, Any]) -> Any:
    """Install ``cand``'s method for real and run the actual send once (teach: none);
    answers the result (teach: the Method). The method is made anew: the one tried lived
    in a rolled-back savepoint. Raises :class:`AttemptFailed` (after rolling back) when
    it fails now."""
    from batos.image.method import Method
    method = Method.create(trial.brief.selector, cand.code, language="python",
                           author=author, provenance=provenance, repair=True)
    cand.method = method
    savepoint = trial.image.tm.savepoint()
    try:
        install(trial, method)
        if not trial.send:
            return method
        return send_checked(trial, method)[0]
    except AttemptFailed:
        savepoint.rollback()
        _forget_lookups()
        raise
    except (KeyboardInterrupt, LimitExceeded):
        savepoint.rollback()
        raise
    except Exception as exc:
        savepoint.rollback()
        _forget_lookups()
        raise AttemptFailed(describe_error(trial, exc), method.source) from None


def _forget_lookups() -> None:
    from batos.image.proto import invalidate_lookup_cache
    invalidate_lookup_cache()


def _check_user_examples(trial: Trial, method: Any) -> list[str]:
    """The answers to the user's examples; AttemptFailed (the first failing one) unless
    every one holds."""
    from batos.lang.contracts import check
    outcomes = check(trial.image, trial.receiver, trial.selector, trial.user)
    bad = [o for o in outcomes if o.verdict != "passed"]
    if bad:
        raise AttemptFailed(
            f"it does not satisfy the example {bad[0].example} ({bad[0].verdict}: "
            f"{bad[0].detail}); {len(trial.user) - len(bad)} of {len(trial.user)} "
            "examples passed. Make every example hold.", method.source)
    return [o.answer for o in outcomes]


def send_checked(trial: Trial, method: Any) -> tuple[Any, str, bool]:
    """Run the actual send; (answer, behaviour signature, whether it changed the
    receiver's slots). Raises AttemptFailed when it answered None or a selector that
    must change state changed nothing."""
    receiver, brief = trial.receiver, trial.brief
    before = state_snapshot(receiver)
    result = method.function(receiver, *trial.arguments)
    if result is None:
        raise AttemptFailed("it returned None; return the answer (or self after "
                            "changing state) instead of printing it", method.source)
    after = state_snapshot(receiver)
    if (result is receiver and after == before
            and should_have_changed(receiver, brief, method.source)):
        raise AttemptFailed(
            "it changed nothing: every slot still holds the value it had before "
            f"({', '.join(f'{n} = {p}' for n, p, _ in brief.slots) or 'no slots'}). "
            f"Make #{brief.selector} do what its name says.", method.source)
    answer = "self" if result is receiver else preview(result, 200)
    changed = sorted(f"{k}={v}" for k, v in after.items() if before.get(k) != v)
    return result, answer + (" ; " + ", ".join(changed) if changed else ""), bool(changed)


def describe_error(trial: Trial, exc: BaseException) -> str:
    """The error fed back for code that raised: a missing slot of the receiver lists
    the slots that exist; a send another object did not understand says what it does."""
    error = f"{type(exc).__name__}: {exc}"
    target = getattr(exc, "receiver", None)
    if isinstance(exc, MessageNotUnderstood) and target is trial.receiver:
        names = ", ".join(n for n, _, _ in trial.brief.slots) or "none"
        return (f"self has no slot or method named {exc.selector!r}; its slots are: "
                f"{names}. Use only those, or create a slot by assigning it first.")
    try:
        more = failure_feedback(exc, trial.receiver) or lookup_feedback(
            exc, trial.receiver, trial.arguments, trial.brief.params)
    except Exception:  # noqa: BLE001 - feedback is a help, never a new failure
        more = None
    if more:
        error += f". {more}"
    return error


# --- choosing -----------------------------------------------------------------------------------

def _rank(c: Candidate) -> tuple[int, int, float, int]:
    logprob = c.logprob if c.logprob is not None else -math.inf
    return (c.passed, c.agreement, logprob, -c.index)


def choose(cands: Sequence[Candidate]) -> Candidate | None:
    """The best candidate that ran without error (see the module doc), marked chosen;
    sets every ok candidate's agreement. None when none ran."""
    ok = [c for c in cands if c.verdict == "ok"]
    for c in ok:
        c.agreement = sum(1 for o in ok if o is not c and o.signature == c.signature)
    if not ok:
        return None
    best = max(ok, key=_rank)
    for c in cands:
        c.chosen = c is best
    return best


def disputed(cands: Sequence[Candidate], best: Candidate) -> list[int]:
    """Indexes of the proposed examples ``best`` fails that two or more ok candidates
    answer alike (the candidates are trusted over the example: it is dropped)."""
    ok = [c for c in cands if c.verdict == "ok"]
    out = []
    for i, outcome in enumerate(best.outcomes):
        if outcome.verdict == "passed":
            continue
        alike = [c for c in ok if i < len(c.outcomes) and c.outcomes[i].verdict != "passed"
                 and c.outcomes[i].answer == outcome.answer]
        if len(alike) >= 2:
            out.append(i)
    return out


def failure_of(cands: Sequence[Candidate]) -> list[Candidate]:
    """The failed candidates worth feeding back, most informative first, one per code."""
    order = {"error": 0, "rejected": 1}
    seen: set[str] = set()
    out = []
    for c in sorted(cands, key=lambda c: (order.get(c.verdict, 9), c.index)):
        if c.verdict in order and c.digest not in seen:
            seen.add(c.digest)
            out.append(c)
    return out


# --- state helpers ----------------------------------------------------------------------------

def state_snapshot(receiver: Any) -> dict[str, str]:
    """The printStrings of the receiver's own data slots (to notice a no-op mutator)."""
    return {row.name: preview(row.value, 200) for row in receiver.slots(inherited=False)
            if row.kind == "data"}


def should_have_changed(receiver: Any, brief: MissionBrief, code: str) -> bool:
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
    return not brief.params and assigns_state(code)


def _slot_value(receiver: Any, name: str) -> Any:
    found = receiver.lookup(name)
    return found[1] if found else None


def _is_empty(value: Any) -> bool:
    try:
        return value is None or value is False or value == 0 or len(value) == 0
    except TypeError:
        return False


def assigns_state(code: str) -> bool:
    """Whether the method assigns self attributes other than ``_p_changed``."""
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


__all__ = ["AttemptFailed", "Trial", "Candidate", "Runaway", "RunawayGuard", "evaluate", "install", "install_and_send",
           "send_checked", "describe_error", "choose", "disputed", "failure_of", "normalise",
           "digest", "mean_logprob", "static_error", "state_snapshot"]
