"""End to end: the real ``batos repl`` in a pseudo-terminal, driven with pexpect."""
from __future__ import annotations

import os
import shutil
import time

import pytest

pexpect = pytest.importorskip("pexpect")

PROMPT = "batos> "
ESC = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"          # colour and cursor sequences


def echoed(value: str) -> str:
    """A pattern for a value echoed on its own line, whatever colours wrap it."""
    return r"\n" + ESC + value + ESC + r"\r\n"


@pytest.mark.skipif(shutil.which("batos") is None, reason="batos is not installed")
def test_type_complete_interrupt_quit(tmp_path):
    env = dict(os.environ, BATOS_LLM="off", XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1")
    env.pop("NO_COLOR", None)
    child = pexpect.spawn("batos", ["repl", str(tmp_path / "e2e.fs")], env=env,
                          encoding="utf-8", dimensions=(30, 100), timeout=20)
    try:
        child.expect_exact(PROMPT)
        child.send("3 + 4\r")
        child.expect(echoed("7"))                        # the echoed printString
        child.expect_exact(PROMPT)

        child.send("gene\t")                             # completes to genesis
        child.expect_exact("genesis")
        child.send(" description size\r")               # only works if completed
        child.expect(echoed("26"))
        child.expect_exact(PROMPT)

        child.send("[true] whileTrue: [nil]\r")
        time.sleep(1.0)                                  # let the loop run (limit: 5 s)
        child.sendintr()                                 # Ctrl-C
        child.expect_exact("interrupted; rolled back")
        child.expect_exact(PROMPT)                       # a fresh prompt

        child.send("1 + 1\r")                            # still alive
        child.expect(echoed("2"))
        child.expect_exact(PROMPT)
        child.send(":quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    history = (tmp_path / "state" / "batos" / "history").read_text()
    assert "+3 + 4" in history and "+genesis description size" in history
