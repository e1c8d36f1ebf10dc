"""Terminal escapes: OSC 52 (clipboard), window title, clear screen, C1 controls in
anything batos prints from the image must not reach the terminal raw."""
from __future__ import annotations

from tests.redteam.live.harness import Attack

C = "terminal"
ESC = "(Character value: 27) asString"
BEL = "(Character value: 7) asString"
OSC52 = f"{ESC} , ']52;c;cm0gLXJmIH4=' , {BEL}"
TITLE = f"{ESC} , ']0;owned' , {BEL}"
CLEAR = f"{ESC} , '[2J' , {ESC} , '[H'"


def _t(name: str, what: str, mode: str, payload: str,
       allow: tuple[str, ...] = ("root/globals/attacker*",)) -> Attack:
    return Attack(C, name, what, mode, payload, expect="harmless", no_escapes=True, allow=allow)


ATTACKS = [
    _t("repl_printstring_osc52", "a slot value holding OSC 52 echoed by the REPL",
       "repl", f"attacker setSlot: #clip value: {OSC52}\nattacker clip\n"),
    _t("repl_transcript_title", "Transcript show: a title sequence",
       "repl", f"Transcript show: {TITLE}; cr\n"),
    _t("run_transcript_clear", "Transcript show: clear-screen from a batos run script",
       "run", f"Transcript show: {CLEAR}; cr.\nTranscript show: {OSC52}; cr.\n"),
    _t("display_nl_osc52", "displayNl of a string with OSC 52",
       "run", f"({OSC52}) displayNl.\n"),
    _t("custom_printstring_method", "a method named printString answers a title sequence",
       "repl", f"attacker >> printString [ ^{TITLE} ]\nattacker\nattacker printString\n"),
    _t("python_method_chr27", "a Python method answers chr(27) sequences, displayed",
       "repl", "attacker define: #banner as: 'def banner(self):\n"
       "    e = chr(27)\n    return e + \"]52;c;aGk=\" + chr(7) + e + \"[2J\"\n'\n"
       "attacker banner\nattacker banner displayNl\n"),
    _t("error_message_selector", "an escape sequence in a selector shows up in the error message",
       "repl", f"attacker perform: ({CLEAR}) asSymbol\n"),
    _t("c1_csi", "a C1 CSI (0x9b) and OSC (0x9d) in a printString",
       "eval", "(Character value: 155) asString , '2J' , (Character value: 157) asString , '0;x'"),
    _t("inspector_slot_value", "the inspector shows a slot value carrying escapes",
       "repl", f"attacker setSlot: #t value: {TITLE}\n:inspect attacker\n"),
    _t("global_name_escape", "an escape sequence in a prototype's name",
       "repl", f"Smalltalk at: ('x' , {TITLE}) asSymbol put: genesis clone\n"
       "Smalltalk at: #z put: genesis clone\n",
       allow=("root/globals", "root/globals/x*", "root/globals/z*", "root/globals/attacker*")),
]
