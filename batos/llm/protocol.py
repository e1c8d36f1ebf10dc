"""The protocol every text-generation backend of batos shares (:mod:`batos.llm.backend`
chooses one).

A backend turns a prompt into a :class:`Completion`, streaming text pieces to
``on_token`` as they are produced. Three implementations exist:

* :mod:`batos.llm.llamacpp` -- llama-cpp-python in this process (the default);
* :mod:`batos.llm.http` -- a running llama.cpp server (``BATOS_LLM_URL``);
* :mod:`batos.llm.fake` -- a scripted fake for tests.

Importing this module never imports ``llama_cpp``; the in-process backend loads
it only when a model is first needed.
"""
from __future__ import annotations

import inspect
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

from batos.errors import BatosError, Interrupted
from batos.llm.sampling import MIN_P

#: One adapter request: (path of the LoRA GGUF -- or a key the backend knows --, scale).
AdapterSpec = tuple[str, float]
#: A callback that receives each piece of generated text as it is produced.
TokenCallback = Callable[[str], None]


@dataclass(frozen=True)
class Completion:
    """The result of one generation.

    ``prompt_tokens`` counts every token of the prompt; ``prompt_tokens_cached``
    how many of them were reused from the prefix KV cache (so the prompt
    tokens actually processed are ``prompt_tokens - prompt_tokens_cached``).
    ``finish_reason`` is ``"stop"`` (a stop string or end of generation),
    ``"length"`` (``max_tokens`` or the context size reached).
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_seconds: float
    model: str
    model_sha256: str
    adapters: tuple[AdapterSpec, ...] = ()
    finish_reason: str = "stop"
    prompt_tokens_cached: int = 0
    backend: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def prompt_tokens_processed(self) -> int:
        """Prompt tokens that had to be evaluated (not served from the cache)."""
        return self.prompt_tokens - self.prompt_tokens_cached

    @property
    def tokens_per_second(self) -> float:
        """Completion tokens per second of generation (prompt time excluded)."""
        gen = self.seconds - self.prompt_seconds
        return self.completion_tokens / gen if gen > 0 else 0.0


@runtime_checkable
class Backend(Protocol):
    """What the doesNotUnderstand_ protocol and personas call."""

    #: A short name for traces: "llama.cpp", "http", "fake".
    name: str

    def generate(self, prompt: str, *, max_tokens: int = 512, temperature: float = 0.0,
                 seed: int = 0, stop: Sequence[str] = (), grammar: str | None = None,
                 adapters: Sequence[AdapterSpec] = (),
                 on_token: TokenCallback | None = None,
                 cancel: threading.Event | None = None,
                 prefix: str | Sequence[str] | None = None,
                 purpose: str = "code", min_p: float = MIN_P) -> Completion:
        """Generate a completion of ``prompt``.

        ``prefix`` names a fixed leading part of the prompt that backends may cache
        across processes (the in-process backend keeps its KV state on disk), or
        several nested ones, shortest first (shared by all personas, then one's own).

        ``stop`` strings end the generation and are not part of the text;
        ``grammar`` is GBNF source; ``adapters`` are (LoRA path, scale) pairs
        applied for this generation only; ``cancel`` is checked between tokens
        and, once set, makes this raise :class:`batos.errors.Interrupted`.
        ``purpose`` says what the text is for (``"code"``, ``"examples"``): real
        backends ignore it, the fake answers examples from its own list.
        ``min_p`` drops, when sampling (temperature above 0), every token less
        likely than that fraction of the likeliest one.
        ``extra["mean_logprob"]`` is the mean log-probability of the sampled tokens
        (0.0 where the backend cannot tell).
        """
        ...

    def generate_many(self, prompt: str, n: int, *, max_tokens: int = 512,
                      temperature: float | Sequence[float] = 0.0, seed: int = 0,
                      stop: Sequence[str] = (), grammar: str | None = None,
                      adapters: Sequence[AdapterSpec] = (),
                      on_token: TokenCallback | None = None,
                      cancel: threading.Event | None = None,
                      prefix: str | Sequence[str] | None = None,
                      purpose: str = "code", min_p: float = MIN_P) -> list[Completion]:
        """Up to ``n`` completions of ``prompt`` (candidates), decoded together where the
        backend can: the in-process model evaluates the prompt once and decodes every
        sequence in one batch per step.

        Sequence i samples at ``temperature[i]`` (a float applies to all) with seed
        ``seed + i``, so at temperature 0 every sequence is the greedy answer. Each
        Completion's ``extra`` holds ``"sequence"`` (i) and ``"mean_logprob"``;
        ``on_token`` streams sequence 0 only; the other arguments are ``generate``'s.
        """
        ...

    def format_chat(self, messages: Sequence[dict[str, str]], *,
                    add_generation_prompt: bool = True) -> str:
        """Render ``[{"role": ..., "content": ...}]`` with the model's chat template."""
        ...

    def model_identity(self) -> tuple[str, str]:
        """(model name or path, sha256 or file identity) for provenance."""
        ...


# --- shared helpers --------------------------------------------------------------

def check_cancel(cancel: threading.Event | None) -> None:
    """Raise :class:`Interrupted` when ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise Interrupted("generation interrupted")


class CallbackFailed(Exception):
    """Carries an exception raised by ``on_token`` through a generation loop."""


def call_sink(on_token: TokenCallback, text: str) -> None:
    """``on_token(text)``; its own error travels as :class:`CallbackFailed`."""
    try:
        on_token(text)
    except Exception as e:
        raise CallbackFailed() from e


def normalize_adapters(adapters: Sequence[AdapterSpec] | None) -> tuple[AdapterSpec, ...]:
    """Validate and normalise adapter specs; a scale of 0 drops the adapter."""
    out: list[AdapterSpec] = []
    for spec in adapters or ():
        try:
            path, scale = spec
        except (TypeError, ValueError):
            raise BatosError(f"an adapter must be (path, scale), not {spec!r}") from None
        scale = float(scale)
        if scale != 0.0:
            out.append((os.fspath(path), scale))
    return tuple(out)


class StopScanner:
    """Incremental stop-string matcher for streaming.

    Feed text pieces; it returns the text that is safe to emit now (it holds back
    a tail that could still become a stop string) and notices when a stop string
    appears. The stop string itself is never emitted.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self.text = ""      # everything emitted so far
        self._pending = ""  # received but not yet emitted
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add ``piece``; return what may be emitted now."""
        if self.stopped:
            return ""
        buf = self._pending + piece
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return self._emit(buf[:cut])
        if not self.stops:
            self._pending = ""
            return self._emit(buf)
        keep = 0
        for s in self.stops:  # longest tail of buf that is a proper prefix of a stop
            for k in range(min(len(s) - 1, len(buf)), keep, -1):
                if buf.endswith(s[:k]):
                    keep = k
                    break
        self._pending = buf[len(buf) - keep:] if keep else ""
        return self._emit(buf[:len(buf) - keep])

    def flush(self) -> str:
        """End of stream: emit whatever was held back."""
        if self.stopped:
            return ""
        rest, self._pending = self._pending, ""
        return self._emit(rest)

    def _emit(self, s: str) -> str:
        self.text += s
        return s


def temperatures(temperature: float | Sequence[float], n: int) -> list[float]:
    """One sampling temperature per sequence of a ``generate_many`` (a float applies to
    all ``n``); refuses fewer than one sequence or fewer temperatures than sequences."""
    if n < 1:
        raise BatosError(f"generate_many needs at least one sequence, not {n}")
    if isinstance(temperature, (int, float)):
        return [float(temperature)] * n
    temps = [float(t) for t in temperature]
    if len(temps) < n:
        raise BatosError(f"{n} sequences need {n} temperatures, not {len(temps)}")
    return temps[:n]


def generate_many(backend: Any, prompt: str, n: int, **kw: Any) -> list[Completion]:
    """``backend.generate_many(prompt, n, **kw)``; for an object with ``generate`` only
    (a test's wrapper), ``n`` generations one after another with ``generate``'s
    semantics (temperature i, seed + i, sequence 0 streamed)."""
    many = getattr(backend, "generate_many", None)
    if many is not None:
        return list(many(prompt, n, **kw))
    temps = temperatures(kw.pop("temperature", 0.0), n)
    seed = int(kw.pop("seed", 0))
    on_token = kw.pop("on_token", None)
    out = []
    for i in range(n):
        c = backend.generate(prompt, temperature=temps[i], seed=seed + i,
                             on_token=on_token if i == 0 else None, **kw)
        c.extra.setdefault("mean_logprob", 0.0)
        c.extra["sequence"] = i
        out.append(c)
    return out


def takes(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` accepts the keyword ``name`` (a backend's optional ``purpose`` or
    ``min_p``: a backend written before them is called without)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


__all__ = ["AdapterSpec", "TokenCallback", "Completion", "Backend", "check_cancel",
           "normalize_adapters", "StopScanner", "generate_many", "takes", "temperatures"]
