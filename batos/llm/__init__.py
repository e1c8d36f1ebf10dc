"""The model and backend layer: text generation behind one protocol.

    from batos.llm import get_backend
    backend = get_backend()                        # BATOS_LLM_URL -> HTTP, else llama.cpp
    prompt = backend.format_chat([{"role": "system", "content": SYSTEM},
                                  {"role": "user", "content": ask}])
    done = backend.generate(prompt, max_tokens=256, stop=["\\n```"],
                            adapters=[("loras/brick.gguf", 1.0)], on_token=print)
    done.text, done.prompt_tokens_cached, done.model_sha256

Importing this package never imports ``llama_cpp``: the in-process backend
loads it with the model, on the first generation.
"""
from __future__ import annotations

from batos.llm.backend import (AdapterSpec, Backend, Completion, StopScanner, TokenCallback,
                               get_backend, normalize_adapters)
from batos.llm.fake import FakeBackend, scripted

__all__ = ["AdapterSpec", "Backend", "Completion", "FakeBackend", "StopScanner",
           "TokenCallback", "get_backend", "normalize_adapters", "scripted"]
