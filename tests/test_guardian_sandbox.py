"""compile_method and check_storable."""
from __future__ import annotations

import collections
import datetime
import types
from decimal import Decimal
from fractions import Fraction

import pytest
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import MethodDefinitionError, StorageRejected
from batos.guardian import check_storable, compile_method, register_storable


class Counter:
    """A stand-in receiver: slots as attributes, methods via the class."""

    def __init__(self) -> None:
        self.count = 0
        self.items: list[int] = []
        self._p_changed = False

    def helper(self, n: int) -> int:
        return n * 10


def test_compiled_method_reads_and_writes_slots() -> None:
    inc = compile_method("def increment(self):\n    self.count += 1\n"
                         "    self.items.append(self.count)\n    self._p_changed = True\n"
                         "    return self.count\n")
    assert isinstance(inc, types.FunctionType) and inc.__name__ == "increment"
    c = Counter()
    assert inc(c) == 1 and inc(c) == 2
    assert c.items == [1, 2] and c._p_changed is True


def test_compiled_method_calls_helpers_and_imports_allowed_modules() -> None:
    fn = compile_method("def m(self, x):\n    import math\n    from statistics import mean\n"
                        "    return self.helper(2) + math.floor(mean([x, x + 2]))\n")
    assert fn(Counter(), 4) == 25


def test_filename_reaches_tracebacks() -> None:
    fn = compile_method("def m(self):\n    return 1 / 0\n", filename="<method boom>")
    with pytest.raises(ZeroDivisionError) as info:
        fn(None)
    assert str(info.traceback[-1].path) == "<method boom>"


@pytest.mark.parametrize("bad,needle", [
    ("def m(self):\n    return (\n", "syntax error"),
    ("x = 1\n", "only one def"),
    ("def m(self):\n    pass\ndef n(self):\n    pass\n", "second top-level def"),
    ("def m(x):\n    pass\n", "must be self"),
    ("@print\ndef m(self):\n    pass\n", "decorators"),
    ("def m(self, x=print('hi')):\n    pass\n", "default values"),
    ("import os\ndef m(self):\n    pass\n", "imports belong inside"),
])
def test_compile_method_rejects_syntax_and_shape(bad: str, needle: str) -> None:
    with pytest.raises(MethodDefinitionError) as info:
        compile_method(bad)
    assert needle in str(info.value)


def test_compile_method_does_not_run_anything_at_definition() -> None:
    with pytest.raises(MethodDefinitionError):
        compile_method("def m(self, x=__import__('os').system('false')):\n    pass\n")


def test_sandbox_builtins_cover_everyday_code() -> None:
    fn = compile_method(
        "def m(self, xs):\n"
        "    pairs = sorted(zip(xs, reversed(xs)), key=lambda p: -p[0])\n"
        "    d = dict(enumerate(map(str, filter(None, xs))))\n"
        "    return (pairs[0], d, sum(xs), min(xs), max(xs), any(xs), all(xs), len(xs),\n"
        "            set(xs) == frozenset(xs), isinstance(xs, list), round(2.5), abs(-1),\n"
        "            next(iter(xs)), format(3.14159, '.2f'), bytes(2), type(xs) is list,\n"
        "            getattr(xs, 'count')(1), hasattr(xs, 'append'))\n")
    out = fn(None, [1, 2, 3])
    assert out[0] == (3, 1) and out[2] == 6 and out[13] == "3.14" and out[15] is True


# -- storable ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    0, -1, 2 ** 80, 1.5, 2j, True, None, "text", b"bytes", Fraction(1, 3), Decimal("1.1"),
    datetime.date(2024, 1, 1), datetime.timedelta(seconds=3),
    (1, "a"), [1, [2, [3]]], {"a": {"b": [1, 2]}}, {1, 2}, frozenset({"x"}),
    PersistentList([1]), PersistentMapping({"a": 1}),
    collections.Counter("abca"), collections.OrderedDict(a=1), collections.deque([1, 2]),
    collections.defaultdict(list, {"k": [1]}),
    datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
])
def test_plain_values_are_storable(value: object) -> None:
    check_storable(value)


class Evil:
    def __reduce__(self):  # noqa: D105
        return (print, ("pwned",))


class Plain:
    pass


def gen():  # noqa: D103
    yield 1


@pytest.mark.parametrize("value,needle", [
    (Evil(), "__reduce__"),
    ([1, {"k": Evil()}], "__reduce__"),
    ({Evil(): 1} if False else {("k",): Evil()}, "Evil"),
    (print, "code, not data"),
    (lambda: 1, "function"),
    (Plain, "type"),
    (types, "module"),
    (gen(), "generator"),
    (open(__file__), "open file"),
    (Plain(), "Plain"),
    (type("S", (str,), {})("x"), "S"),
    (object(), "object"),
    (collections.defaultdict(lambda: 0), "default_factory"),
    (collections.deque([Evil()]), "__reduce__"),
    (collections.Counter({"k": Evil()}), "__reduce__"),
])
def test_code_running_values_are_rejected(value: object, needle: str) -> None:
    with pytest.raises(StorageRejected) as info:
        check_storable(value)
    assert needle in str(info.value)


def test_persistent_objects_are_not_descended() -> None:
    n = PersistentList([Evil()])  # the commit's pickler checks each persistent record
    check_storable([n])


def test_registered_classes_are_storable_and_walked() -> None:
    class Symbol:
        def __init__(self, name: object) -> None:
            self.name = name

        def __reduce__(self):  # trusted: registered by the language
            return (Symbol, (self.name,))
    register_storable(Symbol)
    check_storable([Symbol("foo")])
    with pytest.raises(StorageRejected):
        check_storable(Symbol(Evil()))


def test_cycles_and_depth_guard() -> None:
    a: list[object] = [1]
    a.append(a)
    check_storable(a)
    deep: list[object] = []
    cur = deep
    for _ in range(1000):
        nxt: list[object] = []
        cur.append(nxt)
        cur = nxt
    with pytest.raises(StorageRejected, match="nested deeper"):
        check_storable(deep)


# -- property: plain data nests freely, one bad leaf anywhere is found ------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_atoms = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
                   st.binary(max_size=5), st.booleans(), st.none(),
                   st.fractions(), st.decimals(allow_nan=False))
_hashable = st.one_of(st.integers(), st.text(max_size=5), st.booleans())
_plain = st.recursive(_atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(_hashable, inner, max_size=4), st.frozensets(_hashable, max_size=3)),
    max_leaves=20)


@given(_plain)
@settings(max_examples=150, deadline=None)
def test_any_plain_value_is_storable(value: object) -> None:
    check_storable(value)


@given(_plain, st.integers(0, 3))
@settings(max_examples=150, deadline=None)
def test_a_bad_leaf_anywhere_is_rejected(value: object, where: int) -> None:
    bad = [Evil(), print, Plain(), gen()][where]
    with pytest.raises(StorageRejected):
        check_storable([value, {"k": (1, [bad])}])
