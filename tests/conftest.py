"""Shared test set-up.

By default no test may reach the real model: ``BATOS_LLM=off`` makes
doesNotUnderstand_ raise MessageNotUnderstood unless a test passes a backend
explicitly (``batos.mind.dnu.use_backend``). Tests marked ``model`` use the real
default model and opt back in.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

os.environ.setdefault("BATOS_LLM", "off")
os.environ.setdefault("BATOS_STREAM", "0")

# The suite never writes into the user's cache, config or state (model hash records,
# chosen models, REPL history): one temporary home per session, inherited by the CLI
# subprocesses. The user's already-assembled default model is linked in, read-only use.
_USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
SESSION_DIR = Path(tempfile.mkdtemp(prefix="batos-tests-"))
atexit.register(shutil.rmtree, SESSION_DIR, True)
for _var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
    os.environ[_var] = str(SESSION_DIR / _var.split("_")[1].lower())
for _var in ("BATOS_MODEL", "BATOS_KV_DIR", "BATOS_IMAGE", "BATOS_REPL_CONFIG"):
    os.environ.pop(_var, None)


def _link_user_model() -> bool:
    """Link the user's verified default model into the session cache, with its hash record
    (so it is neither re-assembled nor re-hashed); False when the user has none."""
    from batos.llm import models
    user = _USER_CACHE / "batos" / "models" / models.DEFAULT_FILENAME
    link = models.cache_dir() / models.DEFAULT_FILENAME
    if link.exists():
        return True
    try:
        rec = json.loads((user.parent / (user.name + ".sha256.json")).read_text("utf-8"))
        st = user.stat()
    except (OSError, ValueError):
        return False
    if (rec.get("size"), rec.get("mtime_ns"), rec.get("sha256")) != (
            st.st_size, st.st_mtime_ns, models.DEFAULT_SHA256):
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    try:  # a hard link: inside the session cache, so a confined CLI may read it too
        os.link(user.resolve(), link)
        (link.parent / (link.name + ".sha256.json")).write_text(json.dumps(rec), "utf-8")
    except OSError:  # another file system: a symbolic link, its hash kept by real path
        (link.parent / "hashes.json").write_text(json.dumps({str(user.resolve()): rec}), "utf-8")
        link.symlink_to(user.resolve())
    return True


def _assemble_user_model() -> None:
    """Assemble the default model once into the user's cache (where batos keeps it)."""
    from batos.llm import models
    saved = os.environ["XDG_CACHE_HOME"]
    os.environ["XDG_CACHE_HOME"] = str(_USER_CACHE)
    try:
        models.default_model_path(progress=False)
    finally:
        os.environ["XDG_CACHE_HOME"] = saved

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
    if not _link_user_model():
        _assemble_user_model()
        _link_user_model()
    from batos.llm.models import default_model_path
    return default_model_path(progress=False)


# --- the shared image fixture -------------------------------------------------------------
# A test that needs a fresh image takes ``image``; one that reopens the file (read-only, in
# a subprocess, after a crash) takes ``image_path`` too. A file that needs a different image
# (module-scoped, set up, opened with another environment) names its own fixture otherwise.

@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    """Where the test's image lives: ``image.fs`` in its temporary directory."""
    return tmp_path / "image.fs"


@pytest.fixture
def image(image_path: Path) -> Iterator[Any]:
    """A fresh image (awakened by ``batos.open_image``) at ``image_path``, closed after."""
    import batos
    im = batos.open_image(image_path)
    try:
        yield im
    finally:
        im.close()
