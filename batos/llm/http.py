"""Backend for a running llama.cpp server (``llama-server``), chosen by ``$BATOS_LLM_URL``.

Uses the server's native API with the standard library only:

* ``POST /completion`` with ``stream: true`` -- server-sent ``data:`` events;
* per-request ``lora: [{"id": i, "scale": s}]``, the ids found by matching
  adapter paths against ``GET /lora-adapters`` (start the server with
  ``--lora FILE ... --lora-init-without-apply``, and ``-np 1``);
* ``GET /props`` for the chat template and model path.

Every adapter the server knows is sent, unrequested ones with scale 0, so a
request gets exactly its adapter set. The server's prompt cache is kept per
slot, not per adapter set (llama.cpp issue 26207), so ``cache_prompt`` is only
asked for when the adapter set is the one of this backend's previous request;
with one slot (``-np 1``) that never mixes KV computed under different sets.

``generate_many`` sends its candidates as concurrent requests, which a server with
parallel slots (``-np N``) decodes together; against a server of one slot they go one
after another, and each Completion's ``extra["note"]`` says so.
"""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import socket
import threading
import time
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit

from batos.errors import BatosError, Interrupted, ModelError
from batos.llm.sampling import MIN_P
from batos.llm.protocol import (AdapterSpec, Completion, StopScanner, TokenCallback,
                                check_cancel, normalize_adapters, temperatures)
from batos.settings import setting


