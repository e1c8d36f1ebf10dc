"""``batos model list|info|use|pull`` through typer's CliRunner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from batos.cli.model_cmd import register
from batos.llm import models
from tests.fixtures_llm import *  # noqa: F401,F403


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass
    register(app)
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list(app: typer.Typer, llm_cache_home: Path, tiny_model: Path) -> None:
    code, out, _ = run(app, "model", "list")
    assert code == 0 and models.DEFAULT_NAME in out and "assembled on first use" in out
    models.use_model(str(tiny_model))
    code, out, _ = run(app, "model", "list", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [(r["name"], r["current"]) for r in rows] == [(models.DEFAULT_NAME, False),
                                                        ("tiny-llama", True)]


def test_use_and_info(app: typer.Typer, llm_cache_home: Path, tiny_model: Path) -> None:
    code, out, _ = run(app, "model", "use", str(tiny_model))
    assert code == 0 and str(tiny_model.resolve()) in out
    code, out, _ = run(app, "model", "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["arch"] == "llama" and info["path"] == str(tiny_model.resolve())
    code, out, _ = run(app, "model", "info", "tiny-llama", "--no-hash")
    assert code == 0 and "quantization" in out and "F32" in out and "sha256" not in out


def test_errors_exit_1_with_a_message(app: typer.Typer, llm_cache_home: Path,
                                      tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_text("not a model")
    code, out, err = run(app, "model", "use", str(junk))
    assert code == 1 and "not a GGUF" in err and "Traceback" not in err + out
    code, out, err = run(app, "model", "info", str(tmp_path / "nope.gguf"))
    assert code == 1 and "not found" in err
    code, out, err = run(app, "model", "info", "nope", "--json")
    assert code == 1 and json.loads(out)["error"] == "ModelError"


def test_pull(app: typer.Typer, llm_cache_home: Path, tiny_model: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def fake_download(repo_id: str, filename: str, revision: str | None, local_dir: str) -> str:
        dest = Path(local_dir) / filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(tiny_model.read_bytes())
        return str(dest)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    code, out, _ = run(app, "model", "pull", "org/Tiny-GGUF", "t.gguf", "--name", "t", "--use")
    assert code == 0 and "now in use" in out
    assert models.resolve_model() == (models.cache_dir() / "org--Tiny-GGUF" / "t.gguf").resolve()
