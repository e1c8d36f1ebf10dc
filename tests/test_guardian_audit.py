"""Static audit: report shape, each rule family, the covenant's flow analysis, repair."""
from __future__ import annotations

import hashlib
import json
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from batos.guardian import GUARDIAN_VERSION, AuditReport, audit
from batos.guardian.rules import RULES


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def rules_of(report: AuditReport) -> set[str]:
    return {f["rule"] for f in report.findings}


# -- the report --------------------------------------------------------------------------

def test_accepted_report_fields() -> None:
    s = "def answer(self):\n    return 42\n"
    r = audit(s, selector="answer")
    assert r.verdict == "accepted" and r.accepted
    assert r.findings == []
    assert r.source == s
    assert r.source_hash == hashlib.sha256(s.encode()).hexdigest()
    assert r.guardian_version == GUARDIAN_VERSION
    assert set(r.rules_checked) == set(RULES)
    assert r.created > 0
    assert r.summary().startswith("accepted: no findings")
    data = r.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["verdict"] == "accepted" and data["selector"] == "answer"


def test_rejected_summary_names_rule_line_and_message() -> None:
    r = audit("def m(self):\n    x = 1\n    return eval('x')\n")
    assert not r.accepted
    assert r.summary() == "rejected: G201 line 3: use of eval is forbidden"
    f = r.findings[0]
    assert (f["rule"], f["severity"], f["line"], f["col"]) == ("G201", "error", 3, 12)


def test_report_is_persistent_plain_data() -> None:
    import pickle
    from persistent import Persistent
    r = audit("def m(self):\n    return open('x')\n")
    assert isinstance(r, Persistent)
    clone = pickle.loads(pickle.dumps(r))
    assert clone.to_json() == r.to_json()
    for f in r.findings:
        assert all(type(v) in (str, int) for v in f.values())


@pytest.mark.parametrize("bad", ["def m(self):\n  return (\n", "def m(self)\n    pass\n",
                                 "\x00", "def m(self):\n\treturn 1\n        return 2\n"])
def test_syntax_error_is_a_rejected_report_with_position(bad: str) -> None:
    r = audit(bad)
    assert r.verdict == "rejected"
    assert r.findings[0]["rule"] == "G001"


def test_syntax_error_line_and_col() -> None:
    r = audit("def m(self):\n    return 1 +\n")
    f = r.findings[0]
    assert f["rule"] == "G001" and f["line"] == 2 and f["col"] >= 1


@given(st.text(max_size=200))
@settings(max_examples=200, deadline=None)
def test_audit_never_raises(text: str) -> None:
    r = audit(text)
    assert r.verdict in ("accepted", "repaired", "rejected")


def test_non_string_source() -> None:
    assert audit(b"def m(self): pass").verdict == "rejected"  # type: ignore[arg-type]


# -- shape ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,rule", [
    ("x = 1\n", "G101"),
    ("", "G101"),
    ("def a(self):\n    pass\ndef b(self):\n    pass\n", "G101"),
    ("def m(other):\n    pass\n", "G102"),
    ("def m():\n    pass\n", "G102"),
    ("import math\ndef m(self):\n    pass\n", "G110"),
    ("class A:\n    pass\n", "G105"),
    ("def m(self, x=[1, 2][0:1]):\n    pass\n", "G104"),
    ("def m(self, *, k=print()):\n    pass\n", "G104"),
    ("def m(self) -> print():\n    pass\n", "G104"),
])
def test_shape_rules(text: str, rule: str) -> None:
    assert rule in rules_of(audit(text))


def test_docstring_before_def_and_literal_defaults_are_fine() -> None:
    r = audit('"""Module doc."""\ndef m(self, a=1, b=-2.5, c=(1, "x"), d=None, *, e=()):\n'
              '    return a\n')
    assert r.accepted, r.findings


def test_selector_must_match_def_name() -> None:
    s = "def at_put_(self, k, v):\n    return v\n"
    assert audit(s, selector="at:put:").accepted
    r = audit(s, selector="at:")
    assert "G101" in rules_of(r) and "at_" in r.summary()
    assert audit("def plus(self, o):\n    return o\n", selector="+").accepted


# -- security, reach, obfuscation ---------------------------------------------------------------

