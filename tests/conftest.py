"""Shared test set-up.

By default no test may reach the real model: ``BATOS_LLM=off`` makes
doesNotUnderstand_ raise MessageNotUnderstood unless a test passes a backend
explicitly (``batos.llm.dnu.use_backend``). Tests marked ``model`` use the real
default model and opt back in.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("BATOS_LLM", "off")
os.environ.setdefault("BATOS_STREAM", "0")

# Property tests draw random inputs locally (that is how 1e99999999, minutes to lex,
# was found) but the same inputs on every CI run: a landing never depends on the draw.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from tests.fixtures_llm import *  # noqa: E402,F401,F403


@pytest.fixture
def real_model_env(monkeypatch):
    """Let doesNotUnderstand_ use the real default model (tests marked ``model``)."""
    monkeypatch.setenv("BATOS_LLM", "on")
    from batos.llm.models import default_model_path
    return default_model_path(progress=False)
