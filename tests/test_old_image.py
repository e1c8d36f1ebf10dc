"""Ship of Theseus (issue 13, item 4): an image written by an older batos still sails.

``tests/fixtures/old_image/`` holds an image built at one commit (its README says which, and
what each global answers) by ``tests/fixtures/make_old_image.py``. Every test works on a copy
in ``tmp_path``: the committed fixture is never opened. Never rebuild the fixture to make a
test here pass; a moved pickled path needs a rename-table entry instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import batos
from batos.guardian.adapter import file_sha256
from batos.mind import genlog
from batos.mind.adapters import adapter_path, audit, list_adapters
from batos.mind.trace import last_trace, list_traces

FIXTURE = Path(__file__).parent / "fixtures" / "old_image"
ADAPTER_SHA256 = "17ef065dadfb75f70b2332e7fecf1651742193a949d5622e16c0085c3242da45"
ADAPTER_SIZE = 14_304

#: BST expression → printString, as recorded in the fixture's README
ANSWERS = {
    "point sum": "7",
    "greeter greet: 'Ada'": "'Hello, Ada!'",
    "counter tenfold": "30",
    "box tags": "a Set('blue' 'green' 'red')",
    "catalog documents": "#('apples' 'boats')",
    "(catalog search: 'river') first at: #doc": "'boats'",
    "(catalog search: 'orchard') first at: #doc": "'apples'",
    "ROBIN adapter": "an Adapter",
}


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A fresh copy of the old image (world.fs and its blobs only); answers its path."""
    dest = tmp_path / "old"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(
        "README.md", "world.fs.index", "world.fs.lock", "world.fs.tmp", "*.old"))
    return dest / "world.fs"


def _digest(path: Path) -> str:
    """sha256 of the image file and every blob under it."""
    h = hashlib.sha256(path.read_bytes())
    for blob in sorted(Path(str(path) + ".blobs").rglob("*.blob")):
        h.update(blob.name.encode() + blob.read_bytes())
    return h.hexdigest()


def batos_cli(*args: Any) -> subprocess.CompletedProcess[str]:
    """The real console script, generation off, no colour."""
    env = {**os.environ, "BATOS_LLM": "off", "NO_COLOR": "1", "COLUMNS": "200"}
    exe = Path(sys.executable).with_name("batos")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "batos.cli.main"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          timeout=120, env=env)


