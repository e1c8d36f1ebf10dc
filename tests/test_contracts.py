"""Examples as contracts (teach:examples:, verify) and corrections (:fix, :edit)."""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import batos
from batos.errors import GenerationFailed
from batos.lang.contracts import contracts_of, parse_examples, set_contract, verify
from batos.llm import FakeBackend
from batos.mind import genlog
from batos.mind.dnu import use_backend
from batos.repl.session import ReplSession
from tests.objects import make_counter as _counter


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run(image, text):
    return image.execute(lambda: image.evaluate(text), note=text[:80])


def _verify(image, obj=None):
    return image.execute(lambda: verify(image, obj), note="verify", save=False)


def _contract(image, obj, selector, examples):
    """Store a contract without checking it (as an older, stricter teach: left it)."""
    image.execute(lambda: set_contract(image, obj, selector,
                                       parse_examples(selector, image.evaluate(examples))),
                  note="contract")


DOUBLE = "counter teach: #double: examples: {3 -> 6. 5 -> 10}"


def test_teach_generates_against_examples_wrong_then_right(image):
    counter = _counter(image)
    fake = FakeBackend(["    return number + 1\n```", "    return number * 2\n```"])
    with use_backend(fake):
        assert run(image, DOUBLE) is counter
    assert counter.send("double:", 7) == 14
    assert len(fake.prompts) == 2
    # the examples are in the brief; the failing one is fed back to the retry
    assert "#double: 3 → 6" in fake.prompts[0] and "#double: 5 → 10" in fake.prompts[0]
    assert "does not satisfy the example #double: 3 → 6" in fake.prompts[1]
    assert "answered 4" in fake.prompts[1]
    verdicts = [r.verdict for _, r in genlog.entries(image)][::-1]
    assert verdicts == ["error", "installed"]
    # teaching does not send the message: count is untouched
    assert counter.count == 3


def test_teach_verify_round_trip_across_restart(tmp_path):
    path = tmp_path / "c.fs"
    with batos.open_image(path) as im:
        _counter(im)
        with use_backend(FakeBackend(["    return number * 2\n```"])):
            run(im, DOUBLE)
    with batos.open_image(path) as im:
        counter = im.globals["counter"]
        contract = contracts_of(im, counter)["double:"]
        assert [(list(e.args), e.expected) for e in contract.examples] == [([3], 6), ([5], 10)]
        report = _verify(im)
        assert report.ok and report.count("passed") == 2
        # teaching an existing selector that passes generates nothing
        with use_backend(FakeBackend([])):
            run(im, DOUBLE)
        # a hand-written version that breaks it is installed, with a warning; the
        # contract stays with the selector
        out = io.StringIO()
        from batos.lang.transcript import capture_transcript
        with capture_transcript(out.write):
            run(im, "counter >> double: n [ ^n * 3 ]")
        assert counter.send("double:", 2) == 6
        assert "breaks its contract" in out.getvalue()
        report = _verify(im)
        assert not report.ok and report.count("failed") == 2
        assert "answered 9" in report.failures()[0].detail
    with batos.open_image(path) as im:
        assert "double:" in contracts_of(im, im.globals["counter"])


def test_teach_an_existing_failing_method_regenerates_it(image):
    counter = _counter(image)
    run(image, "counter >> double: n [ ^n + n + 1 ]")
    fake = FakeBackend(["    return number * 2\n```"])
    with use_backend(fake):
        run(image, DOUBLE)
    assert counter.send("double:", 4) == 8
    assert "earlier version was rejected as wrong" in fake.prompts[0] and "n + n + 1" in fake.prompts[0]


def test_a_contract_failure_rolls_back(image):
    counter = _counter(image)
    fake = FakeBackend(["    return number\n```"] * 5)
    with use_backend(fake), pytest.raises(GenerationFailed):
        run(image, DOUBLE)
    image.abort()
    assert not counter.responds_to("double:")
    assert contracts_of(image, counter) == {}
    # examples that change state are checked in savepoints and rolled back
    run(image, "counter >> bump [ count := count + 1. ^count ]")
    run(image, "counter teach: #bump examples: {#() -> {4. {#count -> 4}}}")
    assert counter.count == 3
    report = _verify(image)
    assert report.ok and counter.count == 3
    _contract(image, counter, "bump", "{#() -> {4. {#count -> 5}}}")
    report = _verify(image)
    assert report.count("failed") == 1 and "slot count = 4" in report.failures()[0].detail
    assert counter.count == 3


