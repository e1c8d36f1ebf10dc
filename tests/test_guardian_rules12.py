"""Issue 12 item 4, "No type() gadgets": a type() that cannot construct, class creation,
format reached by name, mutable defaults, protocol methods, except*, format-width bombs,
and `batos audit FILE` applying exactly the rules `define` applies."""
from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import pytest

from batos.errors import BatosError, MethodDefinitionError
from batos.guardian import audit, audit_definition, compile_method
from batos.guardian.sandbox import TypeView, guarded_type, sandbox_namespace

_spec = importlib.util.spec_from_file_location(
    "guardian_redteam_corpus12", Path(__file__).parent / "redteam" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)  # type: ignore[union-attr]


def rules(source: str) -> set[str]:
    return {f["rule"] for f in audit(source).errors}


# -- static rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("body,rule", [
    # class creation of any kind
    ("class A:\n        pass\n    return A", "G105"),
    ("return type('A', (), {})", "G202"),
    ("return type(type(1))('A', (), {})", "G202"),
    ("return type(self)()", "G202"),
    ("t = type(self.method('clone'))\n    return type(t)('x', (), {})", "G202"),
    # format reached by name
    ("return getattr(self.fmt, 'format')(self)", "G207"),
    ("return getattr(self.fmt, 'format_map')({'a': self})", "G207"),
    ("return hasattr(self.fmt, 'vformat')", "G207"),
    ("import operator\n    return operator.methodcaller('format', self)(self.fmt)", "G207"),
    ("from operator import attrgetter\n    return attrgetter('x.format')(self)", "G207"),
    ("return str.format(self.fmt, self)", "G207"),
    ("f = self.fmt.format\n    return f(self)", "G207"),
    # except*
    ("try:\n        return 1\n    except* ValueError:\n        return 2", "G109"),
    # protocol methods in method bodies (dunder names)
    ("def __del__(o):\n        return o\n    return __del__", "G205"),
    ("def __exit__(*a):\n        return True\n    return __exit__", "G205"),
    ("return {'__enter__': lambda: self}", "G205"),
    ("return dict(__exit__=lambda *a: True)", "G205"),
    # format-spec widths and sizes that are visible constants
    ("return f'{self.name:>{10 ** 10}}'", "G501"),
    ("return f'{self.name:>10000000000}'", "G501"),
    ("return f'{self.name:.{2 ** 40}f}'", "G501"),
    ("return format(self.x, '>10000000000')", "G501"),
    ("return format(self.x, '>' + '1' * 12)", "G501"),
    ("return format(self.x, f'>{10 ** 10}')", "G501"),
    ("return '%10000000000d' % self.x", "G501"),
    ("return '%.10000000000f' % self.x", "G501"),
    ("return '%*d' % (10 ** 10, self.x)", "G501"),
    ("return '{:>{}}'.format(self.x, 10 ** 10)", "G501"),
    ("return '{:>{w}}'.format(self.x, w=10 ** 10)", "G501"),
])
def test_static_rule(body: str, rule: str) -> None:
    source = f"def m(self):\n    {body}\n"
    assert rule in rules(source), audit(source).summary()


@pytest.mark.parametrize("default", [
    "acc=[]", "acc={}", "acc={1}", "acc=set()", "*, acc=[]", "acc=(1, [2])",
    "acc=[x for x in 'ab']",
])
def test_mutable_defaults_are_rejected(default: str) -> None:
    assert "G104" in rules(f"def m(self, {default}):\n    return acc\n")
    nested = f"def m(self):\n    def h({default}):\n        return acc\n    return h()\n"
    assert "G104" in rules(nested)


def test_mutable_default_in_a_lambda() -> None:
    assert "G104" in rules("def m(self):\n    f = lambda x, box=[]: box\n    return f(1)\n")


@pytest.mark.parametrize("source", [
    "def m(self, x, a=None, b=(1, 2), c='s', d=-1.5, *, e=b''):\n    return x\n",
    "def m(self, x):\n    return type(x) is int or type(x) == type(self.name)\n",
    "def m(self, x):\n    return isinstance(x, (int, float))\n",
    "def m(self, x):\n    return f'{x:>10}|{x:.3f}|{x:>{12}}' + format(x, ',.2f')\n",
    "def m(self, x):\n    return '%5d %-8s' % (x, 'a') + ' order 123456789: %s' % x\n",
    "def m(self, x):\n    return '{:>{}}'.format(x, 12) + '{} {}'.format(x, 10 ** 12)\n",
    "def m(self, x):\n    return getattr(self, 'name', None) or hasattr(x, 'append')\n",
    "def m(self, x):\n    try:\n        return int(x)\n    except ValueError:\n        return 0\n",
])
def test_everyday_code_is_accepted(source: str) -> None:
    assert audit(source).accepted, audit(source).summary()


def test_new_rules_are_in_the_floor_too() -> None:
    """compile_method (used even where the audit was skipped) refuses them as well."""
    for source in ("def m(self):\n    try:\n        pass\n    except* Exception:\n        pass\n",
                   "def m(self):\n    return type(type(1))('A', (), {})\n",
                   "def m(self):\n    f = lambda box=[]: box\n    return f\n",
                   "def m(self):\n    def h(acc={}):\n        return acc\n    return h\n"):
        with pytest.raises(MethodDefinitionError):
            compile_method(source)


