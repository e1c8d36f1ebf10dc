"""printString / displayString follow Pharo and never raise (DESIGN.md contract)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.lang.block import Block
from batos.lang.collections import Association, Interval, OrderedCollection, SortedCollection
from batos.lang.globals import builtin_globals
from batos.lang.printing import default_print_string, display_string, print_string
from batos.lang.protocol.exceptions import SmalltalkError, ZeroDivide
from batos.lang.values import Character, Point, Symbol, st_class


@pytest.mark.parametrize("value,expected", [
    (42, "42"), (-7, "-7"), (2 ** 100, "1267650600228229401496703205376"),
    (True, "true"), (False, "false"), (None, "nil"),
    ("hello", "'hello'"), ("it's", "'it''s'"), ("", "''"),
    (Symbol("foo"), "#foo"), (Symbol("at:put:"), "#at:put:"), (Symbol("+"), "#+"),
    (Symbol("hello world"), "#'hello world'"), (Symbol("it's"), "#'it''s'"), (Symbol("a1_b"), "#a1_b"),
    (Symbol("1abc"), "#'1abc'"), (Symbol(""), "#''"),
    (Character("a"), "$a"), (Character("'"), "$'"), (Character(" "), "Character space"),
    (Character(9), "Character tab"), (Character(13), "Character cr"), (Character(0), "Character null"),
    (Character(7), "Character value: 7"), (Character("é"), "$é"),
    (Fraction(1, 2), "(1/2)"), (Fraction(-3, 4), "(-3/4)"),
    ([1, 2, 3], "#(1 2 3)"), ([], "#()"),
    ([1, Character("a"), "x", Symbol("y"), [2, 3], True, None], "#(1 $a 'x' #y #(2 3) true nil)"),
    ([Fraction(1, 2), 3], "an Array((1/2) 3)"), ([OrderedCollection()], "an Array(an OrderedCollection())"),
    ([1.5, -2], "#(1.5 -2)"), ([math.nan], "an Array(Float nan)"), (PersistentList([1, "a"]), "#(1 'a')"),
    (OrderedCollection([1, 2]), "an OrderedCollection(1 2)"), (OrderedCollection(), "an OrderedCollection()"),
    (OrderedCollection(["a", Symbol("b")]), "an OrderedCollection('a' #b)"),
    (SortedCollection([3, 1, 2]), "a SortedCollection(1 2 3)"),
    ({Symbol("a"): 1, Symbol("b"): 2}, "a Dictionary(#a->1 #b->2 )"), ({}, "a Dictionary()"),
    (PersistentMapping({1: "one"}), "a Dictionary(1->'one' )"),
    ({2, 1, 3}, "a Set(1 2 3)"), (set(), "a Set()"),
    (Association(1, 2), "1->2"), (Association(Symbol("a"), "x"), "#a->'x'"),
    (Association(1, Association(2, 3)), "1->2->3"),
    (Interval(1, 5), "(1 to: 5)"), (Interval(1, 10, 2), "(1 to: 10 by: 2)"),
    (Interval(Fraction(1, 2), 3), "((1/2) to: 3)"),
    (Point(3, 4), "(3@4)"), (Point(Fraction(1, 2), -1), "((1/2)@-1)"),
    (Block(lambda: 1, 0), "a BlockClosure"), (Block(lambda: 1, 0, "[1]"), "[1]"),
    (st_class("Array"), "Array"), (st_class("SmallInteger class"), "SmallInteger class"),
])
def test_print_string(value, expected):
    assert print_string(value) == expected


@pytest.mark.parametrize("value,expected", [
    (3.5, "3.5"), (0.1, "0.1"), (100.0, "100.0"), (-2.25, "-2.25"), (0.0, "0.0"), (-0.0, "-0.0"),
    (1e20, "1.0e20"), (1.5e-7, "1.5e-7"), (123456.5, "123456.5"), (1e6, "1.0e6"),
    (1234567.0, "1.234567e6"), (0.001, "0.001"), (0.0001, "0.0001"), (0.00001, "1.0e-5"),
    (2 ** 0.5, "1.4142135623730951"), (0.1 + 0.2, "0.30000000000000004"), (1e100, "1.0e100"),
    (math.pi, "3.141592653589793"), (math.inf, "Float infinity"),
    (-math.inf, "Float infinity negated"), (math.nan, "Float nan"),
])
def test_floats_print_like_pharo(value, expected):
    assert print_string(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("it's", "it's"), (Symbol("foo"), "foo"), (Character("a"), "a"), (42, "42"),
    (Fraction(1, 2), "(1/2)"), (None, "nil"),
    (["a", Symbol("b"), Character("c"), 1], "#(a b c 1)"),
    (OrderedCollection(["x", "y"]), "an OrderedCollection(x y)"),
    ({"k": "v"}, "a Dictionary(k->v )"), ({"a"}, "a Set(a)"),
])
def test_display_string(value, expected):
    assert display_string(value) == expected


def test_cycles_do_not_recurse_forever():
    loop = [1]
    loop.append(loop)
    assert print_string(loop) == "an Array(1 ...)"
    oc = OrderedCollection([1])
    oc.append(oc)
    assert print_string(oc) == "an OrderedCollection(1 ...)"
    d: dict = {}
    d["me"] = d
    assert print_string(d) == "a Dictionary('me'->... )"


def test_odd_values_never_raise():
    class Weird:
        def __repr__(self):
            raise RuntimeError("no")

        def __eq__(self, other):
            raise RuntimeError("no")
    assert print_string(Weird()) == "a Weird"
    assert display_string(Weird()) == "a Weird"
    assert print_string(object()) == "an object"
    assert print_string([Weird()]) == "an Array(a Weird)"


def test_huge_collections_are_elided():
    text = print_string(list(range(10_000)))
    assert text.startswith("#(0 1 2") and text.endswith(" 4999 ...)")


def test_exceptions_print_class_and_message():
    assert print_string(ZeroDivide("division by zero")) == "ZeroDivide: division by zero"
    assert print_string(SmalltalkError("boom")) == "Error: boom"
    assert print_string(SmalltalkError("", "Error")) == "an Error"


def test_global_objects_print_their_names():
    g = builtin_globals(None)
    assert print_string(g["Smalltalk"]) == "Smalltalk"
    assert print_string(g["Transcript"]) == "a TranscriptStream"
    assert print_string(g["Error"]) == "Error"




def test_prototypes_print_as_a_proto_or_through_their_override(image):
    genesis = image.globals["genesis"]
    assert print_string(genesis) == "a Proto(genesis)"
    assert default_print_string(genesis) == "a Proto(genesis)"
    anonymous = genesis.clone()
    assert print_string(anonymous) == "a Proto"
    image.globals["counter"] = anonymous
    assert print_string(anonymous) == "a Proto(counter)"
    anonymous.define("printString", "def printString(self):\n    return 'a counter at 3'\n")
    assert print_string(anonymous) == "a counter at 3"
    assert display_string(anonymous) == "a counter at 3"
    assert default_print_string(anonymous) == "a Proto(counter)"  # the primitive never recurses
    assert print_string([anonymous, genesis]) == "an Array(a counter at 3 a Proto(genesis))"


def test_a_failing_override_falls_back_to_the_default(image):
    broken = image.globals["genesis"].clone()
    broken.define("printString", "def printString(self):\n    return 1 // 0\n")
    assert print_string(broken) == "a Proto"


def test_an_override_answering_a_non_string_is_printed(image):
    odd = image.globals["genesis"].clone()
    odd.define("printString", "def printString(self):\n    return 42\n")
    assert print_string(odd) == "42"


def test_print_on_override_is_used_and_cannot_recurse(image):
    obj = image.globals["genesis"].clone()
    obj.define("printOn:", "def printOn_(self, stream):\n"
                           "    from_self = self.send('printString')\n"
                           "    stream.put_all('<' + from_self + '>')\n", audit=False)
    # printOn: asking for its own printString gets the plain default, not a loop
    assert print_string(obj) == "<a Proto>"
    assert default_print_string(obj) == "<a Proto>"


def test_tuples_from_python_methods_print_and_behave_as_arrays():
    from batos.lang.primitives import send
    assert print_string((1, "a")) == "#(1 'a')"
    assert send((1, 2), "collect:", (Block(lambda x: x + 1, 1),)) == [2, 3]
    assert send((1, 2), "=", ([1, 2],)) is True
    assert print_string(send((1, 2), "class", ())) == "Array"


def test_ghost_prototypes_print_their_names(image):
    image.commit("awake")
    image.connection.cacheMinimize()
    genesis = image.globals["genesis"]
    assert genesis._p_status == "ghost"
    assert default_print_string(genesis) == "a Proto(genesis)"
    image.connection.cacheMinimize()
    assert print_string(image.globals["traits"]) == "a Proto(traits)"


def test_messages_and_methods_print_readably(image):
    from batos.image.message import Message
    assert print_string(Message(None, "at:put:", [1, "x"])) == "at: 1 put: 'x'"
    assert print_string(Message(None, "+", [3])) == "+ 3"
    assert print_string(Message(None, "size", [])) == "size"
    method = image.globals["traits"].method("clone")
    assert print_string(method) == "a Method(#clone, primitive)"


def test_printing_never_raises_on_arbitrary_nesting():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    atoms = st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans(), st.none(),
                      st.fractions().map(Fraction), st.text(max_size=4).map(Symbol),
                      st.integers(0, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF)
                      .map(Character))
    hashable = st.one_of(st.integers(), st.text(max_size=4), st.text(max_size=3).map(Symbol))

    def extend(inner):
        return st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, max_size=3).map(OrderedCollection),
            st.dictionaries(hashable, inner, max_size=3),
            st.sets(hashable, max_size=3),
            st.tuples(inner, inner).map(lambda kv: Association(*kv)),
            st.tuples(inner, inner).map(lambda xy: Point(*xy)),
            st.builds(Interval, st.integers(-5, 5), st.integers(-5, 5), st.sampled_from([1, 2, -1])),
        )

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.recursive(atoms, extend, max_leaves=15))
    def check(value):
        assert isinstance(print_string(value), str)
        assert isinstance(display_string(value), str)
    check()
