"""The backend protocol, choosing a backend, the scripted fake, chat rendering."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from batos.errors import BatosError, Interrupted
from batos.llm import Backend, Completion, FakeBackend, StopScanner, get_backend, scripted
from batos.llm import backend as backend_mod
from batos.llm import models
from batos.llm.backend import normalize_adapters
from batos.llm.chat import CHATML, common_prefix, render_chat
from tests.fixtures_llm import *  # noqa: F401,F403


def test_importing_the_layer_does_not_import_llama_cpp() -> None:
    code = ("import sys, batos.llm, batos.llm.models, batos.llm.http, batos.llm.llamacpp, "
            "batos.llm.fake, batos.llm.chat, batos.cli.model_cmd\n"
            "from batos.llm import get_backend\n"
            "assert 'llama_cpp' not in sys.modules, 'llama_cpp imported'\n"
            "assert 'numpy' not in sys.modules, 'numpy imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parent.parent)


# --- stop strings ---------------------------------------------------------------------------------

def _scan(stops: list[str], pieces: list[str]) -> tuple[str, list[str], bool]:
    s = StopScanner(stops)
    out = [s.feed(p) for p in pieces] + [s.flush()]
    return s.text, [o for o in out if o], s.stopped


def test_stop_scanner_holds_back_partial_stops() -> None:
    text, out, stopped = _scan(["\n```"], ["def f():", "\n", "   return 1", "\n`", "``", "more"])
    assert text == "def f():\n   return 1" and stopped
    assert "".join(out) == text
    text, out, stopped = _scan(["END"], ["abcE", "N", "x"])
    assert text == "abcENx" and not stopped and "".join(out) == text


def test_stop_scanner_first_of_several_and_none() -> None:
    assert _scan(["b", "a"], ["xxab"])[0] == "xx"
    assert _scan([], ["a", "b"])[0] == "ab"
    assert _scan(["", "zz"], ["abc"])[0] == "abc"


def test_normalize_adapters() -> None:
    assert normalize_adapters([("a.gguf", 1), (Path("b.gguf"), 0.5), ("c.gguf", 0)]) == (
        ("a.gguf", 1.0), ("b.gguf", 0.5))
    with pytest.raises(BatosError, match="path, scale"):
        normalize_adapters(["a.gguf"])  # type: ignore[list-item]


def test_completion_derived_figures() -> None:
    c = Completion(text="x", prompt_tokens=100, completion_tokens=10, seconds=2.0,
                   prompt_seconds=1.0, model="m", model_sha256="s", prompt_tokens_cached=90)
    assert c.prompt_tokens_processed == 10 and c.tokens_per_second == 10.0


# --- the fake ----------------------------------------------------------------------------------------

def test_fake_replays_streams_and_records() -> None:
    fake = scripted(["def a(self):\n    return 1\n", "second answer"])
    pieces: list[str] = []
    first = fake.generate("prompt one", on_token=pieces.append, adapters=[("x.gguf", 1.0)])
    assert first.text == "def a(self):\n    return 1\n"
    assert "".join(pieces) == first.text and len(pieces) > 2
    assert first.adapters == (("x.gguf", 1.0),) and first.backend == "fake"
    assert fake.generate("prompt two").text == "second answer"
    assert fake.prompts == ["prompt one", "prompt two"]
    assert fake.calls[0]["adapters"] == (("x.gguf", 1.0),)
    with pytest.raises(BatosError, match="no answer for call 3"):
        fake.generate("three")


def test_fake_function_stop_max_tokens_and_errors() -> None:
    fake = FakeBackend(lambda p: p.upper() + " END tail")
    done = fake.generate("hello world", stop=[" END"])
    assert done.text == "HELLO WORLD" and done.finish_reason == "stop"
    cut = fake.generate("a b c d e", max_tokens=2)
    assert cut.text == "A B" and cut.finish_reason == "length" and cut.completion_tokens == 2
    failing = scripted([RuntimeError("backend down")])
    with pytest.raises(RuntimeError, match="backend down"):
        failing.generate("x")
    repeat = FakeBackend(["same"], repeat_last=True)
    assert [repeat.generate("p").text for _ in range(3)] == ["same"] * 3
    assert isinstance(fake, Backend)


def test_fake_cancel() -> None:
    cancel = threading.Event()
    fake = scripted(["one two three four five"])
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        cancel.set()
    with pytest.raises(Interrupted):
        fake.generate("p", on_token=on_token, cancel=cancel)
    assert seen == ["one"]


def test_fake_format_chat_is_chatml() -> None:
    text = FakeBackend().format_chat([{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


# --- chat rendering --------------------------------------------------------------------------------

def test_render_chat_template_and_cacheable_prefix() -> None:
    sys_msg = {"role": "system", "content": "covenant"}
    one = render_chat([sys_msg, {"role": "user", "content": "add: 3"}], CHATML)
    two = render_chat([sys_msg, {"role": "user", "content": "size"}], CHATML)
    assert common_prefix(one, two).startswith("<|im_start|>system\ncovenant<|im_end|>\n")
    tmpl = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    assert render_chat([{"role": "user", "content": "x"}], tmpl, bos_token="<s>") == "<s>[user]x"
    with pytest.raises(BatosError, match="role"):
        render_chat([{"content": "x"}])
    with pytest.raises(BatosError, match="chat template"):
        render_chat([{"role": "user", "content": "x"}],
                    "{{ raise_exception('only system') }}")


# --- choosing a backend ------------------------------------------------------------------------------

def test_get_backend_prefers_the_server_url(monkeypatch: pytest.MonkeyPatch,
                                            llm_cache_home: Path) -> None:
    from batos.llm.http import HTTPBackend
    monkeypatch.setenv("BATOS_LLM_URL", "http://127.0.0.1:9/")
    be = get_backend()
    assert isinstance(be, HTTPBackend) and be.name == "http"
    assert get_backend() is be
    assert get_backend(fresh=True) is not be


def test_get_backend_in_process_with_batos_model(monkeypatch: pytest.MonkeyPatch,
                                                 llm_cache_home: Path,
                                                 tiny_model: Path) -> None:
    from batos.llm.llamacpp import LlamaCppBackend
    monkeypatch.setenv("BATOS_MODEL", str(tiny_model))
    be = get_backend(fresh=True)
    assert isinstance(be, LlamaCppBackend) and be.model_path == str(tiny_model)
    assert be.generate("abc", max_tokens=3).completion_tokens == 3


def test_get_backend_default_model_end_to_end(monkeypatch: pytest.MonkeyPatch,
                                              llm_cache_home: Path, tiny_model: Path) -> None:
    """No settings at all: the default model is assembled from its parts and runs."""
    data = tiny_model.read_bytes()
    parts = []
    for i, chunk in enumerate((data[:7000], data[7000:])):
        p = llm_cache_home / f"part{i}.bin"
        p.write_bytes(chunk)
        parts.append(p)
    monkeypatch.setattr(models, "find_parts", lambda: parts)
    monkeypatch.setattr(models, "DEFAULT_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(backend_mod, "_backends", {})
    be = get_backend()
    assert be.model_identity() == (str(models.cache_dir() / models.DEFAULT_FILENAME),
                                   hashlib.sha256(data).hexdigest())
    done = be.generate(be.format_chat([{"role": "user", "content": "hi"}]), max_tokens=4)
    assert done.completion_tokens == 4 and done.model_sha256 == hashlib.sha256(data).hexdigest()


def test_takes_tells_which_optional_keywords_a_backend_accepts() -> None:
    """The cycle passes ``purpose``/``min_p`` only to backends that accept them."""
    from batos.llm.protocol import takes

    def old(prompt: str, max_tokens: int = 8) -> None: ...

    def new(prompt: str, *, min_p: float = 0.05) -> None: ...

    def open_ended(prompt: str, **kw: object) -> None: ...

    assert not takes(old, "min_p") and takes(new, "min_p") and not takes(new, "purpose")
    assert takes(open_ended, "purpose")
    assert takes(FakeBackend().generate, "min_p") and takes(FakeBackend().generate, "purpose")
    assert not takes(object(), "purpose")                  # nothing callable: no