def test_keyword_selector_with_several_arguments_and_unary(image):
    counter = _counter(image)
    fake = FakeBackend(["    return number1 + number2 + self.count\n```",
                        "    return self.count * 2\n```"])
    with use_backend(fake):
        run(image, "counter teach: #add:to: examples: {#(1 2) -> 6. #(0 0) -> 3}")
        run(image, "counter teach: #twice examples: {#() -> 6}")
    assert counter.send("add:to:", 2, 2) == 7 and counter.send("twice") == 6
    assert _verify(image, counter).count("passed") == 3


def test_an_example_that_raises_is_reported_not_crashed_on(image):
    counter = _counter(image)
    run(image, "counter >> inverse: n [ ^1 / n ]")
    run(image, "counter teach: #inverse: examples: {2 -> (1/2)}")
    _contract(image, counter, "inverse:", "{0 -> 0. 2 -> (1/2)}")
    report = _verify(image)
    assert [o.verdict for o in report.outcomes] == ["erred", "passed"]
    assert "ZeroDivide" in report.outcomes[0].detail or "zero" in report.outcomes[0].detail


def test_examples_run_as_sends_under_the_guardian(image):
    counter = _counter(image)
    other = image.globals["genesis"].clone()
    image.globals["other"] = other
    other.set_slot("count", 1)
    counter.define("poke:", "def poke_(self, target):\n    target.count = 9\n    return self\n")
    image.commit("poke")
    run(image, "counter teach: #poke: examples: {other -> #self}")
    report = _verify(image)
    assert report.outcomes[0].verdict == "erred"
    assert "guardian" in report.outcomes[0].detail
    assert other.count == 1


def test_malformed_examples_are_refused(image):
    _counter(image)
    from batos.errors import BatosError
    with pytest.raises(BatosError, match="takes 2 arguments"):
        run(image, "counter teach: #add:to: examples: {1 -> 2}")


# --- the REPL: :verify, :fix, :edit, :source ---------------------------------------------

def make(image):
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None, force_terminal=False)
    return ReplSession(image, console, interactive=False), out


def test_repl_verify_and_source_show_contracts(image):
    counter = _counter(image)
    session, out = make(image)
    assert session.handle(":verify")
    assert "no contracts" in out.getvalue()
    assert session.handle("counter >> double: n [ ^n * 2 ]")
    assert session.handle(DOUBLE)
    assert session.handle(":verify")
    assert "2 passed, 0 failed, 0 erred" in out.getvalue()
    assert session.handle(":source counter double:")
    assert "contract #double: (user):" in out.getvalue()
    assert session.handle("counter >> double: n [ ^n ]")
    assert not session.handle(":verify counter")
    assert "failed" in out.getvalue() and "answered 3" in out.getvalue()
    assert counter.count == 3


def test_repl_fix_regenerates_with_the_hint_and_logs_both(image):
    counter = _counter(image)
    session, out = make(image)
    with use_backend(FakeBackend(["    return self.count + number\n```"])):
        assert session.handle("counter scaled: 2")
    assert counter.send("scaled:", 2) == 5
    fake = FakeBackend(["    return self.count * value\n```"])
    with use_backend(fake):
        assert session.handle(":fix scaled: multiply, do not add")
    assert fake.prompts[0].endswith("def scaled_(self, value):\n")
    assert counter.send("scaled:", 2) == 6
    prompt = fake.prompts[0]
    assert "What the user meant: multiply, do not add" in prompt
    assert "self.count + number" in prompt  # the rejected source, shown as wrong
    newest = [r for _, r in genlog.entries(image, 2)][::-1]
    assert [r.verdict for r in newest] == ["rejected", "installed"]
    assert "self.count + number" in newest[0].code and "self.count * value" in newest[1].code