class HTTPBackend:
    """The :class:`~batos.llm.backend.Backend` talking to a llama.cpp server."""

    name = "http"

    def __init__(self, url: str, *, timeout: float | None = None,
                 api_key: str | None = None) -> None:
        parts = urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BatosError(f"BATOS_LLM_URL must be an http(s) URL, not {url!r}")
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self.timeout = setting("llm_timeout", flag=timeout)
        self._api_key = api_key if api_key is not None else os.environ.get("BATOS_LLM_API_KEY")
        self._props: dict[str, Any] | None = None
        self._adapters: list[dict[str, Any]] | None = None
        self._last_set: tuple[AdapterSpec, ...] | None = None

    # --- transport --------------------------------------------------------------------------
    def _conn(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=self.timeout)

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            h["Authorization"] = f"Bearer {self._api_key}"
        return h

    def _unreachable(self, e: BaseException) -> ModelError:
        return ModelError(f"cannot reach the llama.cpp server at {self.url}: {e}\n"
                          "hint: start it (llama-server -m MODEL --port PORT) or unset "
                          "BATOS_LLM_URL to run the model in-process")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        conn = self._conn()
        try:
            data = None if body is None else json.dumps(body).encode("utf-8")
            conn.request(method, self._base + path, body=data, headers=self._headers())
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise self._unreachable(e) from None
        finally:
            conn.close()
        if resp.status != 200:
            raise ModelError(f"llama.cpp server {method} {path}: HTTP {resp.status} "
                             f"{_error_text(raw)}")
        try:
            return json.loads(raw)
        except ValueError:
            raise ModelError(f"llama.cpp server {path} sent invalid JSON") from None

    # --- server facts -------------------------------------------------------------------------
    def props(self) -> dict[str, Any]:
        """The server's ``/props`` (cached)."""
        if self._props is None:
            self._props = self._request("GET", "/props")
        return self._props

    def server_adapters(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The server's ``/lora-adapters``: ``[{"id", "path", "scale"}]`` (cached)."""
        if self._adapters is None or refresh:
            self._adapters = list(self._request("GET", "/lora-adapters"))
        return self._adapters

    def _lora_field(self, specs: Sequence[AdapterSpec]) -> list[dict[str, Any]] | None:
        if not specs:
            known = self._adapters if self._adapters is not None else None
            if known is None:  # do not ask the server when no adapter was ever used
                return None
            return [{"id": a["id"], "scale": 0.0} for a in known]
        known = self.server_adapters()
        scales = {a["id"]: 0.0 for a in known}
        for path, scale in specs:
            hit = _match_adapter(path, known)
            if hit is None:
                names = ", ".join(str(a.get("path")) for a in known) or "none"
                raise ModelError(f"the llama.cpp server at {self.url} has no LoRA adapter "
                                 f"{path} (it has: {names})\nhint: restart it with "
                                 f"`--lora {path} --lora-init-without-apply`")
            scales[hit] = scale
        return [{"id": i, "scale": s} for i, s in sorted(scales.items())]

    # --- the Backend protocol --------------------------------------------------------------------
    def generate(self, prompt: str, *, max_tokens: int = 512, temperature: float = 0.0,
                 seed: int = 0, stop: Sequence[str] = (), grammar: str | None = None,
                 adapters: Sequence[AdapterSpec] = (), on_token: TokenCallback | None = None,
                 cancel: threading.Event | None = None,
                 prefix: str | Sequence[str] | None = None, purpose: str = "code",
                 min_p: float = MIN_P) -> Completion:
        """Stream a completion from the server's ``/completion``."""
        t0 = time.perf_counter()
        check_cancel(cancel)
        specs = normalize_adapters(adapters)
        body = self._body(prompt, max_tokens, temperature, seed, stop, grammar, specs,
                          cache_prompt=specs == self._last_set, min_p=min_p)
        self._last_set = specs
        return self._complete(body, specs, stop, on_token, cancel, t0)

    def generate_many(self, prompt: str, n: int, *, max_tokens: int = 512,
                      temperature: float | Sequence[float] = 0.0, seed: int = 0,
                      stop: Sequence[str] = (), grammar: str | None = None,
                      adapters: Sequence[AdapterSpec] = (),
                      on_token: TokenCallback | None = None,
                      cancel: threading.Event | None = None,
                      prefix: str | Sequence[str] | None = None,
                      purpose: str = "code", min_p: float = MIN_P) -> list[Completion]:
        """``n`` requests at once, request i with ``temperature[i]`` and seed ``seed + i``;
        sequence 0 runs in the calling thread and streams through ``on_token``.

        A llama-server with parallel slots (``-np N``) decodes the requests together in
        one batch (its continuous batching); each slot keeps its own prompt cache
        (``cache_prompt``), so whether the prompt's KV cells are shared rather than
        evaluated per slot is the server's affair (``--kv-unified``, ``--cache-reuse``).
        A server of one slot (``/props`` ``total_slots``) would only queue them: the
        requests then go one after another, and ``extra["note"]`` says so.
        """
        temps = temperatures(temperature, n)
        t0 = time.perf_counter()
        check_cancel(cancel)
        specs = normalize_adapters(adapters)
        cache = specs == self._last_set
        self._last_set = specs
        slots = self.slots() if n > 1 else 1
        # a slot's prompt cache is not keyed by adapter set: reuse it only when every
        # slot can hold nothing but this set's KV (the same set as last time, or one
        # slot that the first request has just filled)
        bodies = [self._body(prompt, max_tokens, temps[i], seed + i, stop, grammar, specs,
                             cache_prompt=cache or (i > 0 and slots <= 1), probs=True,
                             min_p=min_p)
                  for i in range(n)]
        note = ""
        if n > 1 and slots <= 1:
            note = (f"the llama.cpp server at {self.url} has one slot: the {n} candidates "
                    "were generated one after another (start it with -np N to decode "
                    "them together)")
        results: list[Completion | BaseException | None] = [None] * n
        failed = threading.Event()          # sequence 0 failed: the others stop too
        others = _Either(cancel, failed)

        def run(i: int) -> None:
            try:
                results[i] = self._complete(bodies[i], specs, stop, None, others, t0)
            except BaseException as e:  # re-raised in the calling thread
                results[i] = e
        if note:
            results[0] = self._complete(bodies[0], specs, stop, on_token, cancel, t0)
            for i in range(1, n):
                run(i)
                if isinstance(results[i], BaseException):
                    break
        else:
            threads = [threading.Thread(target=run, args=(i,), daemon=True)
                       for i in range(1, n)]
            for t in threads:
                t.start()
            try:
                results[0] = self._complete(bodies[0], specs, stop, on_token, cancel, t0)
            except BaseException:
                failed.set()
                raise
            finally:
                for t in threads:
                    t.join()
        done: list[Completion] = []
        for i, r in enumerate(results):
            if isinstance(r, BaseException):
                raise r
            if r is not None:
                extra = dict(r.extra, sequence=i, slots=slots, **({"note": note} if note else {}))
                done.append(dataclasses.replace(r, extra=extra))
        return done

    def slots(self) -> int:
        """Parallel slots of the server: ``/props`` ``total_slots``, else the length of
        ``/slots``, else 1 (when it says neither, requests are not assumed parallel)."""
        total = self.props().get("total_slots")
        if isinstance(total, int) and total > 0:
            return total
        try:
            listed = self._request("GET", "/slots")
        except ModelError:
            return 1
        return len(listed) if isinstance(listed, list) and listed else 1

    def _body(self, prompt: str, max_tokens: int, temperature: float, seed: int,
              stop: Sequence[str], grammar: str | None, specs: Sequence[AdapterSpec], *,
              cache_prompt: bool, probs: bool = False,
              min_p: float = MIN_P) -> dict[str, Any]:
        body: dict[str, Any] = {"prompt": prompt, "n_predict": max_tokens,
                                "temperature": temperature, "seed": seed, "min_p": min_p,
                                "stop": list(stop), "stream": True,
                                "cache_prompt": cache_prompt}
        if probs:  # the sampled tokens' log-probabilities (the server sorts the vocabulary)
            body["n_probs"] = 1
        if temperature <= 0:
            body["top_k"] = 1
        if grammar:
            body["grammar"] = grammar
        lora = self._lora_field(specs)
        if lora is not None:
            body["lora"] = lora
        return body

    def _complete(self, body: dict[str, Any], specs: tuple[AdapterSpec, ...],
                  stop: Sequence[str], on_token: TokenCallback | None,
                  cancel: threading.Event | None, t0: float) -> Completion:
        """POST ``body`` to ``/completion`` and stream the answer."""
        scanner = StopScanner(stop)
        final: dict[str, Any] = {}
        n_pieces, t_first = 0, 0.0
        logprobs: list[float] = []
        conn = self._conn()
        resp: http.client.HTTPResponse | None = None
        try:
            try:
                conn.request("POST", self._base + "/completion",
                             body=json.dumps(body).encode("utf-8"), headers=self._headers())
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                raise self._unreachable(e) from None
            if resp.status != 200:
                raise ModelError(f"llama.cpp server /completion: HTTP {resp.status} "
                                 f"{_error_text(resp.read())}")
            for event in _sse_events(resp, cancel):
                if "error" in event:
                    raise ModelError(f"llama.cpp server error: {_error_text(event)}")
                logprobs.extend(_logprobs(event))
                piece = event.get("content", "")
                if piece:
                    if not t_first:
                        t_first = time.perf_counter() - t0
                    n_pieces += 1
                    out = scanner.feed(piece)
                    if out and on_token is not None:
                        on_token(out)
                if event.get("stop"):
                    final = event
                    break
                check_cancel(cancel)
        except (socket.timeout, TimeoutError) as e:
            raise ModelError(f"the llama.cpp server at {self.url} timed out: {e}") from None
        finally:  # on cancel this makes the server stop generating; a server that
            if resp is not None:  # closes connections hands the socket to the response
                resp.close()
            conn.close()
        rest = scanner.flush()
        if rest and on_token is not None:
            on_token(rest)
        timings = final.get("timings") or {}
        prompt_n = int(timings.get("prompt_n", final.get("tokens_evaluated", 0)) or 0)
        cached = int(timings.get("cache_n", final.get("tokens_cached", 0)) or 0)
        stop_type = final.get("stop_type", "")
        finish = "length" if stop_type == "limit" or final.get("truncated") else "stop"
        model, ident = self.model_identity()
        return Completion(
            text=scanner.text, prompt_tokens=prompt_n + cached,
            completion_tokens=int(final.get("tokens_predicted", n_pieces) or n_pieces),
            seconds=time.perf_counter() - t0,
            prompt_seconds=float(timings.get("prompt_ms", 0.0)) / 1000.0 or t_first,
            model=model, model_sha256=ident, adapters=specs, finish_reason=finish,
            prompt_tokens_cached=cached, backend=self.name,
            extra={"url": self.url, "timings": timings, "sequence": 0,
                   "mean_logprob": sum(logprobs) / len(logprobs) if logprobs else 0.0,
                   "logprobs_known": bool(logprobs)})

    def format_chat(self, messages: Sequence[dict[str, str]], *,
                    add_generation_prompt: bool = True) -> str:
        """Render with the server model's chat template (from ``/props``)."""
        from batos.llm.chat import render_chat
        p = self.props()
        return render_chat(messages, p.get("chat_template") or None,
                           bos_token=p.get("bos_token", "") or "",
                           eos_token=p.get("eos_token", "") or "",
                           add_generation_prompt=add_generation_prompt)

    def model_identity(self) -> tuple[str, str]:
        """(model path on the server, ``server:URL#path``): the server does not hash."""
        try:
            path = str(self.props().get("model_path", "")) or "unknown"
        except ModelError:
            path = "unknown"
        return path, f"server:{self.url}#{path}"


def _match_adapter(path: str, known: Sequence[dict[str, Any]]) -> int | None:
    """The server id of the adapter at ``path``: by real path, else by file name."""
    real = os.path.realpath(path)
    for a in known:
        if os.path.realpath(str(a.get("path", ""))) == real:
            return int(a["id"])
    base = os.path.basename(path)
    hits = [a for a in known if os.path.basename(str(a.get("path", ""))) == base]
    return int(hits[0]["id"]) if len(hits) == 1 else None


class _Either(threading.Event):
    """A cancel flag that reads as set when either of two events is."""

    def __init__(self, a: threading.Event | None, b: threading.Event) -> None:
        super().__init__()
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.b.is_set() or (self.a is not None and self.a.is_set())


def _logprobs(event: dict[str, Any]) -> list[float]:
    """Log-probabilities of the sampled tokens in one streamed event (``n_probs``: the
    server sends ``completion_probabilities`` with each token's ``logprob``)."""
    out = []
    for item in event.get("completion_probabilities") or ():
        if isinstance(item, dict) and isinstance(item.get("logprob"), (int, float)):
            out.append(float(item["logprob"]))
    return out


def _sse_events(resp: http.client.HTTPResponse,
                cancel: threading.Event | None) -> Iterator[dict[str, Any]]:
    """JSON payloads of the ``data:`` lines of a server-sent event stream."""
    while True:
        if cancel is not None and cancel.is_set():
            raise Interrupted("generation interrupted")
        line = resp.readline()
        if not line:
            return
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return
        try:
            yield json.loads(payload)
        except ValueError:
            raise ModelError(f"llama.cpp server sent a bad event: {payload[:200]!r}") from None


def _error_text(raw: Any) -> str:
    try:
        data = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
        err = data.get("error", data)
        return str(err.get("message", err) if isinstance(err, dict) else err)[:500]
    except (ValueError, AttributeError):
        return (raw[:500].decode("utf-8", "replace") if isinstance(raw, bytes)
                else str(raw)[:500])
