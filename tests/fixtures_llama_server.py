"""A small llama.cpp server for tests: the native llama-server protocol on a real model.

batos's HTTP backend (:mod:`batos.llm.http`) speaks llama-server's *native* API
(``/props``, ``/lora-adapters``, streaming ``/completion``), not the OpenAI one that
``llama_cpp.server`` serves (whose extra dependencies are not installed here anyway),
and no ``llama-server`` binary is available. This is enough of llama-server, written
against llama-cpp-python and independent of batos's own engine, to run the backend
conformance suite over HTTP on the tiny GGUF model:

* one slot (``-np 1``), greedy sampling (tests use temperature 0), ``n_predict``;
* the prompt cache (``cache_prompt``): the longest common token prefix with the
  previous request is reused and reported as ``timings.cache_n``;
* LoRA adapters loaded at start and applied per request by ``lora: [{id, scale}]``
  (like ``--lora FILE --lora-init-without-apply``);
* stop strings (``stop_type: "word"``), end of generation, the context limit;
* a client that disconnects stops the generation (as llama-server does).

Served on 127.0.0.1 with an ephemeral port; :attr:`TinyLlamaServer.requests` and
:attr:`TinyLlamaServer.generated` record what it was asked and produced.
"""
from __future__ import annotations

import codecs
import ctypes
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _held_back(text: str, stops: Sequence[str]) -> int:
    """Length of the longest tail of ``text`` that could still grow into a stop string."""
    keep = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), keep, -1):
            if text.endswith(s[:k]):
                keep = k
                break
    return keep


class TinyLlamaServer:
    """llama-server's native protocol over one llama_cpp model (see the module doc)."""

    def __init__(self, model: Path, loras: Sequence[Path] = (), *, n_ctx: int = 1024) -> None:
        from batos.llm.llamacpp import _llama_cpp, open_llama  # the AMX-safe loader only
        self.lc = _llama_cpp()
        self.model_path = str(model)
        self.llm = open_llama(self.model_path, n_ctx=n_ctx, n_batch=256, n_threads=1,
                              n_threads_batch=1, verbose=False)
        self.vocab = self.lc.llama_model_get_vocab(self.llm.model)
        self.loras = [(str(p), self.lc.llama_adapter_lora_init(self.llm.model,
                                                               str(p).encode()))
                      for p in loras]
        assert all(ptr for _, ptr in self.loras), "a LoRA adapter failed to load"
        self.lock = threading.Lock()
        self.cached: list[int] = []
        self.scales: tuple[float, ...] = ()
        self.requests: list[dict[str, Any]] = []
        self.generated: list[int] = []      # tokens generated per /completion request
        self.disconnects = 0
        self.token_delay = 0.0              # seconds per generated token (a slower model)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and free the model."""
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            self.lc.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
            for _, ptr in self.loras:
                self.lc.llama_adapter_lora_free(ptr)
            self.llm.close()

    # --- HTTP -----------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send_json(self, data: Any, status: int = 200) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path == "/props":
                    meta = server.llm.metadata
                    self.send_json({"chat_template": meta.get("tokenizer.chat_template", ""),
                                    "bos_token": "<s>", "eos_token": "</s>",
                                    "model_path": server.model_path, "total_slots": 1})
                elif self.path == "/lora-adapters":
                    self.send_json([{"id": i, "path": p, "scale": 0.0}
                                    for i, (p, _) in enumerate(server.loras)])
                else:
                    self.send_json({"error": {"code": 404, "message": "File Not Found"}}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/completion":
                    self.send_json({"error": {"code": 404, "message": "File Not Found"}}, 404)
                    return
                server.requests.append(body)
                server.complete(self, body)

        return Handler

    # --- /completion --------------------------------------------------------------------------------
    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> None:
        h.send_json({"error": {"code": status, "message": message}}, status)  # type: ignore

    def _set_loras(self, field: Sequence[dict[str, Any]] | None) -> None:
        scales = [0.0] * len(self.loras)
        for entry in field or ():
            scales[int(entry["id"])] = float(entry["scale"])
        if tuple(scales) == self.scales:
            return
        on = [(ptr, s) for (_, ptr), s in zip(self.loras, scales) if s != 0.0]
        lc, n = self.lc, len(on)
        if n:
            ptrs = (lc.llama_adapter_lora_p_ctypes * n)(*[p for p, _ in on])
            vals = (ctypes.c_float * n)(*[s for _, s in on])
            rc = lc.llama_set_adapters_lora(self.llm.ctx, ptrs, n, vals)
        else:
            rc = lc.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        assert rc == 0, rc
        self.scales = tuple(scales)

    def complete(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        """Answer one ``/completion`` request, streamed as server-sent events."""
        llm, lc = self.llm, self.lc
        with self.lock:
            tokens = list(llm.tokenize(body["prompt"].encode(), add_bos=True, special=True))
            if len(tokens) >= llm.n_ctx():
                self._error(h, 400, "the request exceeds the available context size, "
                            "try increasing it")
                return
            lora = body.get("lora")
            if lora is not None and any(not 0 <= int(e["id"]) < len(self.loras) for e in lora):
                self._error(h, 400, "invalid adapter id")
                return
            self._set_loras(lora)
            reuse = _lcp(self.cached, tokens) if body.get("cache_prompt") else 0
            reuse = min(reuse, len(tokens) - 1)
            t0 = time.perf_counter()
            llm.n_tokens = reuse            # eval() drops the KV cells beyond it
            llm.eval(tokens[reuse:])
            prompt_ms = (time.perf_counter() - t0) * 1000
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.send_header("Connection", "close")
            h.end_headers()
            stops = [s for s in body.get("stop", []) if s]
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            text, sent, n, stop_type = "", 0, 0, "limit"
            buf = ctypes.create_string_buffer(64)
            try:
                while n < int(body.get("n_predict", 128)):
                    logits = np.ctypeslib.as_array(lc.llama_get_logits_ith(llm.ctx, -1),
                                                   shape=(llm.n_vocab(),))
                    tok = int(np.argmax(logits))
                    if lc.llama_vocab_is_eog(self.vocab, tok):
                        stop_type = "eos"
                        break
                    n += 1
                    size = lc.llama_token_to_piece(self.vocab, tok, buf, 64, 0, False)
                    text += decoder.decode(buf.raw[:size])
                    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
                    end = min(hits) if hits else len(text) - _held_back(text, stops)
                    if end > sent:
                        self._event(h, {"content": text[sent:end], "stop": False})
                        sent = end
                    if hits:
                        stop_type = "word"
                        break
                    if llm.n_tokens + 1 >= llm.n_ctx():
                        break
                    llm.eval([tok])
                    time.sleep(self.token_delay)
                if stop_type == "limit" and sent < len(text):
                    self._event(h, {"content": text[sent:], "stop": False})
                self._event(h, {
                    "content": "", "stop": True, "stop_type": stop_type,
                    "tokens_predicted": n, "tokens_evaluated": len(tokens),
                    "model": self.model_path,
                    "timings": {"prompt_n": len(tokens) - reuse, "cache_n": reuse,
                                "prompt_ms": prompt_ms, "predicted_n": n}})
            except (BrokenPipeError, ConnectionResetError):
                self.disconnects += 1       # the client went away: stop generating
            finally:
                self.generated.append(n)
                self.cached = [int(t) for t in llm.input_ids[: llm.n_tokens]]

    @staticmethod
    def _event(h: BaseHTTPRequestHandler, data: dict[str, Any]) -> None:
        h.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        h.wfile.flush()