def _check_everything(im: Any) -> None:
    """Every item of the fixture, through the Python API of an open image."""
    for expr, expected in ANSWERS.items():
        assert im.print_string(im.evaluate(expr)) == expected, expr
    counter = im.globals["counter"]
    method = counter.method("tenfold")
    assert method.language == "python" and method.source.startswith("def tenfold(self):")
    assert method.provenance["author"] == "BRICK" and method.provenance["model"] == "fake-model"
    assert method.audit is not None and method.audit.accepted
    assert im.globals["point"].method("sum").language == "bst"
    assert im.globals["greeter"].method("greet:").language == "python"
    [(ident, record)] = genlog.entries(im)
    assert (ident, type(record).__name__, record.verdict, record.selector, record.persona) == (
        1, "GenerationRecord", "installed", "tenfold", "BRICK")
    trace = last_trace(im)
    assert (trace.id, trace.kind, trace.persona, trace.verdict) == (
        1, "doesNotUnderstand_", "BRICK", "complete")
    assert trace.mission == "a Proto(counter) #tenfold"
    assert [s["state"] for s in trace.steps] == [
        "IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "COMPLETE"]
    assert [t.id for t in list_traces(im)] == [1]
    tags = im.globals["box"].get_slot("tags")
    assert type(tags).__name__ == "PersistentSet" and set(tags) == {"red", "green", "blue"}
    hits = im.globals["catalog"].send("search:", "river")
    assert [h["doc"] for h in hits] == ["boats"] and "river" in hits[0]["text"]


def test_the_fixture_is_small_and_whole() -> None:
    files = sorted(p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*") if p.is_file())
    blobs = [f for f in files if f.endswith(".blob")]
    assert "world.fs" in files and "README.md" in files and len(blobs) == 1
    assert not [f for f in files if f.endswith((".index", ".lock", ".tmp", ".old"))]
    size = sum((FIXTURE / f).stat().st_size for f in files)
    assert size < 2 * 1024 * 1024
    commit = (FIXTURE / "README.md").read_text("utf-8").split("**`")[1].split("`**")[0]
    assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit)


def test_read_only_open_answers_everything_and_writes_nothing(old: Path) -> None:
    before = _digest(old)
    with batos.open_image(old, read_only=True) as im:
        assert im.read_only
        _check_everything(im)
    assert _digest(old) == before


def test_writable_open_answers_everything(old: Path) -> None:
    with batos.open_image(old) as im:
        _check_everything(im)
    with batos.open_image(old) as im:  # and again, after whatever the first open wrote
        _check_everything(im)


def test_the_set_slot_keeps_in_place_adds_across_reopen(old: Path) -> None:
    with batos.open_image(old) as im:
        im.execute(lambda: im.evaluate("box tags add: 'yellow'"), note="add yellow")
    with batos.open_image(old, read_only=True) as im:
        assert set(im.globals["box"].tags) == {"red", "green", "blue", "yellow"}
    made = batos_cli("eval", "-i", old, "box tags add: 'black'. box tags size")
    assert made.returncode == 0 and made.stdout.strip() == "5", made.stderr
    seen = batos_cli("eval", "--read-only", "-i", old, "box tags includes: 'black'")
    assert seen.returncode == 0 and seen.stdout.strip() == "true", seen.stderr
    with batos.open_image(old) as im:
        assert set(im.globals["box"].tags) == {"red", "green", "blue", "yellow", "black"}


@pytest.mark.parametrize("mode", [["--read-only"], []], ids=["read-only", "writable"])
def test_cli_eval_answers_everything(old: Path, mode: list[str]) -> None:
    before = _digest(old)
    exprs = list(ANSWERS)
    result = batos_cli("eval", *mode, "-i", old, "{" + ". ".join(exprs) + "}")
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip()  # #(...) or an Array(...): the elements are what matter
    assert out.endswith(")") and out[out.index("(") + 1:-1] == " ".join(ANSWERS[e] for e in exprs)
    single = batos_cli("eval", *mode, "--json", "-i", old, "counter tenfold")
    assert single.returncode == 0 and json.loads(single.stdout)["value"] == 30
    if mode:
        assert _digest(old) == before


def test_cli_log_trace_lora_and_verify(old: Path) -> None:
    log = batos_cli("log", "-i", old, "--read-only")
    assert log.returncode == 0, log.stderr
    [line] = log.stdout.strip().splitlines()
    assert line.split()[0] == "1" and "installed" in line and "a Proto(counter) #tenfold" in line
    assert "BRICK" in line
    records = json.loads(batos_cli("log", "-i", old, "--read-only", "--json").stdout)
    assert [(r["id"], r["verdict"], r["selector"], r["code"]) for r in records] == [
        (1, "installed", "tenfold", "def tenfold(self):\n    return self.count * 10\n")]
    trace = batos_cli("trace", "-i", old, "--read-only")
    assert trace.returncode == 0, trace.stderr
    head = trace.stdout.splitlines()[0]
    assert head.startswith("trace 1 · doesNotUnderstand_ · BRICK · complete")
    for state in ("IDLE", "DECOMPOSING", "DELEGATING", "SYNTHESIZING", "COMPLETE"):
        assert state in trace.stdout
    assert "a Proto(counter) #tenfold" in trace.stdout
    data = json.loads(batos_cli("trace", "1", "-i", old, "--read-only", "--json").stdout)
    assert (data["id"], data["kind"], data["verdict"]) == (1, "doesNotUnderstand_", "complete")
    loras = batos_cli("lora", "list", "-i", old, "--read-only")
    assert loras.returncode == 0 and "robin.gguf" in loras.stdout and "accepted" in loras.stdout
    for mode in (["--read-only"], []):
        verify = batos_cli("image", "verify", *mode, "-i", old)
        assert verify.returncode == 0 and "passed fstest, fsrefs" in verify.stdout, (
            verify.stdout + verify.stderr)
    batos_cli("eval", "-i", old, "box tags add: 'white'")  # a writable statement, then verify
    verify = batos_cli("image", "verify", "-i", old)
    assert verify.returncode == 0 and "passed" in verify.stdout, verify.stdout + verify.stderr


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "writable"])
def test_the_adapter_blob_is_readable_and_passes_the_audit(old: Path, tiny_model: Path,
                                                          read_only: bool) -> None:
    with batos.open_image(old, read_only=read_only) as im:
        [(persona, adapter, scale)] = list_adapters(im)
        assert (persona, adapter.name, adapter.persona, scale) == ("ROBIN", "robin.gguf",
                                                                   "ROBIN", 1.0)
        assert im.globals["ROBIN"].adapter is adapter
        assert (adapter.size, adapter.sha256, adapter.arch) == (ADAPTER_SIZE, ADAPTER_SHA256,
                                                                "llama")
        assert adapter.audit.verdict == "accepted"
        file = Path(adapter_path(adapter))
        assert file.resolve().is_relative_to(Path(str(old) + ".blobs").resolve())
        assert file.stat().st_size == ADAPTER_SIZE and file_sha256(str(file)) == ADAPTER_SHA256
        assert file.read_bytes()[:4] == b"GGUF"
        report = audit(file, model=str(tiny_model))  # the guardian, against the base model
        assert report.accepted and report.verdict == "accepted", report.findings
        assert not [f for f in report.findings if f["severity"] == "warning"]