def test_repl_fix_uses_the_contract_examples(image):
    counter = _counter(image)
    session, _ = make(image)
    assert session.handle("counter >> double: n [ ^n * 2 ]")
    assert session.handle(DOUBLE)
    fake = FakeBackend(["    return number + number + 0\n```"])
    with use_backend(fake):
        assert session.handle(":fix counter double: use addition")
    assert "#double: 5 → 10" in fake.prompts[0]
    assert counter.send("double:", 4) == 8


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.sh"
    script.write_text("#!/bin/sh\ncat > \"$1\" <<'EOF'\n" + body + "EOF\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_repl_edit_rewrites_audits_and_logs(image, tmp_path, monkeypatch):
    counter = _counter(image)
    session, out = make(image)
    assert session.handle("counter >> double: n [ ^n * 2 ]")
    assert session.handle(DOUBLE)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", _editor(tmp_path, "def double_(self, n):\n    return n * 3\n"))
    assert session.handle(":edit double:")
    assert counter.send("double:", 2) == 6
    assert "breaks its contract" in out.getvalue()
    newest = [r for _, r in genlog.entries(image, 2)][::-1]
    assert [r.verdict for r in newest] == ["rejected", "installed"]
    assert "n * 3" in newest[1].code
    # a source the guardian rejects changes nothing
    monkeypatch.setenv("EDITOR", _editor(
        tmp_path, "def double_(self, n):\n    import os\n    return os.getpid()\n"))
    assert not session.handle(":edit counter double:")
    assert counter.send("double:", 2) == 6


# --- batos verify ------------------------------------------------------------------------

def test_cli_verify_exit_codes(tmp_path):
    from batos.cli.main import app
    path = tmp_path / "v.fs"
    with batos.open_image(path) as im:
        _counter(im)
        run(im, "counter >> double: n [ ^n * 2 ]")
        run(im, DOUBLE)
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "-i", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "2 passed" in ok.output
    with batos.open_image(path) as im:
        run(im, "counter >> double: n [ ^n ]")
    bad = runner.invoke(app, ["verify", "counter", "-i", str(path)])
    assert bad.exit_code == 1 and "failed" in bad.output


def test_inspect_shows_contracts_and_verify_contracts_answers(tmp_path):
    from batos.cli.main import app
    from batos.render.inspector import inspect_data
    path = tmp_path / "i.fs"
    with batos.open_image(path) as im:
        counter = _counter(im)
        run(im, "counter >> double: n [ ^n * 2 ]")
        run(im, DOUBLE)
        run(im, "counter >> bump [ count := count + 1 ]")
        run(im, "counter teach: #bump examples: {#() -> {#self. {#count -> 4}}}")
        data = im.execute(lambda: inspect_data(counter), note="i", save=False)
        assert "  #double: 3 → 6" in data["contracts"]
        assert "  #bump → the receiver; then count = 4" in data["contracts"]
        assert run(im, "counter verifyContracts") is True
        assert counter.count == 3
    shown = CliRunner().invoke(app, ["inspect", "counter", "-i", str(path)])
    assert shown.exit_code == 0 and "contract #double: (user):" in shown.output


def test_a_method_may_not_teach_or_fix(image):
    _counter(image)
    run(image, "counter >> sneak [ ^self teach: #x examples: {#() -> 1} ]")
    from batos.errors import BatosError
    with pytest.raises(BatosError, match="guardian"):
        run(image, "counter sneak")
    assert contracts_of(image, image.globals["counter"]) == {}


def test_a_miss_on_a_taught_selector_is_generated_against_its_contract(image):
    counter = _counter(image)
    run(image, "counter >> double: n [ ^n * 2 ]")
    run(image, DOUBLE)
    image.execute(lambda: counter.remove_slot("double_"), note="rm")
    fake = FakeBackend(["    return number * 3\n```", "    return number + number\n```"])
    with use_backend(fake):
        assert run(image, "counter double: 21") == 42
    assert "#double: 5 → 10" in fake.prompts[0] and "answered 9" in fake.prompts[1]
