"""``batos audit FILE... [--json] [--repair]`` through typer's CliRunner."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from batos.cli.audit_cmd import register


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")  # a second command keeps typer in multi-command mode
    def noop() -> None:
        """Do nothing."""
    return app


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = "def answer(self):\n    return 42\n"
BAD = "def escape(self):\n    import os\n    return os.system('id')\n"
FIXABLE = "def push(self, x):\n    self.items.append(x)\n"


def test_all_accepted_exits_zero(tmp_path: Path) -> None:
    r = CliRunner().invoke(make_app(), ["audit", str(write(tmp_path, "a.py", GOOD))])
    assert r.exit_code == 0, r.output
    assert "ACCEPTED" in r.output and "a.py" in r.output


def test_any_rejected_exits_one(tmp_path: Path) -> None:
    files = [str(write(tmp_path, "a.py", GOOD)), str(write(tmp_path, "b.py", BAD))]
    r = CliRunner().invoke(make_app(), ["audit", *files])
    assert r.exit_code == 1
    assert "ACCEPTED" in r.output and "REJECTED" in r.output and "G111" in r.output


def test_json_output(tmp_path: Path) -> None:
    files = [str(write(tmp_path, "a.py", GOOD)), str(write(tmp_path, "b.py", BAD))]
    r = CliRunner().invoke(make_app(), ["audit", "--json", *files])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert [d["verdict"] for d in data] == ["accepted", "rejected"]
    assert data[1]["file"].endswith("b.py")
    assert data[1]["findings"][0]["rule"] == "G111"
    assert data[1]["findings"][0]["line"] == 2


def test_repair_flag(tmp_path: Path) -> None:
    f = write(tmp_path, "c.py", FIXABLE)
    r = CliRunner().invoke(make_app(), ["audit", str(f)])
    assert r.exit_code == 1 and "G301" in r.output
    r = CliRunner().invoke(make_app(), ["audit", "--repair", "--json", str(f)])
    assert r.exit_code == 0
    d = json.loads(r.output)[0]
    assert d["verdict"] == "repaired" and d["source"].endswith("self._p_changed = True\n")
    assert f.read_text() == FIXABLE  # files are never rewritten
    r = CliRunner().invoke(make_app(), ["audit", "--repair", str(f)])
    assert r.exit_code == 0 and "REPAIRED" in r.output and "repaired source" in r.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(make_app(), ["audit", str(tmp_path / "nope.py")])
    assert r.exit_code == 2


def test_gguf_files_are_audited_as_adapters(tmp_path: Path) -> None:
    p = tmp_path / "junk.gguf"
    p.write_bytes(b"junk")
    r = CliRunner().invoke(make_app(), ["audit", "--json", str(p)])
    assert r.exit_code == 1
    assert json.loads(r.output)[0]["kind"] == "adapter"


def test_redteam_corpus_file_through_the_cli(tmp_path: Path) -> None:
    corpus = Path(__file__).parent / "redteam" / "malicious.txt"
    chunks = corpus.read_text(encoding="utf-8").split("# === ")[1:4]
    files = [str(write(tmp_path, f"m{i}.py", c.split("\n", 1)[1])) for i, c in enumerate(chunks)]
    r = CliRunner().invoke(make_app(), ["audit", "--json", *files])
    assert r.exit_code == 1
    assert all(d["verdict"] == "rejected" for d in json.loads(r.output))
