"""A scripted fake backend for tests of everything built on top of generation.

    fake = FakeBackend(["def foo(self):\\n    return 1\\n", "..."])   # answers in turn
    fake = FakeBackend(lambda prompt: "def ...")                      # or computed
    fake.generate(prompt, on_token=print)
    fake.prompts            # every code prompt seen, in order (not the examples requests)
    fake.calls              # the full keyword arguments of every call (and its purpose)

Answers stream through ``on_token`` in small pieces, honour ``stop``,
``max_tokens`` (counted in whitespace-separated pieces) and ``cancel``. An
answer may also be an exception instance, which is raised for that call.

``generate_many`` takes ONE scripted answer per call: a tuple or list of strings gives
that many candidates (``[("wrong code", "right code")]``: two candidates in one call), a
plain string one; ``generate`` given such a tuple answers its first string. A candidate's
``extra["mean_logprob"]`` is ``-0.1 * (index + 1)`` unless ``mean_logprobs`` says.
Calls whose ``purpose`` is ``"examples"`` (Chain-of-Verification's request for examples)
answer from ``proposals`` instead of the script (``""`` when it has none left), and
calls whose purpose is ``"review"`` (ALFRED's review, :mod:`batos.mind.review`) answer
from ``reviews`` the same way; both are in ``calls`` but not in ``prompts``, and
``on_generate`` does not see them.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import Any, Callable, Iterable, Sequence, Union

from batos.errors import BatosError
from batos.llm.backend import (AdapterSpec, Completion, StopScanner, TokenCallback,
                               check_cancel, normalize_adapters)
from batos.llm.protocol import temperatures
from batos.llm.chat import render_chat
from batos.llm.sampling import MIN_P

Answer = Union[str, Sequence[str], BaseException]
Script = Union[Sequence[Answer], Callable[[str], Answer]]

_PIECES = re.compile(r"\s*\S+|\s+")


class FakeBackend:
    """Replays scripted answers; records what it was asked."""

    name = "fake"

    def __init__(self, script: Script = (), *, model: str = "fake-model",
                 repeat_last: bool = False, delay: float = 0.0,
                 on_generate: Callable[[dict[str, Any]], None] | None = None,
                 proposals: Script | None = None,
                 reviews: Script | None = None,
                 mean_logprobs: Sequence[float] | None = None) -> None:
        """``script``: answers in turn, or a function of the prompt.
        ``repeat_last``: keep giving the last answer when the list runs out.
        ``delay``: seconds to sleep between streamed pieces (to test cancel).
        ``proposals``: answers (or a function of the prompt) for calls whose purpose is
        ``"examples"`` only; ``reviews``: the same for purpose ``"review"``.
        ``mean_logprobs``: candidate i's mean log-probability."""
        self._script = script if callable(script) else list(script)
        self._side: dict[str, Any] = {
            purpose: (side if side is None or callable(side) else list(side))
            for purpose, side in (("examples", proposals), ("review", reviews))}
        self._side_next = {purpose: 0 for purpose in self._side}
        self.mean_logprobs = None if mean_logprobs is None else list(mean_logprobs)
        self._next = 0        # the next scripted answer
        self.model = model
        self.repeat_last = repeat_last
        self.delay = delay
        self.on_generate = on_generate
        self.prompts: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # --- scripting ----------------------------------------------------------------------
    def add(self, *answers: Answer) -> "FakeBackend":
        """Append answers to a list script."""
        if callable(self._script):
            raise BatosError("this fake answers with a function; cannot add answers")
        self._script.extend(answers)
        return self

    @property
    def remaining(self) -> int:
        """Answers not yet given (0 for a function script)."""
        return 0 if callable(self._script) else len(self._script) - self._next

    def _side_answer(self, purpose: str, prompt: str, index: int) -> Answer:
        """The ``index``-th answer of the ``proposals``/``reviews`` script ("" past it)."""
        side = self._side[purpose]
        if side is None:
            return ""
        if callable(side):
            return side(prompt)
        return side[index] if index < len(side) else ""

    def _answer(self, prompt: str, index: int) -> Answer:
        if callable(self._script):
            return self._script(prompt)
        if index < len(self._script):
            return self._script[index]
        if self.repeat_last and self._script:
            return self._script[-1]
        raise BatosError(f"fake backend has no answer for call {index + 1} "
                         f"(scripted {len(self._script)})")

    # --- the Backend protocol -------------------------------------------------------------
    def generate(self, prompt: str, *, max_tokens: int = 512, temperature: float = 0.0,
                 seed: int = 0, stop: Sequence[str] = (), grammar: str | None = None,
                 adapters: Sequence[AdapterSpec] = (),
                 on_token: TokenCallback | None = None,
                 cancel: threading.Event | None = None,
                 prefix: str | Sequence[str] | None = None, purpose: str = "code",
                 min_p: float = MIN_P) -> Completion:
        """Give the next scripted answer (its first string if it holds several),
        streamed piece by piece."""
        t0 = time.perf_counter()
        adapters_n, answer = self._next_answer(prompt, dict(
            max_tokens=max_tokens, temperature=temperature, seed=seed, stop=tuple(stop),
            grammar=grammar, adapters=normalize_adapters(adapters), purpose=purpose,
            min_p=min_p))
        texts = _candidates(answer)
        return self._complete(prompt, texts[0] if texts else "", 0, t0, max_tokens, stop,
                              adapters_n, on_token, cancel)

    def generate_many(self, prompt: str, n: int, *, max_tokens: int = 512,
                      temperature: float | Sequence[float] = 0.0, seed: int = 0,
                      stop: Sequence[str] = (), grammar: str | None = None,
                      adapters: Sequence[AdapterSpec] = (),
                      on_token: TokenCallback | None = None,
                      cancel: threading.Event | None = None,
                      prefix: str | Sequence[str] | None = None,
                      purpose: str = "code", min_p: float = MIN_P) -> list[Completion]:
        """One scripted answer: its strings (up to ``n``) are the candidates; sequence 0
        streams through ``on_token``."""
        temps = temperatures(temperature, n)
        t0 = time.perf_counter()
        adapters_n, answer = self._next_answer(prompt, dict(
            max_tokens=max_tokens, temperature=temps, seed=seed, stop=tuple(stop),
            grammar=grammar, adapters=normalize_adapters(adapters), purpose=purpose, n=n,
            min_p=min_p))
        texts = _candidates(answer)[:n] or [""]
        return [self._complete(prompt, text, i, t0, max_tokens, stop, adapters_n,
                               on_token if i == 0 else None, cancel)
                for i, text in enumerate(texts)]

    def _next_answer(self, prompt: str, call: dict[str, Any]) -> tuple[tuple[AdapterSpec, ...],
                                                                        Answer]:
        """Record the call and take its answer (from the proposals for examples, the
        reviews for a review)."""
        call = dict(prompt=prompt, **call)
        with self._lock:
            side = call["purpose"] if call["purpose"] in self._side else None
            if side is not None:
                index = self._side_next[side]
                self._side_next[side] += 1
            else:
                index = self._next
                self._next += 1
                self.prompts.append(prompt)  # the code prompts; every call is in calls
            self.calls.append(call)
        if self.on_generate is not None and side is None:
            self.on_generate(call)
        answer = (self._side_answer(side, prompt, index) if side is not None
                  else self._answer(prompt, index))
        if isinstance(answer, BaseException):
            raise answer
        return call["adapters"], answer

    def _complete(self, prompt: str, answer: str, index: int, t0: float, max_tokens: int,
                  stop: Sequence[str], adapters_n: tuple[AdapterSpec, ...],
                  on_token: TokenCallback | None,
                  cancel: threading.Event | None) -> Completion:
        check_cancel(cancel)
        scanner = StopScanner(stop)
        n = 0
        finish = "stop"
        for piece in _pieces(answer):
            if n >= max_tokens:
                finish = "length"
                break
            check_cancel(cancel)
            n += 1
            out = scanner.feed(piece)
            if out and on_token is not None:
                on_token(out)
            if scanner.stopped:
                break
            if self.delay:
                time.sleep(self.delay)
        rest = scanner.flush()
        if rest and on_token is not None:
            on_token(rest)
        seconds = time.perf_counter() - t0
        logprob = (self.mean_logprobs[index] if self.mean_logprobs is not None
                   and index < len(self.mean_logprobs) else -0.1 * (index + 1))
        return Completion(text=scanner.text, prompt_tokens=len(_pieces(prompt)),
                          completion_tokens=n, seconds=seconds, prompt_seconds=0.0,
                          model=self.model, model_sha256=self.model_identity()[1],
                          adapters=adapters_n, finish_reason=finish, backend=self.name,
                          extra={"mean_logprob": float(logprob), "sequence": index})

    def format_chat(self, messages: Sequence[dict[str, str]], *,
                    add_generation_prompt: bool = True) -> str:
        """ChatML, like the default model."""
        return render_chat(messages, add_generation_prompt=add_generation_prompt)

    def model_identity(self) -> tuple[str, str]:
        return self.model, hashlib.sha256(self.model.encode()).hexdigest()


def _candidates(answer: Any) -> list[str]:
    """The candidate texts of one scripted answer (a string, or a tuple/list of them)."""
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, (tuple, list)) and all(isinstance(a, str) for a in answer):
        return list(answer)
    raise BatosError(f"a fake answer must be a string or a tuple of strings, not {answer!r}")


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text)


def scripted(answers: Iterable[Answer]) -> FakeBackend:
    """Shorthand: a fake that gives ``answers`` in turn."""
    return FakeBackend(list(answers))
