"""A scripted fake backend for tests of everything built on top of generation.

    fake = FakeBackend(["def foo(self):\\n    return 1\\n", "..."])   # answers in turn
    fake = FakeBackend(lambda prompt: "def ...")                      # or computed
    fake.generate(prompt, on_token=print)
    fake.prompts            # every prompt seen, in order
    fake.calls              # the full keyword arguments of every call

Answers stream through ``on_token`` in small pieces, honour ``stop``,
``max_tokens`` (counted in whitespace-separated pieces) and ``cancel``. An
answer may also be an exception instance, which is raised for that call.
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
from batos.llm.chat import render_chat

Answer = Union[str, BaseException]
Script = Union[Sequence[Answer], Callable[[str], Answer]]

_PIECES = re.compile(r"\s*\S+|\s+")


class FakeBackend:
    """Replays scripted answers; records what it was asked."""

    name = "fake"

    def __init__(self, script: Script = (), *, model: str = "fake-model",
                 repeat_last: bool = False, delay: float = 0.0,
                 on_generate: Callable[[dict[str, Any]], None] | None = None) -> None:
        """``script``: answers in turn, or a function of the prompt.
        ``repeat_last``: keep giving the last answer when the list runs out.
        ``delay``: seconds to sleep between streamed pieces (to test cancel)."""
        self._script = script if callable(script) else list(script)
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
        return 0 if callable(self._script) else len(self._script) - len(self.prompts)

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
                 cancel: threading.Event | None = None, prefix: str | None = None) -> Completion:
        """Give the next scripted answer, streamed piece by piece."""
        t0 = time.perf_counter()
        adapters_n = normalize_adapters(adapters)
        call = dict(prompt=prompt, max_tokens=max_tokens, temperature=temperature, seed=seed,
                    stop=tuple(stop), grammar=grammar, adapters=adapters_n)
        with self._lock:
            index = len(self.prompts)
            self.prompts.append(prompt)
            self.calls.append(call)
        if self.on_generate is not None:
            self.on_generate(call)
        answer = self._answer(prompt, index)
        if isinstance(answer, BaseException):
            raise answer
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
        return Completion(text=scanner.text, prompt_tokens=len(_pieces(prompt)),
                          completion_tokens=n, seconds=seconds, prompt_seconds=0.0,
                          model=self.model, model_sha256=self.model_identity()[1],
                          adapters=adapters_n, finish_reason=finish, backend=self.name)

    def format_chat(self, messages: Sequence[dict[str, str]], *,
                    add_generation_prompt: bool = True) -> str:
        """ChatML, like the default model."""
        return render_chat(messages, add_generation_prompt=add_generation_prompt)

    def model_identity(self) -> tuple[str, str]:
        return self.model, hashlib.sha256(self.model.encode()).hexdigest()


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text)


def scripted(answers: Iterable[Answer]) -> FakeBackend:
    """Shorthand: a fake that gives ``answers`` in turn."""
    return FakeBackend(list(answers))
