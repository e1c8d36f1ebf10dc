"""Red-team corpus: every malicious method rejected, >= 95% of benign ones accepted,
and compiled code cannot escape at run time even where the static audit is bypassed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from batos.errors import MethodDefinitionError
from batos.guardian import audit, compile_method

_spec = importlib.util.spec_from_file_location(
    "guardian_redteam_corpus", Path(__file__).parent / "redteam" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)  # type: ignore[union-attr]

MALICIOUS = corpus.load("malicious")
BENIGN = corpus.load("benign")


def test_corpus_sizes() -> None:
    assert len(MALICIOUS) >= 80
    assert len(BENIGN) >= 50
    assert len({n for n, _, _ in MALICIOUS}) == len(MALICIOUS)
    assert len({n for n, _, _ in BENIGN}) == len(BENIGN)


def test_rates_all_malicious_rejected_and_benign_accepted() -> None:
    missed = [n for n, _, src in MALICIOUS if audit(src).accepted]
    false_pos = [(n, audit(src).summary()) for n, _, src in BENIGN if not audit(src).accepted]
    benign_rate = 1 - len(false_pos) / len(BENIGN)
    print(f"\nmalicious rejected: {len(MALICIOUS) - len(missed)}/{len(MALICIOUS)}; "
          f"benign accepted: {len(BENIGN) - len(false_pos)}/{len(BENIGN)} "
          f"({benign_rate:.1%}); false positives: {false_pos}")
    assert missed == []
    assert benign_rate >= 0.95


@pytest.mark.parametrize("name,what,source", MALICIOUS, ids=[m[0] for m in MALICIOUS])
def test_malicious_rejected_with_a_located_finding(name: str, what: str, source: str) -> None:
    report = audit(source)
    assert report.verdict == "rejected", what
    assert report.errors and all(f["rule"][0] == "G" for f in report.errors)
    assert any(f["line"] >= 1 for f in report.errors)


@pytest.mark.parametrize("name,what,source", BENIGN, ids=[b[0] for b in BENIGN])
def test_benign_compiles_in_the_sandbox(name: str, what: str, source: str) -> None:
    report = audit(source)
    if report.accepted:
        fn = compile_method(source)
        assert callable(fn)


# -- defence in depth: code that skipped the audit still cannot escape ------------------

def _run(source: str, *args: object) -> object:
    """Compile straight into the sandbox namespace, skipping audit *and* compile floor,
    to show the run-time layers (builtins, proxies, guarded import) on their own."""
    from batos.guardian.sandbox import sandbox_namespace
    ns = sandbox_namespace()
    exec(compile(source, "<unchecked>", "exec"), ns)  # noqa: S102
    return ns["escape"](_Obj(), *args)


class _Obj:
    name = "obj"


@pytest.mark.parametrize("body", [
    "return ().__class__.__bases__[0].__subclasses__()",
    "return self.helper.__globals__",
    "return (x for x in []).gi_frame",
    "return self._p_jar",
    "return __builtins__",
    "return eval",
    "return '{0.__class__}'.format(self)",
    "class X:\n        pass",
    "match self:\n        case list(gi_frame=f):\n            return f",
])
def test_compile_floor_holds_without_the_audit(body: str) -> None:
    with pytest.raises(MethodDefinitionError):
        compile_method(f"def escape(self):\n    {body}\n")


@pytest.mark.parametrize("body,error", [
    ("return open('/etc/passwd').read()", NameError),
    ("return __import__('os')", ImportError),
    ("import os\n    return os", ImportError),
    ("import subprocess\n    return subprocess", ImportError),
    ("from os import system\n    return system", ImportError),
    ("return eval('1')", NameError),
    ("return exec('1')", NameError),
    ("return compile('1', 'x', 'eval')", NameError),
    ("return globals()", NameError),
    ("return breakpoint()", NameError),
    ("return object", NameError),
    ("return vars(self)", NameError),
    ("import statistics\n    return statistics.sys", AttributeError),
    ("import re\n    return re.enum", AttributeError),
    ("import json\n    return json.codecs", AttributeError),
    ("from statistics import sys\n    return sys", ImportError),
    ("import json\n    json.dumps = len", AttributeError),
    ("import json\n    setattr(json, 'dumps', len)", AttributeError),
    ("return getattr(self, '__class__')", AttributeError),
    ("return getattr(self, '_p_jar')", AttributeError),
    ("return getattr((x for x in []), 'gi_frame')", AttributeError),
    ("setattr(self, '__class__', int)", AttributeError),
    ("return type('X', (), {})", TypeError),
    ("import collections\n    return collections.namedtuple", AttributeError),
    ("import operator\n    return operator.attrgetter('__class__')(self)", AttributeError),
    ("import operator\n    return operator.methodcaller('__reduce__')(self)", AttributeError),
    ("import decimal\n    return decimal.getcontext", AttributeError),
    ("import string\n    return string.Formatter", AttributeError),
    ("class X:\n        pass\n    return X", NameError),
])
def test_runtime_defences_without_the_audit(body: str, error: type) -> None:
    source = f"def escape(self):\n    {body}\n"
    with pytest.raises(error):
        _run(source)


def test_module_proxies_are_shared_and_read_only() -> None:
    fn = compile_method("def m(self):\n    import json\n    return json\n")
    proxy = fn(None)
    assert fn(None) is proxy
    with pytest.raises(AttributeError):
        proxy.dumps = len
    with pytest.raises(AttributeError):
        del proxy.dumps
    assert proxy.dumps({"a": 1}) == '{"a": 1}'
    assert "json" in repr(proxy)


def test_method_builtins_are_a_private_copy() -> None:
    a = compile_method("def m(self):\n    return len\n")
    b = compile_method("def m(self):\n    return len\n")
    assert a.__globals__["__builtins__"] is not b.__globals__["__builtins__"]
    a.__globals__["__builtins__"]["len"] = None
    assert b(None) is len