# -- one-argument type() answers something that cannot construct ------------------------------

class _Thing:
    name = "thing"


def test_type_answers_nameable_classes_themselves() -> None:
    assert guarded_type(1) is int and guarded_type("s") is str and guarded_type([]) is list
    import collections
    assert guarded_type(collections.deque()) is collections.deque


def test_type_of_type_is_not_the_metaclass() -> None:
    meta = guarded_type(guarded_type(1))
    assert meta is not type and isinstance(meta, TypeView)
    with pytest.raises(TypeError):
        meta("X", (), {})
    assert guarded_type(meta) is not TypeView  # a view of the view class, not the class


def test_type_view_is_inert() -> None:
    view = guarded_type(_Thing())
    assert isinstance(view, TypeView) and view.name == "_Thing"
    assert view is guarded_type(_Thing()) and view == guarded_type(_Thing())
    assert isinstance(_Thing(), view) and not isinstance(3, view)
    with pytest.raises(TypeError):
        view()
    with pytest.raises(AttributeError):
        view.name = "other"
    for attr in ("__subclasses__", "mro", "__mro__", "__bases__", "__base__", "__dict__"):
        assert not hasattr(view, attr), attr
    with pytest.raises(TypeError):
        pickle.dumps(view)
    with pytest.raises(TypeError):
        guarded_type("A", (), {})


def _unchecked(source: str, *args: Any) -> Any:
    """Run straight in the sandbox namespace, skipping audit and compile floor."""
    ns = sandbox_namespace()
    exec(compile(source, "<unchecked>", "exec"), ns)  # noqa: S102
    return ns["escape"](_Thing(), *args)


@pytest.mark.parametrize("body", [
    "return type(type(1))('X', (), {})",
    "return type(self)()",
    "t = type\n    return t('X', (), {})",
    "return getattr(fmt, 'format')(self)",
    "return getattr(fmt, 'format_map')({})",
    "return hasattr(fmt, 'vformat')",
    "import operator\n    return operator.methodcaller('format', self)(fmt)",
    "import operator\n    return operator.attrgetter('format')(fmt)(self)",
    "import operator\n    return operator.attrgetter('upper.format')(fmt)",
    "import functools\n    return functools.reduce(getattr, ['format'], fmt)(self)",
    "return type(self).mro()",
    "return getattr(type(self), 'mro')()",
])
def test_run_time_layer_refuses_gadgets(body: str) -> None:
    with pytest.raises((TypeError, AttributeError)):
        _unchecked(f"def escape(self, fmt='{{0.name}}'):\n    {body}\n")


def test_sandbox_print_goes_to_the_transcript_escaped() -> None:
    from batos.lang.transcript import capture_transcript
    out: list[str] = []
    with capture_transcript(out.append):
        _unchecked("def escape(self):\n    print('a\\x1b]0;title\\x07', 1, sep='|')\n")
    assert "".join(out) == "a\\x1b]0;title\\x07|1\n"
    with pytest.raises(TypeError):
        _unchecked("def escape(self):\n    print('x', file=self)\n")


# -- `batos audit FILE` applies exactly what define applies -------------------------------------

def _define_accepts(source: str) -> bool:
    import ast
    import textwrap

    from batos.image.method import Method
    try:
        name = next(n.name for n in ast.parse(textwrap.dedent(source)).body
                    if isinstance(n, ast.FunctionDef))
    except (SyntaxError, StopIteration):
        return False
    try:
        Method.create(name, source)
    except BatosError:
        return False
    return True


def test_audit_definition_matches_define_on_the_whole_corpus() -> None:
    samples = corpus.load("malicious") + corpus.load("benign")
    mismatches = [name for name, _, src in samples
                  if audit_definition(src).accepted != _define_accepts(src)]
    assert mismatches == []


def test_audit_definition_dedents_like_define() -> None:
    indented = "    def m(self):\n        return 1\n"
    assert audit_definition(indented).accepted and _define_accepts(indented)
    assert not audit(indented).accepted  # the raw text does not even parse


def test_audit_cli_uses_the_definition_rules(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from batos.cli.main import app
    ok = tmp_path / "ok.py"
    ok.write_text("    def m(self, x=None):\n        return x\n")
    bad = tmp_path / "bad.py"
    bad.write_text("def m(self, acc=[]):\n    return type(type(1))('X', (), {})\n")
    runner = CliRunner()
    assert runner.invoke(app, ["audit", str(ok)]).exit_code == 0
    result = runner.invoke(app, ["audit", "--json", str(bad)])
    assert result.exit_code == 1
    assert {"G104", "G202"} <= {f["rule"] for f in __import__("json").loads(
        result.stdout)[0]["findings"]}


def test_issue12_corpus_samples_present() -> None:
    names = {n for n, _, _ in corpus.load("malicious")}
    assert sum(n.startswith("issue12_") for n in names) >= 15
