"""Live penetration suite (issue 12, item 8): every attack class run for real.

Each attack in ``tests/redteam/live`` runs in a fresh copy of a template image, in a
subprocess (``batos run``/``repl``/``eval`` or a Python script on the public API) with
``BATOS_LLM=off`` and a private HOME; then a fresh process reopens the image and
digests its object graph (``tests/redteam/live/probe.py``), and ``batos image verify``
checks the file.  An attack wins if a marker file appears (while it runs, or when the
image is reopened), a secret reaches the output, the object graph changes outside the
attacker's own object, the image stops working or verifying, the process dies of a
signal or hangs, memory passes the cap, or raw terminal controls are printed.

Run ``python -m pytest -q tests/test_redteam_live.py -s`` for the per-class counts.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict

import pytest

from tests.redteam.live import ALL, CLASSES, harness
from tests.redteam.live.harness import Attack

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the live suite uses Linux process accounting")

_RESULTS: dict[str, list[tuple[str, list[str], float]]] = defaultdict(list)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam_template")
    image, probe = harness.make_template(root)
    return image, probe


@pytest.fixture(scope="module", autouse=True)
def _summary():
    t0 = time.monotonic()
    yield
    if not _RESULTS:
        return
    lines = ["", "live red team: attacks stopped per class"]
    total = stopped = 0
    for cls in CLASSES:
        rows = _RESULTS.get(cls, [])
        if not rows:
            continue
        ok = sum(1 for _, why, _ in rows if not why)
        total += len(rows)
        stopped += ok
        lines.append(f"  {cls:<11} {len(rows):3d} attempted  {ok:3d} stopped  "
                     f"{len(rows) - ok:3d} succeeded")
    lines.append(f"  {'total':<11} {total:3d} attempted  {stopped:3d} stopped  "
                 f"{total - stopped:3d} succeeded   ({time.monotonic() - t0:.0f}s)")
    winners = [(cls, name, why) for cls, rows in _RESULTS.items() for name, why, _ in rows if why]
    if winners:
        lines.append("attacks that currently succeed:")
        for cls, name, why in winners:
            lines.append(f"  {cls}:{name}: {why[0]}" + (f" (+{len(why) - 1} more)" if len(why) > 1 else ""))
    sys.stdout.write("\n".join(lines) + "\n")


@pytest.mark.parametrize("attack", ALL, ids=[a.id for a in ALL])
def test_attack_is_stopped(attack: Attack, template, tmp_path):
    image, probe = template
    res = harness.run_attack(attack, image, probe, tmp_path / "work")
    _RESULTS[attack.cls].append((attack.name, res.failures, res.wall))
    assert not res.failures, (
        f"{attack.id} ({attack.what}) succeeded:\n  - " + "\n  - ".join(res.failures)
        + f"\n--- stdout ---\n{res.stdout[-1500:]}\n--- stderr ---\n{res.stderr[-1500:]}")


# --- the oracles themselves must be able to fail ------------------------------------------

CONTROL_MARKER = Attack("control", "marker", "the harness's own script creates the marker",
                        "py", 'open("@M@", "w").close()\n', expect="harmless")
CONTROL_EDIT = Attack("control", "edit", "a person edits traits and victim through the API",
                      "py", 'image.globals["victim"].set_slot("balance", 7)\n'
                      'image.globals["traits"].define("describe", "^1")\nimage.commit("edit")\n',
                      expect="harmless")
CONTROL_OUTPUT = Attack("control", "output", "a script prints the secret and an escape",
                        "py", 'import os\nprint(os.environ["@SECRETVAR@"], "\\x1b]0;t\\x07")\n',
                        expect="harmless", no_escapes=True)
CONTROL_BENIGN = Attack("control", "benign", "ordinary work on the attacker's own object",
                        "run", "attacker setSlot: #count value: 0.\n"
                        "attacker >> increment [ count := count + 1. ^count ].\n"
                        "attacker increment; increment.\n", expect="harmless",
                        health={"attacker count": "2"})


def test_oracles_detect_a_marker(template, tmp_path):
    res = harness.run_attack(CONTROL_MARKER, *template, tmp_path)
    assert any("marker" in why for why in res.failures), res.failures


def test_oracles_detect_object_graph_changes(template, tmp_path):
    res = harness.run_attack(CONTROL_EDIT, *template, tmp_path)
    text = "\n".join(res.failures)
    assert "root/globals/victim.balance changed" in text, text
    assert "root/globals/traits.describe appeared" in text, text
    assert "'victim balance' gave '7'" in text, text


def test_judge_reports_load_time_code_and_crashes(template):
    _, probe = template
    res = harness.Result(CONTROL_BENIGN, None, 9, False, 0.1, 10.0, "", "", False, True,
                         probe, 0, "", "s", "f")
    text = "\n".join(harness.judge(res, probe))
    assert "reopened (load-time code)" in text and "signal 9" in text, text


def test_oracles_detect_leaks_and_escapes(template, tmp_path):
    res = harness.run_attack(CONTROL_OUTPUT, *template, tmp_path)
    text = "\n".join(res.failures)
    assert "secret" in text and "raw terminal control" in text, text


def test_benign_work_passes_every_oracle(template, tmp_path):
    res = harness.run_attack(CONTROL_BENIGN, *template, tmp_path)
    assert res.failures == [], res.failures
    assert res.rc == 0 and res.probe["health"]["attacker count"] == [True, "2"]
