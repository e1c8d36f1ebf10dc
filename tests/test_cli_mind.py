"""``batos persona``, ``batos lora`` and ``batos trace`` through typer's CliRunner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import batos
from batos.cli.mind_cmd import register
from batos.llm.fake import FakeBackend
from tests.fixtures_llm import *  # noqa: F401,F403
from tests.fixtures_llm import write_tiny_lora


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # keep sub-commands as sub-commands
        pass
    register(app)
    return app


@pytest.fixture
def env(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATOS_MODEL", str(tiny_model))
    monkeypatch.delenv("BATOS_LLM_URL", raising=False)
    monkeypatch.setenv("BATOS_LORAS", str(tmp_path / "none"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")
    batos.open_image(tmp_path / "cli.fs").close()  # commands open images; they create none
    return tmp_path / "cli.fs"


def run(app: typer.Typer, *args: str) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_persona_list_and_show(app: typer.Typer, env: Path) -> None:
    r = run(app, "persona", "list", "-i", env)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["persona", "role", "pillars", "adapter"]
    assert lines[1].split()[:2] == ["*", "BRICK"] and "deconstruct, forge, guide" in lines[1]
    assert [ln.split()[0] for ln in lines[2:5]] == ["ROBIN", "BABS", "ALFRED"]
    data = json.loads(run(app, "persona", "list", "-i", env, "--json").output)
    assert [p["name"] for p in data] == ["BRICK", "ROBIN", "BABS", "ALFRED"]
    assert data[3]["adapter"] is None and "inefficien" in data[3]["cues"]
    r = run(app, "persona", "show", "robin", "-i", env)
    assert r.exit_code == 0 and r.output.startswith("ROBIN — emotional and contextual resonance")
    assert "#wonder" in r.output and "none (base model)" in r.output
    shown = json.loads(run(app, "persona", "show", "BABS", "-i", env, "--json").output)
    assert set(shown["pillars"]) == {"retrieve", "summarise"}
    r = run(app, "persona", "show", "NOBODY", "-i", env)
    assert r.exit_code == 1 and "no persona named 'NOBODY'" in r.output


def test_lora_add_list_rm(app: typer.Typer, env: Path, tiny_lora: Path, tmp_path: Path) -> None:
    r = run(app, "lora", "list", "-i", env)
    assert r.exit_code == 0 and r.output.startswith("no adapters")
    r = run(app, "lora", "add", "BRICK", tiny_lora, "--scale", "0.5", "-i", env)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("BRICK now thinks with lora-a.gguf") and "audit accepted" in r.output
    r = run(app, "lora", "list", "-i", env)
    assert r.output.splitlines()[0].split() == ["persona", "adapter", "scale", "size", "sha256",
                                                "audit"]
    assert r.output.splitlines()[1].split()[:3] == ["BRICK", "lora-a.gguf", "0.5"]
    rows = json.loads(run(app, "lora", "list", "-i", env, "--json").output)
    assert rows[0]["persona"] == "BRICK" and rows[0]["scale"] == 0.5 and len(rows) == 1
    wrong = write_tiny_lora(tmp_path / "wrong.gguf", arch="qwen2")
    r = run(app, "lora", "add", "ROBIN", wrong, "-i", env)
    assert r.exit_code == 1 and "A003" in r.output and "REJECTED" in r.output
    bad = json.loads(run(app, "lora", "add", "ROBIN", wrong, "-i", env, "--json").output)
    assert bad["ok"] is False and bad["error"] == "AuditRejected"
    assert len(json.loads(run(app, "lora", "list", "-i", env, "--json").output)) == 1
    r = run(app, "lora", "rm", "brick", "-i", env, "--json")
    assert json.loads(r.output)["removed"]["name"] == "lora-a.gguf"
    r = run(app, "lora", "rm", "BRICK", "-i", env)
    assert r.exit_code == 1 and "has no adapter" in r.output
    with batos.open_image(env) as im:
        assert im.globals["BRICK"].adapter is None


def test_trace(app: typer.Typer, env: Path) -> None:
    r = run(app, "trace", "-i", env)
    assert r.exit_code == 1 and "no traces yet" in r.output
    with batos.open_image(env) as im:
        im.options["backend"] = FakeBackend(["one", "two", "three"])
        im.execute(lambda: im.globals["genesis"].send("ask:", "Why model things?"), note="ask")
    r = run(app, "trace", "-i", env)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("trace 1 · ask · BRICK · complete")
    assert "├── mission  Why model things?" in r.output and "result  three" in r.output
    data = json.loads(run(app, "trace", "1", "-i", env, "--json").output)
    assert data["id"] == 1 and data["steps"][-1]["state"] == "COMPLETE"
    r = run(app, "trace", "last", "--timeline", "-i", env)
    assert r.output.splitlines()[1].split() == ["state", "at", "took", "persona", "tokens",
                                                "notes"]
    r = run(app, "trace", "list", "-i", env)
    assert r.output.splitlines()[1].split()[:4] == ["1", "ask", "BRICK", "complete"]
    r = run(app, "trace", "5", "-i", env, "--json")
    assert r.exit_code == 1 and json.loads(r.output)["message"].startswith("no trace 5")
