"""``batos ingest`` and ``batos search`` through the typer app."""
from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import batos
from batos.cli.main import app
from batos.cli.memory_cmd import register

runner = CliRunner()


def new_image(path):
    """A fresh image (a command creates one only where asked: --create)."""
    batos.open_image(path).close()
    return str(path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "docs").mkdir(parents=True)
    (root / "src").mkdir()
    (root / ".git").mkdir()
    (root / "README.md").write_text("# Demo\n\nThe demo image remembers lighthouses.\n")
    (root / "docs" / "guide.md").write_text("# Guide\n\n" + "Walruses rest on the ice. " * 60)
    (root / "src" / "tool.py").write_text('def frob():\n    """Frobnicate the puffins."""\n')
    (root / "src" / "blob.bin").write_bytes(b"\0\1\2")
    (root / ".git" / "config").write_text("lighthouses in git metadata\n")
    monkeypatch.chdir(tmp_path)
    return root


def test_ingest_walks_directories_and_search_finds(project, tmp_path):
    img = new_image(tmp_path / "m.fs")
    result = runner.invoke(app, ["ingest", str(project), "-i", img])
    assert result.exit_code == 0, result.output
    assert "ingested 3 files" in result.stdout
    assert "blob.bin: binary" in result.stderr      # skipped, and said why
    result = runner.invoke(app, ["search", "puffins lighthouses", "-i", img, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {r["doc"] for r in data["results"]} == {"proj/src/tool.py", "proj/README.md"}
    result = runner.invoke(app, ["search", "walruses", "--k", "1", "-i", img, "--json",
                                 "--read-only"])
    hits = json.loads(result.stdout)["results"]
    assert len(hits) == 1 and hits[0]["doc"] == "proj/docs/guide.md"
    with batos.open_image(img, read_only=True) as im:
        notes = [h["note"] for h in im.history(5)]
        assert any(n == "ingest 4 files" for n in notes)  # blob.bin: looked at, skipped
        assert im.globals["catalog"].send("documents") == [
            "proj/README.md", "proj/docs/guide.md", "proj/src/tool.py"]


def test_ingest_glob_and_single_files(project, tmp_path):
    img = new_image(tmp_path / "g.fs")
    result = runner.invoke(app, ["ingest", str(project), "--glob", "*.md", "-i", img, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["files"] == 2 and data["documents"] == 2
    result = runner.invoke(app, ["ingest", str(project / "src" / "tool.py"), "-i", img])
    assert result.exit_code == 0 and "ingested 1 file " in result.stdout


def test_search_table_and_no_results(project, tmp_path):
    img = new_image(tmp_path / "t.fs")
    runner.invoke(app, ["ingest", str(project), "-i", img])
    result = runner.invoke(app, ["search", "walruses ice", "-i", img])
    assert result.exit_code == 0
    assert "proj/docs/guide.md" in result.stdout and "Walruses rest" in result.stdout
    result = runner.invoke(app, ["search", "zeppelins", "-i", img])
    assert result.exit_code == 0 and "no chunk matches 'zeppelins'" in result.stdout


def test_missing_path_is_a_user_error_and_saves_nothing(project, tmp_path):
    img = new_image(tmp_path / "e.fs")
    result = runner.invoke(app, ["ingest", str(project / "nope"), "-i", img])
    assert result.exit_code == 1
    assert "no such file or directory" in result.output


def test_register_on_a_fresh_typer(project, tmp_path):
    fresh = typer.Typer()
    register(fresh)
    img = new_image(tmp_path / "f.fs")
    assert runner.invoke(fresh, ["ingest", str(project / "README.md"), "-i", img]).exit_code == 0
    result = runner.invoke(fresh, ["search", "lighthouses", "-i", img, "--json"])
    assert json.loads(result.stdout)["results"][0]["doc"] == "proj/README.md"
