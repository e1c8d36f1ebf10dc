"""Choosing the backend: :func:`get_backend` and :func:`configured_backend`.

The protocol every backend shares is :mod:`batos.llm.protocol` (re-exported here);
the implementations are :mod:`batos.llm.llamacpp` (in this process, the default),
:mod:`batos.llm.http` (a running llama.cpp server) and :mod:`batos.llm.fake`.
Importing this module never imports ``llama_cpp``.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Mapping, Sequence, Union

from batos.llm.protocol import (AdapterSpec, Backend, Completion, StopScanner, TokenCallback,
                                check_cancel, generate_many, normalize_adapters)
from batos.settings import setting


_backends: dict[tuple[str, str], Backend] = {}
_backends_lock = threading.Lock()


def get_backend(model: str | os.PathLike[str] | None = None, *, url: str | None = None,
                fresh: bool = False) -> Backend:
    """The backend to use now.

    ``url`` (or ``$BATOS_LLM_URL``) selects the HTTP backend for a running
    llama.cpp server; otherwise the in-process llama.cpp backend with ``model``
    (a path or registered name; default: :func:`batos.llm.models.resolve_model`).
    Backends are cached per (kind, target) so the model stays loaded for the
    process; ``fresh=True`` bypasses that cache. Resolving the model may raise
    :class:`batos.errors.ModelError`; loading it is deferred to the first
    generation.
    """
    url = setting("url", flag=url or None)
    if url:
        key = ("http", url)
        factory: Callable[[], Backend] = lambda: _http(url)  # noqa: E731
    else:
        from batos.llm.models import resolve_model
        path = str(resolve_model(model))
        key = ("llama.cpp", path)
        factory = lambda: _llamacpp(path)  # noqa: E731
    if fresh:
        return factory()
    with _backends_lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = factory()
        return backend


def configured_backend(options: Mapping[str, Any] | None = None) -> Backend:
    """The backend the settings choose (:mod:`batos.settings`: flag → image options →
    environment → default): a ``backend`` object, else a llama.cpp server at ``url``,
    else the in-process model ``model``. ``options`` is ``image.options`` or None."""
    chosen = setting("backend", options=options)
    if chosen is not None:
        return chosen
    return get_backend(setting("model", options=options), url=setting("url", options=options))


def _http(url: str) -> Backend:
    from batos.llm.http import HTTPBackend
    return HTTPBackend(url)


def _llamacpp(path: str) -> Backend:
    from batos.llm.llamacpp import LlamaCppBackend
    return LlamaCppBackend(path)


ChatMessages = Sequence[dict[str, str]]
PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["get_backend", "configured_backend", "AdapterSpec", "Backend", "Completion",
           "StopScanner", "TokenCallback", "check_cancel", "generate_many",
           "normalize_adapters"]
