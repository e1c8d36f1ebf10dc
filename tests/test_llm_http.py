"""The HTTP backend against a small fake llama.cpp server on 127.0.0.1."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from batos.errors import Interrupted, ModelError
from batos.llm.http import HTTPBackend

ADAPTERS = [{"id": 0, "path": "/srv/loras/brick.gguf", "scale": 0.0},
            {"id": 1, "path": "/srv/loras/robin.gguf", "scale": 0.0}]
TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
            "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
            "{% endif %}")


class FakeServer:
    """Enough of llama-server: /props, /lora-adapters, streaming /completion."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.pieces = ["def ", "size", "(self):\n", "    return ", "len(self.items)", "\n"]
        self.delay = 0.0
        self.disconnected = threading.Event()
        self.fail_with: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _json(self, data: Any, status: int = 200) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if self.path == "/props":
                    self._json({"chat_template": TEMPLATE, "bos_token": "", "eos_token":
                                "<|im_end|>", "model_path": "/srv/models/qwen.gguf"})
                elif self.path == "/lora-adapters":
                    self._json(ADAPTERS)
                else:
                    self._json({"error": {"message": "not found"}}, 404)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if outer.fail_with:
                    self._json({"error": {"code": outer.fail_with,
                                          "message": "model is loading"}}, outer.fail_with)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                text, n = "", 0
                try:
                    for piece in outer.pieces[: body["n_predict"]]:
                        text += piece
                        n += 1
                        self.wfile.write(b"data: " + json.dumps(
                            {"content": piece, "stop": False}).encode() + b"\n\n")
                        self.wfile.flush()
                        time.sleep(outer.delay)
                    final = {"content": "", "stop": True, "tokens_predicted": n,
                             "tokens_evaluated": 40,
                             "stop_type": "limit" if n == body["n_predict"] else "eos",
                             "timings": {"prompt_n": 10, "cache_n": 30, "prompt_ms": 12.5,
                                         "predicted_n": n, "predicted_ms": 50.0}}
                    self.wfile.write(b"data: " + json.dumps(final).encode() + b"\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    outer.disconnected.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = FakeServer()
    yield s
    s.close()


def test_streams_a_completion(server: FakeServer) -> None:
    be = HTTPBackend(server.url)
    pieces: list[str] = []
    done = be.generate("prompt", max_tokens=64, temperature=0.0, seed=3, stop=["\n\n"],
                       grammar="root ::= [a-z]+", on_token=pieces.append)
    assert done.text == "def size(self):\n    return len(self.items)\n"
    assert "".join(pieces) == done.text
    assert done.completion_tokens == 6 and done.finish_reason == "stop"
    assert done.prompt_tokens == 40 and done.prompt_tokens_cached == 30
    assert done.prompt_seconds == pytest.approx(0.0125)
    assert done.model == "/srv/models/qwen.gguf" and done.backend == "http"
    req = server.requests[0]
    assert req["prompt"] == "prompt" and req["n_predict"] == 64 and req["stream"] is True
    assert req["seed"] == 3 and req["stop"] == ["\n\n"] and req["grammar"] == "root ::= [a-z]+"
    assert req["temperature"] == 0.0 and "lora" not in req


def test_max_tokens_and_local_stop(server: FakeServer) -> None:
    be = HTTPBackend(server.url)
    done = be.generate("p", max_tokens=2)
    assert done.text == "def size" and done.finish_reason == "length"
    assert be.generate("p", stop=["(self)"]).text == "def size"


def test_per_request_lora_matched_by_path(server: FakeServer, tmp_path: Path) -> None:
    be = HTTPBackend(server.url)
    be.generate("p", adapters=[("/srv/loras/robin.gguf", 0.75)])
    assert server.requests[-1]["lora"] == [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.75}]
    be.generate("p", adapters=[(str(tmp_path / "brick.gguf"), 1.0)])  # same file name
    assert server.requests[-1]["lora"] == [{"id": 0, "scale": 1.0}, {"id": 1, "scale": 0.0}]
    be.generate("p")  # no adapters: every known one is switched off explicitly
    assert server.requests[-1]["lora"] == [{"id": 0, "scale": 0.0}, {"id": 1, "scale": 0.0}]
    with pytest.raises(ModelError, match="--lora"):
        be.generate("p", adapters=[("/elsewhere/babs.gguf", 1.0)])


def test_server_prompt_cache_only_within_one_adapter_set(server: FakeServer) -> None:
    be = HTTPBackend(server.url)
    robin = [("/srv/loras/robin.gguf", 1.0)]
    for adapters in ([], [], robin, robin, [("/srv/loras/robin.gguf", 0.5)], []):
        be.generate("p", adapters=adapters)
    assert [r["cache_prompt"] for r in server.requests] == [False, True, False, True,
                                                            False, False]


def test_format_chat_uses_the_server_template(server: FakeServer) -> None:
    text = HTTPBackend(server.url).format_chat([{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_cancel_closes_the_stream(server: FakeServer) -> None:
    server.pieces = [f"w{i} " for i in range(200)]
    server.delay = 0.01
    cancel = threading.Event()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    with pytest.raises(Interrupted):
        HTTPBackend(server.url).generate("p", max_tokens=200, on_token=on_token, cancel=cancel)
    assert len(seen) == 3
    assert server.disconnected.wait(5)


def test_server_errors_are_model_errors(server: FakeServer) -> None:
    server.fail_with = 503
    with pytest.raises(ModelError, match="HTTP 503 model is loading"):
        HTTPBackend(server.url).generate("p")


def test_unreachable_server_says_what_to_do() -> None:
    with pytest.raises(ModelError) as info:
        HTTPBackend("http://127.0.0.1:9", timeout=2).generate("p")
    assert "BATOS_LLM_URL" in str(info.value)


def test_bad_url() -> None:
    from batos.errors import BatosError
    with pytest.raises(BatosError, match="http"):
        HTTPBackend("ftp://x/")
