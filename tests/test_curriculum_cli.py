"""``batos mind seed FILE`` and ``batos mind curriculum``: the heartbeat's curriculum seed,
checked whole before anything is written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import batos
from batos.mind import improve
from tests.objects import make_counter


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "cur.fs"
    with batos.open_image(p) as im:
        make_counter(im)
    return p


def run(*args: object):
    from batos.cli.main import app
    return CliRunner().invoke(app, [str(a) for a in args])


def history_len(p: Path) -> int:
    with batos.open_image(p, read_only=True) as im:
        return len(im.storage.undoLog(0, 10 ** 6))


def queued(p: Path) -> list[dict]:
    with batos.open_image(p, read_only=True) as im:
        st = improve.state(im, create=False)
        return [{k: list(v) if k == "args" else v for k, v in dict(i).items()}
                for i in st["curriculum"]] if st is not None else []


GOOD = [{"receiver": "counter", "selector": "double:", "args": ["3"], "examples": "{3 -> 6. 5 -> 10}"},
        {"receiver": "counter", "selector": "isBig", "args": []},
        {"receiver": "counter", "selector": "at:put:", "args": ["#(1 $a)", "'x'"]}]


def test_seed_a_json_list_then_list_it(path, tmp_path):
    r = run("mind", "curriculum", path)
    assert r.exit_code == 0 and "the curriculum is empty" in r.output
    assert json.loads(run("mind", "curriculum", path, "--json").output) == []
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(GOOD, indent=2))
    r = run("mind", "seed", seed, "-i", path)
    assert r.exit_code == 0, r.output
    assert "seeded 3 intent(s); 3 queued" in r.output
    assert [(i["selector"], i["args"]) for i in queued(path)] == [
        ("double:", ["3"]), ("isBig", []), ("at:put:", ["#(1 $a)", "'x'"])]
    with batos.open_image(path, read_only=True) as im:
        notes = [d["description"].decode() for d in im.storage.undoLog(0, 5)]
    assert notes[0] == "heartbeat: curriculum seeded with 3 intents"
    r = run("mind", "curriculum", path, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [(x["selector"], x["tries"], x["status"]) for x in rows] == [
        ("double:", 0, "queued"), ("isBig", 0, "queued"), ("at:put:", 0, "queued")]
    r = run("mind", "curriculum", path)
    assert r.exit_code == 0 and "#double:" in r.output and "{3 -> 6. 5 -> 10}" in r.output


def test_tries_show_in_the_listing(path, tmp_path):
    seed = tmp_path / "seed.jsonl"
    seed.write_text(json.dumps(GOOD[0]) + "\n")
    assert run("mind", "seed", seed, "-i", path).exit_code == 0
    with batos.open_image(path) as im:
        key = improve.intent_key(dict(improve.state(im)["curriculum"][0]))
        im.execute(lambda: [improve.count_try(im, key) for _ in range(improve.MAX_INTENT_TRIES)],
                   note="tries")
    rows = json.loads(run("mind", "curriculum", "-i", path, "--json").output)
    assert (rows[0]["tries"], rows[0]["status"]) == (improve.MAX_INTENT_TRIES, "used up")
    assert rows[0]["args"] == GOOD[0].get("args", [])          # a JSON list, not its repr


def test_duplicates_are_queued_once(path, tmp_path):
    seed = tmp_path / "seed.jsonl"
    seed.write_text("\n".join(json.dumps(i) for i in GOOD + [GOOD[1]]) + "\n")
    r = run("mind", "seed", seed, "-i", path)
    assert r.exit_code == 0 and "seeded 3 intent(s); 3 queued (1 already queued" in r.output
    before = history_len(path)
    r = run("mind", "seed", seed, "-i", path, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"ok": True, "seeded": 0, "skipped": 4, "queued": 3}
    assert len(queued(path)) == 3 and history_len(path) == before  # nothing new: no transaction


@pytest.mark.parametrize("text, where, message", [
    ('[{"receiver": "counter", "selector": "isBig", "args": []},\n {"receiver": "counter" "x"}]',
     "seed.json:2:25", "invalid JSON"),
    ('{"receiver": "counter", "selector": "isBig"}\n{"receiver": "nobody", "selector": "isBig"}\n',
     "seed.json:2:14", "no global named 'nobody'"),
    ('[\n  {"receiver": "counter", "selector": "double:", "args": ["3", "4"]}\n]',
     "seed.json:2:58", "#double: takes 1 argument(s), 2 given"),
    ('{"receiver": "counter", "selector": "at put", "args": []}\n',
     "seed.json:1:37", "not a Smalltalk selector"),
    ('{"receiver": "counter", "selector": "double:", "args": ["3 + counter"]}\n',
     "seed.json:1:58", "args[0]: only BST literals"),
    ('{"receiver": "counter", "selector": "double:", "args": ["3"], "examples": "{3 -> }"}\n',
     "seed.json:1:82", "examples:"),
    ('{"receiver": "counter", "selector": "isBig", "examples": "{3 -> true}"}\n',
     "seed.json:1:58", "examples: #isBig takes no argument"),
])
def test_bad_input_is_rejected_with_a_caret_and_the_image_unchanged(path, tmp_path, text,
                                                                   where, message):
    seed = tmp_path / "seed.json"
    seed.write_text(text)
    before = history_len(path)
    r = run("mind", "seed", seed, "-i", path)
    assert r.exit_code == 1, r.output
    assert f"error: {seed.parent / where}: " in r.output and message in r.output
    lines = r.output.splitlines()
    caret = next(i for i, ln in enumerate(lines) if ln.strip() == "^")
    col = int(where.rsplit(":", 1)[1])
    assert lines[caret].index("^") == col + 1     # under the source line, indented by 2
    assert history_len(path) == before and queued(path) == []


def test_a_missing_file_or_image_fails_cleanly(path, tmp_path):
    r = run("mind", "seed", tmp_path / "none.json", "-i", path)
    assert r.exit_code == 1 and "cannot read seed file" in r.output
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(GOOD))
    r = run("mind", "seed", seed, "-i", tmp_path / "missing.fs")
    assert r.exit_code == 3 and not (tmp_path / "missing.fs").exists()
