"""Every example in the README runs: the Python API block, the REPL session, the model example."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import batos

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_first_two_commands_are_install_and_test():
    first = blocks("sh")[0].strip().splitlines()
    assert first[0] == "pip install . && batos send genesis display_yourself"
    assert first[1] == "pip install -e '.[test]' && python -m pytest -q"
    ci = (README.parent / ".ci" / "run").read_text()
    assert first[1] in ci


def test_python_api_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = [b for b in blocks("python") if "import batos" in b]
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "example.fs").exists()


def _session() -> list[tuple[str, str]]:
    text = next(b for b in blocks("text") if "$ batos repl world.fs\nbatos> 3 + 4" in b)
    lines = text.strip().splitlines()[1:]
    pairs = []
    for i, line in enumerate(lines):
        if line.startswith("batos> "):
            pairs.append((line[len("batos> "):], lines[i + 1]))
    return pairs


def test_repl_session_example(tmp_path):
    pairs = _session()
    assert len(pairs) >= 8
    stdin = "".join(src + "\n" for src, _ in pairs)
    env = dict(os.environ, BATOS_LLM="off", NO_COLOR="1")
    out = subprocess.run([sys.executable, "-m", "batos.cli.main", "repl", str(tmp_path / "w.fs")],
                         input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [expected for _, expected in pairs]


@pytest.mark.model
def test_model_example(tmp_path, real_model_env):
    """`batos send -i world.fs genesis gcdOf: 12 and: 18` → 6, written by the default model."""
    block = next(b for b in blocks("text") if "gcdOf: 12 and: 18" in b)
    assert block.splitlines()[5] == "6"
    env = dict(os.environ, BATOS_LLM="on", BATOS_STREAM="0")
    img = str(tmp_path / "world.fs")
    batos.open_image(img).close()  # the README's `batos repl world.fs` made it
    out = subprocess.run([sys.executable, "-m", "batos.cli.main", "send", "-i", img, "genesis",
                          "gcdOf:", "12", "and:", "18"], capture_output=True, text=True, env=env,
                         timeout=900)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"
    src = subprocess.run([sys.executable, "-m", "batos.cli.main", "repl", img], text=True,
                         input=":source genesis gcdOf:and:\n", capture_output=True, env=env,
                         timeout=120)
    assert src.returncode == 0 and "def gcdOf_and_(self" in src.stdout