@pytest.mark.parametrize("body,rule", [
    ("return self._private", "G204"),
    ("return self.__dict__", "G205"),
    ("return 'a__init__b'", "G205"),
    ("return getattr(self, 'x' + 'y')", "G203"),
    ("return getattr(self, '_x')", "G203"),
    ("return hasattr(self, 'f_back')", "G203"),
    ("return type('A', (), {})", "G202"),
    ("return self._p_jar", "G208"),
    ("return transaction", "G208"),
    ("return '{0.gi_frame}'.format(self)", "G207"),
    ("return '{x._hidden}'.format(x=self)", "G207"),
    ("t = '{}'\n    return t.format(1)", "G207"),
    ("import math\n    math.pi = 3", "G401"),
    ("import math\n    return math.sys", "G402"),
    ("from math import sys", "G112"),
    ("import os", "G111"),
    ("return chr(101) + chr(118) + chr(97) + chr(108)", "G210"),
    ("return 10 ** 10 ** 9", "G501"),
    ("return b'x' * (2 ** 40)", "G501"),
    ("while 1:\n        self.x = 1", "G502"),
    ("try:\n        pass\n    except:\n        pass", "G108"),
    ("try:\n        return 1\n    finally:\n        return 2", "G108"),
    ("self._p_changed = 1", "G303"),
    ("return x ** 10 ** 9", "G501"),
    ("return '{:>999999999}'.format(1)", "G501"),
    ("import operator\n    f = operator.attrgetter", "G203"),
    ("from operator import methodcaller\n    return methodcaller", "G203"),
    ("match self:\n        case list(f_back=f):\n            return f", "G206"),
    ("return [1 for self.x in [1]]", "G401"),
    ("with self.lock as self.held:\n        pass", "G401"),
    ("yield 1", "G107"),
    ("global g", "G106"),
])
def test_rule_families(body: str, rule: str) -> None:
    r = audit(f"def m(self):\n    {body}\n")
    assert rule in rules_of(r), r.findings
    assert not r.accepted


def test_nfkc_identifiers_are_checked_as_python_reads_them() -> None:
    r = audit("def m(self):\n    return ｅｘｅｃ\n")
    assert {"G201", "G211"} <= rules_of(r)
    assert audit("def m(self):\n    größe = 1\n    return größe\n").accepted


def test_docstrings_may_mention_dunders() -> None:
    s = 'def m(self):\n    """Like __init__, but later."""\n    return 1\n'
    assert audit(s).accepted
    assert not audit('def m(self):\n    x = "__init__"\n    return x\n').accepted


def test_local_names_may_shadow_name_functions() -> None:
    assert audit("def m(self, getattr):\n    return getattr(1)\n").accepted


def test_break_in_loop_inside_finally_is_fine() -> None:
    s = src("""
        def m(self, xs):
            try:
                pass
            finally:
                for x in xs:
                    if x:
                        break
            return 1
    """)
    assert audit(s).accepted


def test_moderate_constants_are_not_bombs() -> None:
    s = "def m(self):\n    return 2 ** 4096 + len('ab' * 1000) + sum(range(10 ** 6))\n"
    assert audit(s).accepted


# -- the Persistence Covenant ---------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "self.count = 1",
    "self.count += 1",
    "del self.count",
    "self.items[0] = 1",
    "self.items.append(1)",
    "self.table.setdefault('k', []).append(1)",
    "self.table['k'].add(1)",
    "items = self.items\n    items.sort()",
    "for row in self.rows:\n        row['seen'] = True",
    "import heapq\n    heapq.heappush(self.heap, 1)",
    "from bisect import insort\n    insort(self.xs, 3)",
    "setattr(self, 'name', 'x')",
    "list(map(self.items.append, [1, 2]))",
    "list.append(self.items, 1)",
    "import operator\n    operator.setitem(self.table, 'k', 1)",
    "self.other.name = 'x'",
])
def test_mutation_without_flag_is_rejected(body: str) -> None:
    r = audit(f"def m(self):\n    {body}\n")
    assert "G301" in rules_of(r), r.findings
    assert r.summary().startswith("rejected: G301 line ")


@pytest.mark.parametrize("text", [
    """
    def m(self, flag):
        self.x = 1
        if flag:
            self._p_changed = True
    """,
    """
    def m(self):
        self.x = 1
        self._p_changed = True
        self.items.append(2)
        return self.x
    """,
    """
    def m(self):
        self._p_changed = True
        self.x = 1
    """,
    """
    def m(self, xs):
        for x in xs:
            if x:
                self.items.append(x)
                return x
        self._p_changed = True
    """,
    """
    def m(self):
        return self.items.pop()
    """,
    """
    def m(self, xs):
        for x in xs:
            self._p_changed = True
            self.total += x
    """,
    """
    def m(self):
        try:
            self.x = int('1')
        except ValueError:
            return 0
        self._p_changed = True
    """,
])
def test_flow_analysis_finds_unflagged_exits(text: str) -> None:
    assert "G301" in rules_of(audit(src(text)))


