"""Golden renders of audit reports on a fixed-width, colourless console."""
from __future__ import annotations

from rich.console import Console

from batos.guardian import audit

SOURCE = ('def total(self, xs):\n    """Sum the items."""\n    n = 0\n    for x in xs:\n'
          '        n += x\n    self.last = n\n    return eval("n")\n')

GOLDEN_REJECTED = """\
Guardian audit: REJECTED — method #total: · guardian 1.0 · sha256 cd2b8801e8d3
┏━━━━━━┳━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ Rule ┃ Severity ┃ Where ┃ Message                                                                ┃
┡━━━━━━╇━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ G101 │ error    │   1:1 │ the def is named 'total' but the selector #total: needs 'total_'       │
│ G301 │ error    │   6:5 │ self is changed at line 6 but the method returns at line 7 without     │
│      │          │       │ self._p_changed = True                                                 │
│ G201 │ error    │  7:12 │ use of eval is forbidden                                               │
└──────┴──────────┴───────┴────────────────────────────────────────────────────────────────────────┘
❱ 1 def total(self, xs):
  2     \"\"\"Sum the items.\"\"\"
  ⋮
  5         n += x
❱ 6     self.last = n
❱ 7     return eval("n")
"""

GOLDEN_ACCEPTED = """\
Guardian audit: ACCEPTED — method #answer · guardian 1.0 · sha256 b4dc0c880e68
no findings; 30 rules checked
"""


def render(obj: object) -> str:
    console = Console(width=100, color_system=None, force_terminal=False, record=True)
    console.print(obj)
    return console.export_text()


def test_golden_rejected_report() -> None:
    assert render(audit(SOURCE, selector="total:")) == GOLDEN_REJECTED


def test_golden_accepted_report() -> None:
    out = render(audit("def answer(self):\n    return 42\n", selector="answer"))
    assert out == GOLDEN_ACCEPTED


def test_repaired_report_shows_the_warning_and_the_new_line() -> None:
    out = render(audit("def add(self, x):\n    self.items.append(x)\n", repair=True))
    assert "REPAIRED" in out and "G302" in out and "warning" in out
    assert "3     self._p_changed = True" in out


def test_syntax_error_report_renders() -> None:
    out = render(audit("def m(self):\n    return (\n"))
    assert "G001" in out and "REJECTED" in out


def test_adapter_report_has_no_source_lines(tmp_path) -> None:  # noqa: ANN001
    from batos.guardian import audit_adapter
    p = tmp_path / "junk.gguf"
    p.write_bytes(b"junk")
    out = render(audit_adapter(p))
    assert "adapter" in out and "A001" in out and "❱" not in out


class _Session:
    def __init__(self) -> None:
        self.out: list[str] = []

    def print(self, obj: object, **_: object) -> None:
        self.out.append(render(obj))


def test_rules_table_lists_rules_allow_list_and_limits() -> None:
    from batos.render.rules import rules_table
    out = render(rules_table())
    for needle in ("G001", "G301", "G501", "A007", "statistics", "5 s", "4000 frames"):
        assert needle in out
    assert "G301" not in render(rules_table("G201"))


def test_repl_commands_register_and_render() -> None:
    from batos.repl import guardian_commands as repl_commands
    assert repl_commands.register_repl_commands() is True
    s = _Session()
    repl_commands._guardian(s, "g301")
    assert "Persistence Covenant" in s.out[0]
    repl_commands._audit_source(s, "def m(self):\\n    return eval('1')")
    assert "G201" in s.out[1] and "REJECTED" in s.out[1]


def test_oversized_source_is_rejected_unread() -> None:
    r = audit("def m(self):\n    return 1\n" + "# pad\n" * 30_000)
    assert r.verdict == "rejected" and "limit is 100,000" in r.summary()
