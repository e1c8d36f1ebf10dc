"""The heartbeat: stagnation → improveCognition once per window, human methods untouched,
the CPU budget, SIGTERM, waiting for a held image, the REPL's idle beats."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from rich.console import Console
from typer.testing import CliRunner

import batos
from batos.errors import BatosError
from batos.lang.contracts import contracts_of, parse_examples, set_contract
from batos.llm import FakeBackend
from batos.mind import ether, heartbeat, improve
from batos.mind.dnu import use_backend
from batos.mind.trace import list_traces
from tests.objects import make_counter as _counter


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def _contract(image, obj, selector, examples):
    image.execute(lambda: set_contract(image, obj, selector,
                                       parse_examples(selector, image.evaluate(examples))),
                  note="contract")


def test_stagnation_triggers_improve_cognition_once_per_window(image):
    records = [heartbeat.beat(image, now=1000.0 + i) for i in range(7)]
    assert all(r["stagnant"] for r in records)             # an idle image: CEM 0
    assert [r["improved"] for r in records] == [True, False, False, True, False, False, True]
    cycles = [t for t in list_traces(image, 50) if t.kind == "improveCognition"]
    assert len(cycles) == 3 and all(t.verdict == "complete" for t in cycles)
    notes = [h["note"] for h in image.history(30)]
    assert sum(n.startswith("heartbeat: improveCognition") for n in notes) == 3
    assert sum(n.startswith("heartbeat: beat ") for n in notes) == 7
    assert [b["n"] for b in heartbeat.beats(image)] == list(range(1, 8))


def test_flat_cem_is_stagnant_and_a_moving_one_is_not():
    flat = [{"cem": 0.5}, {"cem": 0.505}]
    assert "flat" in heartbeat.stagnant(flat, 0.5)
    assert heartbeat.stagnant([{"cem": 0.3}, {"cem": 0.5}], 0.7) == ""
    assert "below" in heartbeat.stagnant([], 0.1)


def test_beats_are_bounded(image, monkeypatch):
    monkeypatch.setattr(heartbeat, "MAX_BEATS", 4)
    for i in range(6):
        heartbeat.beat(image, now=float(i), improve=False)
    assert [b["n"] for b in heartbeat.beats(image)] == [3, 4, 5, 6]


def test_a_beat_never_touches_a_human_method(image):
    counter = _counter(image)
    human = "def triple_(self, number):\n    return number * 4\n"
    image.execute(lambda: counter.define("triple:", human), note="define")
    _contract(image, counter, "triple:", "{2 -> 6}")
    fake = FakeBackend(["    return number * 3\n```"], repeat_last=True)
    with use_backend(fake):
        for i in range(9):
            heartbeat.beat(image, now=2000.0 + i)
    assert counter.lookup("triple_")[1].source == human       # still the human's, still wrong
    assert fake.prompts == []                                 # never asked the model about it
    assert improve.failing_generated(image) == []
    assert improve.contract_rates(image) == (0, 1)
    assert [(p.kind, p.topic, p.persona) for p in ether.trails(image, now=2010.0)] == [
        ("broken", "triple", "")]
    contract = contracts_of(image, counter)["triple:"]
    with pytest.raises(BatosError, match="written by a human"):
        improve.regenerate_failing(image, counter, contract, counter.lookup("triple_")[1])


def test_a_failing_generated_method_is_regenerated_and_undoable(image):
    counter = _counter(image)
    with use_backend(FakeBackend(["    return number + 1\n```"], repeat_last=True)):
        image.execute(lambda: image.evaluate("counter double: 3"), note="miss")
    _contract(image, counter, "double:", "{3 -> 6}")
    with use_backend(FakeBackend(["    return number * 2\n```"], repeat_last=True)):
        done = [heartbeat.beat(image, now=3000.0 + i) for i in range(7)]
    works = [d["work"].split(":")[0] for d in done if d["improved"]]
    assert works[:2] == ["reverify", "regenerate"]
    assert counter.double_(5) == 10
    assert improve.contract_rates(image) == (1, 1)
    from batos.mind import genlog
    verdicts = [(r.persona, r.verdict) for _, r in genlog.entries(image, 3)]
    assert ("heartbeat", "rejected") in verdicts             # the old source is in the log
    regen = next(h for h in image.history(40) if "improveCognition: regenerate" in h["note"])
    image.undo(regen["id"])
    image.abort()
    assert counter.double_(3) == 4                            # back to the old version


# --- the runner: budget, SIGTERM, a held image ----------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.cpu = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Scripted(heartbeat.Heartbeat):
    """A runner whose beats cost ``cost`` CPU seconds on the fake clock."""

    def __init__(self, clock: FakeClock, cost: float, **kw):
        super().__init__(lambda: None, clock=lambda: clock.now, cpu=lambda: clock.cpu,
                         sleep=clock.sleep, **kw)
        self.fake, self.cost, self.starts = clock, cost, []

    def one_beat(self):
        self.starts.append(self.fake.now)
        self.fake.cpu += self.cost
        self.fake.now += 1.0
        return {"n": len(self.starts), "cem": 0.0}


def test_the_cpu_budget_is_respected():
    clock = FakeClock()
    runner = Scripted(clock, cost=30.0, every=10.0, budget=1.0, max_beats=8)  # 60 s per hour
    runner.run()
    starts = runner.starts
    assert len(starts) == 8
    for t in starts:  # in every hour-long window, at most the budget was spent
        spent = sum(runner.cost for s in starts if t - 3600.0 < s <= t)
        assert spent <= 60.0
    cheap = Scripted(FakeClock(), cost=0.01, every=10.0, budget=1.0, max_beats=5)
    cheap.run()
    assert [round(b - a) for a, b in zip(cheap.starts, cheap.starts[1:])] == [10, 10, 10, 10]


def test_sigterm_stops_between_beats():
    clock = FakeClock()
    before = signal.getsignal(signal.SIGTERM)

    class Term(Scripted):
        def one_beat(self):
            record = super().one_beat()
            if len(self.starts) == 2:
                os.kill(os.getpid(), signal.SIGTERM)   # arrives inside the beat
            return record

    runner = Term(clock, cost=0.0, every=5.0)
    records = runner.run()
    assert len(records) == 2 and runner.stopped_by == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_waits_while_another_process_holds_the_image(image_path):
    holder = batos.open_image(image_path)
    said: list[str] = []
    clock = FakeClock()

    def opener():
        return batos.open_image(image_path)

    def sleep(seconds):
        clock.sleep(seconds)
        if not holder.closed:
            holder.close()                 # the other process lets go

    runner = heartbeat.Heartbeat(opener, once=True, every=7.0, clock=lambda: clock.now,
                                 sleep=sleep, say=said.append)
    try:
        records = runner.run()
    finally:
        holder.close()
    assert any("waiting" in s for s in said) and clock.sleeps == [7.0]
    assert len(records) == 1 and records[0]["n"] == 1


def test_cli_heartbeat_stops_on_sigterm(tmp_path):
    path = tmp_path / "hb.fs"
    batos.open_image(path).close()
    env = {**os.environ, "BATOS_LLM": "off", "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "batos.cli.main", "heartbeat", str(path),
                             "--every", "0.2"], stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:                      # wait for the first beat
        lines.append(line)
        if "beat 1" in line:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert "stopped by SIGTERM" in rest
    with batos.open_image(path, read_only=True) as im:
        assert heartbeat.beats(im)                # its beats were committed whole


def test_cli_mind_status_and_ether(tmp_path):
    from batos.cli.main import app
    path = tmp_path / "m.fs"
    with batos.open_image(path) as im:
        heartbeat.beat(im, improve=False)
        im.execute(lambda: ether.deposit(im, "failure", "sortBy:", "BRICK"), note="x")
    runner = CliRunner()
    res = runner.invoke(app, ["mind", "status", "-i", str(path), "--json"])
    assert res.exit_code == 0, res.output
    import json
    data = json.loads(res.output)
    assert set(data["parts"]) == {"cog", "sol", "struc", "rel"} and len(data["beats"]) == 1
    res = runner.invoke(app, ["mind", "status", "-i", str(path)])
    assert res.exit_code == 0 and "H_cog cognitive" in res.output and "CEM" in res.output
    res = runner.invoke(app, ["mind", "ether", "-i", str(path)])
    assert res.exit_code == 0 and "sort" in res.output and "BRICK" in res.output
    res = runner.invoke(app, ["heartbeat", str(tmp_path / "missing.fs"), "--once"])
    assert res.exit_code == 3 and not (tmp_path / "missing.fs").exists()


# --- the REPL's idle beats ---------------------------------------------------------------------

class FakeSession:
    def __init__(self, image=None):
        self.image = image
        self.handled: list[str] = []

    def handle(self, text):
        self.handled.append(text)
        return True


def test_repl_idle_beats_wait_for_idleness_on_a_simulated_clock():
    from batos.repl.heartbeat_commands import IdleHeartbeat
    clock = FakeClock()
    beats = []
    idle = IdleHeartbeat(FakeSession(), idle_after=30.0, every=60.0, clock=lambda: clock.now,
                         beat=lambda hb: beats.append(clock.now) or {"cem": 0.0}).attach()
    assert not idle.poll()                      # just started: not idle yet
    clock.now = 29.0
    assert not idle.poll()
    clock.now = 31.0
    assert idle.poll() and beats == [31.0]
    clock.now = 80.0
    idle.session.handle("3 + 4")                # a statement at 80: idle again at 110
    clock.now = 95.0
    assert not idle.poll()                      # a beat is due (31 + 60) but 15 s idle only
    clock.now = 109.0
    assert not idle.poll()
    clock.now = 111.0
    assert idle.poll() and beats == [31.0, 111.0]
    clock.now = 150.0
    assert not idle.poll()                      # idle, but the next is due at 171
    assert idle.session.handled == ["3 + 4"]


def test_a_statement_never_waits_for_a_running_beat():
    from batos.repl.heartbeat_commands import IdleHeartbeat
    clock = FakeClock()
    entered, release = threading.Event(), threading.Event()

    def slow_beat(hb):
        entered.set()
        release.wait(60)                        # a long beat
        return {"cem": 0.0}

    session = FakeSession()
    idle = IdleHeartbeat(session, idle_after=0.0, clock=lambda: clock.now, beat=slow_beat).attach()
    worker = threading.Thread(target=idle.poll)
    worker.start()
    assert entered.wait(60)
    assert session.handle("counter increment") is True   # ran while the beat still runs
    assert session.handled == ["counter increment"] and worker.is_alive()
    assert not idle.should_beat()                         # and no second beat starts
    release.set()
    worker.join()
    idle.detach()
    assert session.handle == FakeSession.handle.__get__(session)


def test_repl_heartbeat_command_on_a_real_session(image):
    from batos.repl.heartbeat_commands import repl_heartbeat
    from batos.repl.session import ReplSession
    out = io.StringIO()
    session = ReplSession(image, Console(file=out, width=100, color_system=None))
    assert repl_heartbeat(session, "status") is None and "heartbeat off" in out.getvalue()
    assert repl_heartbeat(session, "on") is None and "heartbeat on" in out.getvalue()
    idle = session._batos_idle_heartbeat
    idle.idle_after = 0.0                       # beat now, in the background thread
    for _ in range(600):
        if idle.records or idle.errors:
            break
        time.sleep(0.05)
    assert idle.errors == [] and idle.records[0]["n"] == 1
    assert repl_heartbeat(session, "status") is None and "1 beat(s)" in out.getvalue()
    assert repl_heartbeat(session, "off") is None and not idle.running
    assert repl_heartbeat(session, "sideways") is False
    image.abort()                                # the REPL's connection sees the beat
    assert [b["n"] for b in heartbeat.beats(image)] == [1]
    assert image.evaluate("3 + 4") == 7
    sibling = image.sibling()
    sibling.close()


def test_genesis_improve_cognition_primitive(image, monkeypatch):
    from batos.image import method
    monkeypatch.setattr(method, "PRIMITIVE_MODULES",
                        method.PRIMITIVE_MODULES | {"batos.mind.improve"})
    image.execute(lambda: improve.awaken_improve(image), note="awaken")
    counter = _counter(image)
    image.execute(lambda: counter.define("triple:", "def triple_(self, n):\n    return n * 3\n"),
                  note="define")
    _contract(image, counter, "triple:", "{2 -> 6}")
    said = image.execute(lambda: image.evaluate("genesis improveCognition"), note="improve")
    assert said == "reverified: 1 passed, 0 failed"
    assert image.execute(lambda: image.evaluate("genesis improveCognition"),
                         note="again") == "nothing to do"


def test_examples_are_proposed_for_a_generated_method_without_any(image):
    counter = _counter(image)
    image.options["cove"] = False
    with use_backend(FakeBackend(["    return self.count * 2\n```"])):
        assert image.execute(lambda: image.evaluate("counter doubled"), note="miss") == 6
    image.options["cove"] = True
    source = counter.lookup("doubled")[1].source

    fake = FakeBackend([], proposals=["7\n```", "6\n```"])   # only proposals are asked for
    with use_backend(fake):
        first = improve.improve_cognition(image)       # a wrong guess: nothing is kept
        assert first["work"] == "propose" and first["examples"] == 0
        assert first["disagreed"] == ["#doubled → 7"]
        assert "doubled" not in contracts_of(image, counter)
        done = improve.improve_cognition(image)
    assert done["work"] == "propose" and done["examples"] == 1
    contract = contracts_of(image, counter)["doubled"]
    assert contract.origin == "proposed" and len(contract.examples) == 1
    assert counter.lookup("doubled")[1].source == source    # the method is left as it is
    assert [c["purpose"] for c in fake.calls] == ["examples", "examples"]
    assert fake.prompts == []                               # no method was written