@pytest.mark.parametrize("text", [
    """
    def m(self, flag):
        if flag:
            self.x = 1
            self._p_changed = True
        else:
            return 0
        return 1
    """,
    """
    def m(self):
        try:
            self.x = 1
            return self.x
        finally:
            self._p_changed = True
    """,
    """
    def m(self, xs):
        for x in xs:
            self.total += x
        self._p_changed = True
    """,
    """
    def m(self):
        if not self.items:
            raise ValueError('empty')
        item = self.items.pop()
        self._p_changed = True
        return item
    """,
    """
    def m(self, xs):
        while xs:
            x = xs.pop()
            if x:
                self.seen.add(x)
                continue
        self._p_changed = True
    """,
    """
    def m(self):
        total = self.count
        total += 1
        local = list(self.items)
        local.append(total)
        return local
    """,
])
def test_flow_analysis_accepts_flagged_methods(text: str) -> None:
    r = audit(src(text))
    assert r.accepted, r.findings


# -- repair -----------------------------------------------------------------------------------------

def test_repair_appends_flag_at_the_end_and_keeps_comments() -> None:
    s = "def add(self, x):\n    # remember it\n    self.items.append(x)\n"
    r = audit(s, repair=True)
    assert r.verdict == "repaired" and r.accepted
    assert r.source == s + "    self._p_changed = True\n"
    assert r.findings[0]["rule"] == "G302" and r.findings[0]["severity"] == "warning"
    assert r.source_hash == hashlib.sha256(r.source.encode()).hexdigest()
    assert audit(r.source).accepted


def test_repair_before_returns_and_around_mutating_returns() -> None:
    s = src("""
        def m(self, flag):
            if flag:
                self.count += 1
                return self.count
            return self.items.pop()
    """)
    r = audit(s, repair=True)
    assert r.verdict == "repaired", r.findings
    assert "        self._p_changed = True\n        return self.count" in r.source
    assert "_batos_result = self.items.pop()" in r.source
    assert audit(r.source).accepted


def test_repair_falls_back_to_rewriting_one_line_bodies() -> None:
    r = audit("def m(self): self.items.append(1)\n", repair=True)
    assert r.verdict == "repaired"
    assert audit(r.source).accepted
    assert "self._p_changed = True" in r.source


def test_repair_does_not_hide_other_findings() -> None:
    r = audit("def m(self):\n    self.x = eval('1')\n", repair=True)
    assert r.verdict == "rejected"
    assert {"G201", "G301"} <= rules_of(r)


def test_repair_leaves_clean_methods_alone() -> None:
    s = "def m(self):\n    return 1\n"
    r = audit(s, repair=True)
    assert r.verdict == "accepted" and r.source == s


# -- robustness: folded constant expressions never crash or hang the audit ---------------------

_leaf = st.one_of(st.integers(-3, 12), st.sampled_from(["10", "2", "0", "-1", "1.5", "'ab'",
                                                        "b'x'", "[0]", "x", "(1,)", "''"]))
_expr = st.recursive(
    _leaf.map(str),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["**", "*", "<<", "+", "-", "%", "//"]), inner)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["pow", "chr", "bytes", "list", "sum", "range", "len"]),
                  st.lists(inner, min_size=1, max_size=2))
        .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        inner.map(lambda e: f"''.join(map(chr, [{e}]))"),
    ),
    max_leaves=8)


@given(_expr)
@settings(max_examples=300, deadline=2000)
def test_constant_folding_is_total(expr: str) -> None:
    r = audit(f"def m(self, x):\n    return {expr}\n")
    assert r.verdict in ("accepted", "rejected")


def test_corpus_prefixes_never_crash() -> None:
    from pathlib import Path
    text = (Path(__file__).parent / "redteam" / "malicious.txt").read_text(encoding="utf-8")
    lines = text.splitlines(True)
    for i in range(0, len(lines), 7):
        for j in (i + 3, i + 9):
            audit("".join(lines[i:j]))


def test_repair_inside_a_loop_inserts_each_flag_once() -> None:
    s = src("""
        def m(self, xs):
            for x in xs:
                self.items.append(x)
                if x:
                    return x
    """)
    r = audit(s, repair=True)
    assert r.verdict == "repaired"
    assert r.source.count("self._p_changed = True") == 2
    assert [f["message"].split(" (")[0] for f in r.findings] == [
        "self._p_changed = True added before the return at line 5",
        "self._p_changed = True added at the end"]
