"""The core protocol of Python values, called directly through ``send`` (no compiler)."""
from __future__ import annotations

import math
from fractions import Fraction

import pytest
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError, MessageNotUnderstood
from batos.lang.block import Block, WrongArgumentCount
from batos.lang.collections import (Association, Interval, NotFound, OrderedCollection,
                                    SortedCollection, SubscriptOutOfBounds)
from batos.lang.globals import builtin_globals
from batos.lang.primitives import perform, responds_to, selectors_for, send
from batos.lang.printing import print_string
from batos.lang.protocol.exceptions import ZeroDivide
from batos.lang.transcript import capture_transcript
from batos.lang.values import Character, Point, Symbol, st_class

G = builtin_globals(None)


def b(fn, n=None):
    """A Block from a Python lambda (arity from the lambda unless given)."""
    return Block(fn, fn.__code__.co_argcount if n is None else n)


def ps(value):
    return print_string(value)


# --- dispatch ---------------------------------------------------------------------------------

def test_send_dispatches_by_type_and_bool_is_not_int():
    assert send(3, "+", (4,)) == 7
    assert send(True, "&", (False,)) is False
    with pytest.raises(MessageNotUnderstood):
        send(True, "+", (1,))
    with pytest.raises(MessageNotUnderstood):
        send(1, "ifTrue:", (b(lambda: 1),))


def test_unknown_selector_raises_message_not_understood_with_details():
    with pytest.raises(MessageNotUnderstood) as info:
        send(3, "frobnicate:", (4,))
    assert info.value.receiver == 3
    assert info.value.selector == "frobnicate:"
    assert info.value.arguments == [4]
    assert "3 does not understand #frobnicate:" in str(info.value)
    assert isinstance(info.value, AttributeError)


def test_symbol_extends_string_and_persistent_list_is_an_array():
    assert send(Symbol("abc"), "size", ()) == 3
    assert send(Symbol("abc"), "isSymbol", ()) is True
    assert send("abc", "isSymbol", ()) is False
    assert send(PersistentList([1, 2]), "at:", (2,)) == 2
    assert ps(send(PersistentList([1, 2]), "class", ())) == "Array"


def test_responds_to_and_selectors_for():
    assert responds_to(3, "+") and responds_to(3, "printString")
    assert not responds_to(3, "at:put:")
    assert responds_to("abc", "asUppercase")
    sels = selectors_for([1, 2])
    assert "collect:" in sels and "at:put:" in sels and sels == sorted(sels)
    assert "whileTrue:" in selectors_for(b(lambda: True))
    assert responds_to(G["Array"], "new:") and "with:with:" in selectors_for(G["Array"])
    assert send(3, "respondsTo:", (Symbol("factorial"),)) is True


def test_perform():
    assert perform(3, Symbol("+"), 4) == 7
    assert send(3, "perform:with:", (Symbol("max:"), 9)) == 9
    assert send(3, "perform:", (Symbol("factorial"),)) == 6


# --- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("receiver,selector,args,expected", [
    (7, "//", (2,), 3), (-7, "//", (2,), -4), (-7, "\\\\", (2,), 1), (-7, "rem:", (2,), -1),
    (-7, "quo:", (2,), -3), (12, "gcd:", (18,), 6), (4, "lcm:", (6,), 12), (5, "factorial", (), 120),
    (9, "sqrt", (), 3), (3, "squared", (), 9), (2, "raisedTo:", (10,), 1024), (-3, "abs", (), 3),
    (3, "negated", (), -3), (3, "max:", (7,), 7), (3, "min:", (7,), 3),
    (5, "between:and:", (1, 5), True), (97, "isPrime", (), True), (91, "isPrime", (), False),
    (4, "even", (), True), (4, "odd", (), False), (-2, "sign", (), -1), (0, "isZero", (), True),
    (3.7, "truncated", (), 3), (3.5, "rounded", (), 4), (-3.5, "rounded", (), -4),
    (3.2, "floor", (), 3), (3.2, "ceiling", (), 4), (17, "roundTo:", (5,), 15),
    (3, "asFloat", (), 3.0), (3.9, "asInteger", (), 3), (255, "printString:", (16,), "FF"),
    (-255, "printString:", (16,), "-FF"), (255, "printStringRadix:", (2,), "2r11111111"),
    (7, "printPaddedWith:to:", (Character("0"), 3), "007"), (3, "isInteger", (), True),
    (3.0, "isFloat", (), True), (3, "isNumber", (), True), (3, "isString", (), False),
    (6, "bitAnd:", (3,), 2), (1, "bitShift:", (4,), 16), (10, "log:", (10,), 1.0),
    (3.14159, "printShowingDecimalPlaces:", (2,), "3.14"),
])
def test_number_protocol(receiver, selector, args, expected):
    result = send(receiver, selector, args)
    assert result == expected and type(result) is type(expected)


def test_integer_division_is_exact():
    assert send(1, "/", (3,)) == Fraction(1, 3)
    assert type(send(6, "/", (3,))) is int
    assert send(Fraction(1, 3), "+", (Fraction(2, 3),)) == 1
    assert type(send(Fraction(1, 3), "+", (Fraction(2, 3),))) is int
    assert send(1, "/", (4.0,)) == 0.25
    assert send(2, "raisedTo:", (-1,)) == Fraction(1, 2)
    assert send(Fraction(3, 2), "rounded", ()) == 2
    assert send(Fraction(-3, 2), "truncated", ()) == -1


def test_division_by_zero_is_a_zero_divide_batos_error():
    for selector in ("/", "//", "\\\\", "rem:", "quo:"):
        with pytest.raises(ZeroDivide, match="division by zero"):
            send(1, selector, (0,))
    with pytest.raises(BatosError):
        send(0, "reciprocal", ())
    assert issubclass(ZeroDivide, ZeroDivisionError)


def test_arithmetic_with_a_non_number_is_a_clear_error():
    with pytest.raises(BatosError, match="not a number"):
        send(3, "+", ("a",))
    with pytest.raises(BatosError, match="cannot compare"):
        send(3, "<", ("a",))
    with pytest.raises(BatosError):
        send(3, "+", (True,))


def test_large_integers_and_sqrt():
    big = send(2, "raisedTo:", (100,))
    assert big == 2 ** 100
    assert ps(send(big, "class", ())) == "LargePositiveInteger"
    assert ps(send(-big, "class", ())) == "LargeNegativeInteger"
    assert send(2, "sqrt", ()) == math.sqrt(2)
    assert send(Fraction(4, 9), "sqrt", ()) == Fraction(2, 3)
    with pytest.raises(BatosError, match="sqrt"):
        send(-4, "sqrt", ())
    with pytest.raises(BatosError, match="negative"):
        send(-1, "factorial", ())
    assert len(str(send(100, "factorial", ()))) == 158


def test_number_loops_call_blocks():
    seen = []
    assert send(1, "to:do:", (3, b(lambda i: seen.append(i)))) == 1
    send(10, "to:by:do:", (1, -4, b(lambda i: seen.append(i))))
    send(3, "timesRepeat:", (b(lambda: seen.append("x")),))
    assert seen == [1, 2, 3, 10, 6, 2, "x", "x", "x"]
    assert list(send(1, "to:by:", (10, 3))) == [1, 4, 7, 10]
    assert send(3, "@", (4,)) == Point(3, 4)
    assert send(Point(1, 2), "+", (Point(3, 4),)) == Point(4, 6)


# --- booleans and nil -------------------------------------------------------------------------

def test_boolean_protocol():
    yes, no = b(lambda: "yes"), b(lambda: "no")
    assert send(True, "ifTrue:ifFalse:", (yes, no)) == "yes"
    assert send(False, "ifTrue:ifFalse:", (yes, no)) == "no"
    assert send(False, "ifFalse:ifTrue:", (no, yes)) == "no"
    assert send(False, "ifTrue:", (yes,)) is None
    assert send(True, "and:", (b(lambda: False),)) is False
    assert send(False, "and:", (b(lambda: 1 / 0),)) is False  # short-circuits
    assert send(True, "or:", (b(lambda: 1 / 0),)) is True
    assert send(True, "xor:", (True,)) is False
    assert send(True, "not", ()) is False
    assert send(True, "|", (False,)) is True
    with pytest.raises(BatosError, match="Boolean"):
        send(True, "&", (3,))


def test_nil_protocol():
    assert send(None, "isNil", ()) is True
    assert send(None, "notNil", ()) is False
    assert send(None, "ifNil:", (b(lambda: 5),)) == 5
    assert send(None, "ifNotNil:", (b(lambda x: 5),)) is None
    assert send(3, "ifNil:ifNotNil:", (b(lambda: 0), b(lambda x: x + 1))) == 4
    assert send(3, "ifNotNil:", (b(lambda x: x * 2),)) == 6
    assert send(3, "ifNil:", (b(lambda: 0),)) == 3
    assert send(None, "isEmptyOrNil", ()) is True
    assert send([], "isEmptyOrNil", ()) is True
    assert send(3, "isEmptyOrNil", ()) is False


# --- equality and identity ------------------------------------------------------------------

def test_equality_follows_smalltalk():
    assert send(True, "=", (1,)) is False
    assert send(1, "=", (True,)) is False
    assert send(1, "=", (1.0,)) is True
    assert send([1, 2], "=", ([1, 2],)) is True
    assert send([1, 2], "=", (OrderedCollection([1, 2]),)) is False
    assert send(Interval(1, 3), "=", ([1, 2, 3],)) is True
    assert send(Character("a"), "=", ("a",)) is False
    assert send(2 ** 70, "==", (2 ** 70,)) is False   # LargeIntegers are not immediate
    assert send(1000, "==", (1000,)) is True          # SmallIntegers are
    assert send(Symbol("a"), "==", (Symbol("a"),)) is True
    assert send([1], "==", ([1],)) is False
    assert send(3, "~~", (4,)) is True and send(3, "~=", (3,)) is False


# --- strings, symbols, characters --------------------------------------------------------------

@pytest.mark.parametrize("receiver,selector,args,expected", [
    ("hello", "size", (), 5), ("ab", ",", ("cd",), "abcd"), ("abc", "reversed", (), "cba"),
    ("abc", "reverse", (), "cba"), ("aBc", "asUppercase", (), "ABC"), ("aBc", "asLowercase", (), "abc"),
    ("hello", "at:", (1,), Character("h")), ("hello", "copyFrom:to:", (2, 3), "el"),
    ("hello", "indexOf:", (Character("l"),), 3), ("hello", "occurrencesOf:", (Character("l"),), 2),
    ("hello", "includesSubstring:", ("ell",), True), ("hello", "first", (), Character("h")),
    ("hello", "last", (), Character("o")), ("", "isEmpty", (), True), ("a", "notEmpty", (), True),
    ("hello", "beginsWith:", ("he",), True), ("hello", "endsWith:", ("lo",), True),
    ("  x  ", "trimBoth", (), "x"), ("a b  c", "substrings", (), ["a", "b", "c"]),
    ("a,b;c", "substrings:", (",;",), ["a", "b", "c"]), ("a-b", "replaceAll:with:", ("-", "+"), "a+b"),
    ("hello", "copyReplaceAll:with:", ("ll", "LL"), "heLLo"), ("42", "asNumber", (), 42),
    ("-3.5", "asNumber", (), -3.5), ("16rFF", "asNumber", (), 255), ("x", "asNumber", (), None),
    ("ab12cd", "asInteger", (), 12), ("ab", "asArray", (), [Character("a"), Character("b")]),
    ("a\nb", "lines", (), ["a", "b"]), ("abc", "isString", (), True), ("abc", "<", ("abd",), True),
    (", ", "join:", (["a", "b"],), "a, b"), ("{1}-{2}", "format:", ([1, "x"],), "1-x"),
    ("hello", "first:", (2,), "he"), ("hello", "last:", (2,), "lo"),
    ("hello", "allButFirst", (), "ello"), ("abc", "includes:", (Character("b"),), True),
])
def test_string_protocol(receiver, selector, args, expected):
    result = send(receiver, selector, args)
    assert result == expected and type(result) is type(expected)


def test_string_enumeration_answers_strings_of_characters():
    vowel = b(lambda c: send(c, "isVowel", ()))
    assert send("hello", "select:", (vowel,)) == "eo"
    assert send("hello", "reject:", (vowel,)) == "hll"
    assert send("abc", "collect:", (b(lambda c: send(c, "asUppercase", ())),)) == "ABC"
    assert send("abc", "collect:", (b(lambda c: c.value),)) == [97, 98, 99]
    assert send("abc", "detect:ifNone:", (vowel, b(lambda: None))) == Character("a")
    assert send("abc", "inject:into:", (0, b(lambda acc, c: acc + c.value))) == 294
    assert type(send("abc", "asSymbol", ())) is Symbol
    assert send("ab", "asSet", ()) == {Character("a"), Character("b")}
    with pytest.raises(BatosError, match="append"):
        send("a", ",", (3,))
    with pytest.raises(SubscriptOutOfBounds, match="index 9 out of bounds for a ByteString of size 5"):
        send("hello", "at:", (9,))


def test_symbol_protocol():
    assert send(Symbol("at:put:"), "numArgs", ()) == 2
    assert send(Symbol("+"), "numArgs", ()) == 1
    assert send(Symbol("abs"), "value:", (-3,)) == 3
    assert send(Symbol("max:"), "value:value:", (3, 8)) == 8
    assert send([1, -2], "collect:", (Symbol("abs"),)) == [1, 2]
    assert type(send(Symbol("a"), "asString", ())) is str
    assert type(send(Symbol("a"), ",", ("b",))) is str
    assert send(Symbol("at:put:"), "keywords", ()) == ["at:", "put:"]


def test_character_protocol():
    a = Character("a")
    assert send(a, "value", ()) == 97 and send(a, "asInteger", ()) == 97
    assert send(a, "isVowel", ()) is True and send(Character("b"), "isVowel", ()) is False
    assert send(a, "asUppercase", ()) == Character("A")
    assert send(a, "<", (Character("b"),)) is True
    assert send(Character("7"), "digitValue", ()) == 7
    assert send(a, "asString", ()) == "a"
    assert send(65, "asCharacter", ()) == Character("A")
    assert {Character("a"): 1}[Character(97)] == 1
    assert sorted([Character("c"), Character("a")]) == [Character("a"), Character("c")]


# --- Array, OrderedCollection, SortedCollection, Interval -------------------------------------------

def test_array_protocol():
    arr = [3, 1, 2]
    assert send(arr, "at:", (1,)) == 3
    assert send(arr, "collect:", (b(lambda x: x * 10),)) == [30, 10, 20]
    assert send(arr, "select:", (b(lambda x: x > 1),)) == [3, 2]
    assert send(arr, "reject:", (b(lambda x: x > 1),)) == [1]
    assert send(arr, "detect:", (b(lambda x: x < 3),)) == 1
    assert send(arr, "inject:into:", (0, b(lambda a, x: a + x))) == 6
    assert send(arr, "with:collect:", ([1, 1, 1], b(lambda x, y: x + y))) == [4, 2, 3]
    assert send(arr, "reversed", ()) == [2, 1, 3]
    assert send(arr, "sum", ()) == 6 and send(arr, "max", ()) == 3 and send(arr, "min", ()) == 1
    assert send(arr, ",", ([9],)) == [3, 1, 2, 9]
    assert send(arr, "copyWith:", (4,)) == [3, 1, 2, 4]
    assert send(arr, "indexOf:", (2,)) == 3 and send(arr, "indexOf:", (7,)) == 0
    assert send(arr, "includes:", (2,)) is True
    assert send(arr, "first:", (2,)) == [3, 1] and send(arr, "allButLast", ()) == [3, 1]
    assert send(arr, "anySatisfy:", (b(lambda x: x > 2),)) is True
    assert send(arr, "allSatisfy:", (b(lambda x: x > 2),)) is False
    assert send(arr, "count:", (b(lambda x: x > 1),)) == 2
    assert send(arr, "at:put:", (1, 7)) == 7 and arr == [7, 1, 2]
    assert send(arr, "sort", ()) is arr and arr == [1, 2, 7]
    send(arr, "sort:", (b(lambda x, y: x >= y),))
    assert arr == [7, 2, 1]


def test_array_errors_are_clear():
    with pytest.raises(SubscriptOutOfBounds, match="index 5 out of bounds for an Array of size 2"):
        send([10, 20], "at:", (5,))
    with pytest.raises(SubscriptOutOfBounds):
        send([10, 20], "at:put:", (0, 1))
    with pytest.raises(BatosError, match="fixed size"):
        send([1], "add:", (2,))
    with pytest.raises(NotFound):
        send([1], "detect:", (b(lambda x: x > 5),))
    with pytest.raises(SubscriptOutOfBounds, match="index 1 out of bounds for an Array of size 0"):
        send([], "first", ())
    with pytest.raises(BatosError, match="empty"):
        send([], "max", ())


def test_enumeration_arguments_and_separators():
    out = []
    send(["a", "b", "c"], "do:separatedBy:", (b(lambda x: out.append(x)), b(lambda: out.append("-"))))
    send([10, 20], "doWithIndex:", (b(lambda x, i: out.append((x, i))),))
    send([10, 20], "keysAndValuesDo:", (b(lambda i, x: out.append((i, x))),))
    send([1, 2], "reverseDo:", (b(lambda x: out.append(x)),))
    send([1, 2], "with:do:", ([3, 4], b(lambda x, y: out.append(x * y))))
    assert out == ["a", "-", "b", "-", "c", (10, 1), (20, 2), (1, 10), (2, 20), 2, 1, 3, 8]


def test_do_iterates_over_a_snapshot_while_the_block_mutates():
    oc = OrderedCollection([1, 2])
    send(oc, "do:", (b(lambda x: send(oc, "add:", (x * 10,))),))
    assert list(oc) == [1, 2, 10, 20]


def test_ordered_collection_protocol():
    oc = send(G["OrderedCollection"], "new", ())
    assert send(oc, "add:", (1,)) == 1
    send(oc, "addFirst:", (0,))
    send(oc, "addAll:", ([2, 3],))
    assert list(oc) == [0, 1, 2, 3]
    assert send(oc, "removeFirst", ()) == 0 and send(oc, "removeLast", ()) == 3
    assert send(oc, "remove:", (1,)) == 1 and list(oc) == [2]
    assert send(oc, "remove:ifAbsent:", (9, b(lambda: "none"))) == "none"
    with pytest.raises(NotFound):
        send(oc, "remove:", (9,))
    assert type(send(oc, "collect:", (b(lambda x: x),))) is OrderedCollection
    assert type(send(oc, "asArray", ())) is list
    send(oc, "removeAll", ())
    with pytest.raises(BatosError, match="empty"):
        send(oc, "removeFirst", ())
    assert ps(send(G["OrderedCollection"], "with:with:", (1, 2))) == "an OrderedCollection(1 2)"


def test_sorted_collection_keeps_order():
    sc = send([3, 1, 2], "asSortedCollection", ())
    assert type(sc) is SortedCollection and list(sc) == [1, 2, 3]
    send(sc, "add:", (0,))
    send(sc, "addAll:", ([5, 4],))
    assert list(sc) == [0, 1, 2, 3, 4, 5]
    desc = send([3, 1, 2], "asSortedCollection:", (b(lambda x, y: x >= y),))
    send(desc, "add:", (9,))
    assert list(desc) == [9, 3, 2, 1]
    assert type(send(desc, "collect:", (b(lambda x: x),))) is OrderedCollection
    assert type(send(desc, "select:", (b(lambda x: x > 1),))) is SortedCollection
    with pytest.raises(BatosError, match="SortedCollection"):
        send(sc, "addFirst:", (1,))
    assert send(sc, "first", ()) == 0 and send(sc, "median", ()) == Fraction(5, 2)


def test_interval_protocol():
    iv = send(1, "to:", (5,))
    assert type(iv) is Interval and ps(iv) == "(1 to: 5)"
    assert send(iv, "collect:", (b(lambda i: i * i),)) == [1, 4, 9, 16, 25]
    assert send(iv, "select:", (b(lambda i: i % 2 == 1),)) == [1, 3, 5]
    assert send(iv, "size", ()) == 5 and send(iv, "at:", (2,)) == 2
    assert send(iv, "last", ()) == 5 and send(iv, "sum", ()) == 15
    assert send(send(1, "to:by:", (2, Fraction(1, 2))), "asArray", ()) == [1, Fraction(3, 2), 2]
    assert list(send(5, "to:by:", (1, -2))) == [5, 3, 1]
    assert send(send(1, "to:", (0,)), "isEmpty", ()) is True
    assert ps(send(iv, "reversed", ())) == "(5 to: 1 by: -1)"
    with pytest.raises(BatosError, match="read-only"):
        send(iv, "at:put:", (1, 1))


# --- Dictionary, Set, Association --------------------------------------------------------------

def test_dictionary_protocol():
    d = send(G["Dictionary"], "new", ())
    assert send(d, "at:put:", (Symbol("a"), 1)) == 1
    send(d, "at:put:", (Symbol("b"), 2))
    assert send(d, "at:", (Symbol("a"),)) == 1
    assert send(d, "at:ifAbsent:", (Symbol("z"), b(lambda: 0))) == 0
    assert send(d, "at:ifAbsentPut:", (Symbol("c"), b(lambda: 3))) == 3
    assert send(d, "keys", ()) == ["a", "b", "c"] and send(d, "values", ()) == [1, 2, 3]
    assert send(d, "includesKey:", (Symbol("a"),)) is True
    assert send(d, "includes:", (2,)) is True
    assert send(d, "size", ()) == 3
    assert send(d, "removeKey:", (Symbol("c"),)) == 3
    assert send(d, "removeKey:ifAbsent:", (Symbol("c"), b(lambda: "gone"))) == "gone"
    assert send(d, "collect:", (b(lambda v: v * 10),)) == {"a": 10, "b": 20}
    assert send(d, "select:", (b(lambda v: v > 1),)) == {"b": 2}
    assert send(d, "inject:into:", (0, b(lambda acc, v: acc + v))) == 3
    assert send(d, "keyAtValue:", (2,)) == "b"
    pairs = []
    send(d, "keysAndValuesDo:", (b(lambda k, v: pairs.append((k, v))),))
    assert pairs == [("a", 1), ("b", 2)]
    assert [ps(a) for a in send(d, "associations", ())] == ["#a->1", "#b->2"]
    with pytest.raises(NotFound, match="key #z not found"):
        send(d, "at:", (Symbol("z"),))
    with pytest.raises(BatosError, match="Dictionary key"):
        send(d, "at:put:", ([1], 2))
    send(d, "add:", (Association(Symbol("q"), 9),))
    assert d["q"] == 9


def test_persistent_mapping_and_set_protocol():
    pm = PersistentMapping({"x": 1})
    assert send(pm, "at:", ("x",)) == 1 and ps(pm) == "a Dictionary('x'->1 )"
    s = send(G["Set"], "new", ())
    send(s, "add:", (3,))
    send(s, "add:", (3,))
    send(s, "addAll:", ([1, 2],))
    assert send(s, "size", ()) == 3 and send(s, "includes:", (2,)) is True
    assert send(s, "collect:", (b(lambda x: x % 2),)) == {0, 1}
    assert send(s, "remove:", (3,)) == 3
    with pytest.raises(NotFound):
        send(s, "remove:", (3,))
    assert ps(send(G["Set"], "withAll:", ([2, 1, 2],))) == "a Set(1 2)"


def test_association_protocol():
    a = send(1, "->", (2,))
    assert send(a, "key", ()) == 1 and send(a, "value", ()) == 2
    send(a, "value:", (5,))
    assert a.value == 5
    assert send(send(1, "->", (0,)), "<", (send(2, "->", (0,)),)) is True


# --- blocks and exceptions ------------------------------------------------------------------------

def test_block_evaluation_and_arity_errors():
    add = b(lambda x, y: x + y)
    assert send(add, "value:value:", (1, 2)) == 3
    assert send(add, "valueWithArguments:", ([3, 4],)) == 7
    assert send(add, "numArgs", ()) == 2
    assert send(b(lambda a, b_, c, d: a + b_ + c + d), "value:value:value:value:", (1, 2, 3, 4)) == 10
    with pytest.raises(WrongArgumentCount, match="wrong number of arguments: block takes 2, got 1"):
        send(add, "value:", (1,))
    with pytest.raises(WrongArgumentCount, match="block takes 2, got 3"):
        send(add, "valueWithArguments:", ([1, 2, 3],))
    assert send(b(lambda: 5), "cull:", (9,)) == 5


def test_block_loops():
    n = [0]
    assert send(b(lambda: n[0] < 5), "whileTrue:", (b(lambda: n.__setitem__(0, n[0] + 1)),)) is None
    assert n == [5]
    send(b(lambda: n[0] <= 0), "whileFalse:", (b(lambda: n.__setitem__(0, n[0] - 2)),))
    assert n == [-1]
    send(b(lambda: n.__setitem__(0, n[0] + 1) or n[0] < 3), "whileTrue", ())
    assert n == [3]
    with pytest.raises(BatosError, match="not a Boolean"):
        send(b(lambda: 1), "whileTrue:", (b(lambda: None),))


def test_repeat_runs_until_unwound():
    class Stop(BaseException):
        pass
    count = [0]

    def body():
        count[0] += 1
        if count[0] == 4:
            raise Stop
    with pytest.raises(Stop):
        send(b(body), "repeat", ())
    assert count == [4]


def test_ensure_and_if_curtailed():
    log = []
    assert send(b(lambda: "v"), "ensure:", (b(lambda: log.append("e")),)) == "v"
    with pytest.raises(ZeroDivide):
        send(b(lambda: send(1, "/", (0,))), "ensure:", (b(lambda: log.append("e2")),))
    assert send(b(lambda: "ok"), "ifCurtailed:", (b(lambda: log.append("never")),)) == "ok"
    with pytest.raises(ZeroDivide):
        send(b(lambda: send(1, "/", (0,))), "ifCurtailed:", (b(lambda: log.append("cut")),))
    assert log == ["e", "e2", "cut"]


def test_on_do_catches_by_smalltalk_class():
    boom = b(lambda: send(1, "/", (0,)))
    assert send(boom, "on:do:", (G["ZeroDivide"], b(lambda e: "caught"))) == "caught"
    assert send(boom, "on:do:", (G["Error"], b(lambda e: send(e, "messageText", ())))) \
        == "division by zero"
    assert send(boom, "on:do:", (G["ArithmeticError"], b(lambda: "zero-arg handler"))) \
        == "zero-arg handler"
    with pytest.raises(ZeroDivide):
        send(boom, "on:do:", (G["MessageNotUnderstood"], b(lambda e: 0)))
    mnu = b(lambda: send(3, "foo", ()))
    assert send(mnu, "on:do:", (G["MessageNotUnderstood"],
                                b(lambda e: send(send(e, "message", ()), "selector", ())))) == "foo"
    either = send(G["ZeroDivide"], ",", (G["MessageNotUnderstood"],))
    assert send(mnu, "on:do:", (either, b(lambda e: 1))) == 1
    oob = b(lambda: send([1], "at:", (3,)))
    assert send(oob, "on:do:", (G["SubscriptOutOfBounds"], b(lambda e: -1))) == -1
    assert send(G["ZeroDivide"], "inheritsFrom:", (G["Error"],)) is True


def test_signal_return_and_retry():
    signal = b(lambda: send(G["Error"], "signal:", ("boom",)))
    assert send(signal, "on:do:", (G["Error"], b(lambda e: send(e, "messageText", ())))) == "boom"
    assert send(signal, "on:do:", (G["Error"], b(lambda e: send(e, "return:", (7,))))) == 7
    tries = [0]

    def flaky():
        tries[0] += 1
        if tries[0] < 3:
            send(G["Error"], "signal:", ("again",))
        return tries[0]
    assert send(b(flaky), "on:do:", (G["Error"], b(lambda e: send(e, "retry", ())))) == 3
    with pytest.raises(BatosError, match="boom"):
        send(signal, "value", ())
    err = send(G["Error"], "new", ())
    assert ps(send(err, "class", ())) == "Error"
    with pytest.raises(BatosError, match="custom"):
        send(err, "signal:", ("custom",))
    with pytest.raises(BatosError, match="oops"):
        send(3, "error:", ("oops",))


def test_control_flow_and_limits_are_never_caught():
    from batos.errors import LimitExceeded

    class NonLocal(BaseException):
        pass

    def nlr():
        raise NonLocal

    def limit():
        raise LimitExceeded("time limit")
    with pytest.raises(NonLocal):
        send(b(nlr), "on:do:", (G["Error"], b(lambda e: 0)))
    with pytest.raises(LimitExceeded):
        send(b(limit), "on:do:", (G["Exception"], b(lambda e: 0)))


def test_blocks_refuse_to_be_stored():
    import pickle
    from batos.errors import StorageRejected
    with pytest.raises(StorageRejected):
        pickle.dumps(b(lambda: 1))


# --- class objects and globals ---------------------------------------------------------------------

def test_class_side_protocol():
    assert send(G["Array"], "new:", (3,)) == [None, None, None]
    assert send(G["Array"], "with:with:with:", (1, 2, 3)) == [1, 2, 3]
    assert send(G["Array"], "new:withAll:", (2, 0)) == [0, 0]
    assert send(G["Array"], "withAll:", (send(1, "to:", (3,)),)) == [1, 2, 3]
    assert send(G["Character"], "value:", (65,)) == Character("A")
    assert send(G["Character"], "cr", ()).value == 13
    assert send(G["String"], "new", ()) == ""
    assert send(G["Float"], "pi", ()) == math.pi
    assert send(G["SmallInteger"], "maxVal", ()) == 2 ** 60 - 1
    assert send(3, "class", ()) is G["SmallInteger"]
    assert send(G["SmallInteger"], "name", ()) == "SmallInteger"
    assert send(3, "isKindOf:", (G["Number"],)) is True
    assert send(G["Symbol"], "intern:", ("x",)) == Symbol("x")
    with pytest.raises(BatosError, match="cloning"):
        send(G["Object"], "new", ())
    with pytest.raises(MessageNotUnderstood):
        send(G["Array"], "frobnicate", ())
    assert st_class("Array") is G["Array"]


def test_class_objects_survive_pickling_as_singletons():
    import pickle
    assert pickle.loads(pickle.dumps(G["Array"])) is G["Array"]


def test_transcript_global_writes_to_the_captured_sink():
    out = []
    t = G["Transcript"]
    with capture_transcript(out.append):
        send(t, "show:", ("hi",))
        send(t, "show:", (42,))
        send(t, "cr", ())
        send(t, "print:", ("q",))
        send(t, "tab", ())
        send(t, "space", ())
        send(t, "showLine:", (Symbol("s"),))
        send([1, 2], "printNl", ())
        send("x", "displayNl", ())
        send(t, "show:", ("a" + "\r" + "b",))
    assert "".join(out) == "hi42\n'q'\t s\n#(1 2)\nx\na\nb"


def test_transcript_render_uses_a_plain_console_by_default():
    from rich.text import Text
    out = []
    with capture_transcript(out.append) as sink:
        sink.render(Text("plain"))
    assert "".join(out) == "plain\n"
    rendered = []
    with capture_transcript(out.append, rendered.append) as sink:
        sink.render(Text("r"))
        sink.render("[bold]s\x1b]52;c;eA==\x07")  # a string is text: no markup, no escapes
    assert rendered[0].plain == "r"
    assert "".join(out).endswith("[bold]s\\x1b]52;c;eA==\\x07\n")


# --- prototypes and the image -------------------------------------------------------------------------



def test_prototypes_use_their_own_send_path(image):
    genesis = image.globals["genesis"]
    obj = genesis.clone()
    obj.set_slot("count", 3)
    assert send(obj, "count", ()) == 3
    assert send(obj, "count:", (4,)) is obj and obj.count == 4
    assert send(obj, "yourself", ()) is obj
    assert send(obj, "==", (obj,)) is True
    # the universal Object protocol fills in what traits lacks
    assert ps(send(obj, "->", (1,))) == "a Proto->1"
    assert send(obj, "ifNil:ifNotNil:", (b(lambda: 0), b(lambda x: 1))) == 1
    assert ps(send(obj, "class", ())) == "Proto"
    with pytest.raises(MessageNotUnderstood):
        send(obj, "noSuchThing", ())
    assert responds_to(obj, "count") and responds_to(obj, "clone")
    assert not responds_to(obj, "noSuchThing")
    sels = selectors_for(obj)
    assert {"count", "count:", "clone", "printString", "->"} <= set(sels)


def test_smalltalk_namespace_reads_and_writes_image_globals(image):
    g = builtin_globals(image)
    st = g["Smalltalk"]
    assert g["Image"] is st and ps(st) == "Smalltalk"
    assert send(st, "at:put:", (Symbol("answer"), 42)) == 42
    assert image.globals["answer"] == 42
    assert send(st, "at:", (Symbol("answer"),)) == 42
    assert send(st, "at:", (Symbol("Transcript"),)) is g["Transcript"]
    assert send(st, "at:ifAbsent:", (Symbol("nope"), b(lambda: 0))) == 0
    assert send(st, "includesKey:", (Symbol("genesis"),)) is True
    assert Symbol("answer") in send(st, "keys", ())
    assert send(st, "removeKey:", (Symbol("answer"),)) == 42
    with pytest.raises(BatosError, match="no global"):
        send(st, "at:", (Symbol("nope"),))


def test_collections_stored_in_slots_persist_and_mutate_in_place(image):
    obj = image.globals["genesis"].clone()
    image.globals["keeper"] = obj
    obj.set_slot("items", OrderedCollection([1]))
    obj.set_slot("array", [1, 2])
    obj.set_slot("table", {"a": 1})
    image.commit("store")
    send(obj.items, "add:", (2,))
    send(obj.array, "at:put:", (1, 9))
    send(obj.table, "at:put:", ("b", [1]))
    image.commit("mutate")
    path = image.path
    image.close()
    import batos
    with batos.open_image(path) as again:
        kept = again.globals["keeper"]
        assert ps(kept.items) == "an OrderedCollection(1 2)"
        assert type(kept.items) is OrderedCollection
        assert ps(kept.array) == "#(9 2)"
        assert ps(kept.table) == "a Dictionary('a'->1 'b'->#(1) )"
        assert isinstance(kept.table["b"], PersistentList)  # stored values persist too


def test_value_types_store_in_slots_and_reload(image):
    obj = image.globals["genesis"].clone()
    image.globals["values"] = obj
    obj.set_slot("sym", Symbol("at:put:"))
    obj.set_slot("char", Character("z"))
    obj.set_slot("frac", Fraction(2, 3))
    obj.set_slot("assoc", Association(Symbol("k"), [1, 2]))
    obj.set_slot("interval", Interval(1, 9, 2))
    obj.set_slot("point", Point(1, 2))
    obj.set_slot("sorted", send([3, 1, 2], "asSortedCollection:", (b(lambda x, y: x >= y),)))
    obj.set_slot("big", 2 ** 100)
    image.commit("values")
    path = image.path
    image.close()
    import batos
    with batos.open_image(path) as again:
        kept = again.globals["values"]
        assert type(kept.sym) is Symbol and ps(kept.sym) == "#at:put:"
        assert kept.char == Character("z") and ps(kept.char) == "$z"
        assert ps(kept.frac) == "(2/3)"
        assert ps(kept.assoc) == "#k->#(1 2)"
        assert ps(kept.interval) == "(1 to: 9 by: 2)" and send(kept.interval, "sum", ()) == 25
        assert ps(kept.point) == "(1@2)"
        # the sort block is code: it is not stored, and the order reverts to <=
        assert ps(kept.sorted) == "a SortedCollection(1 2 3)"
        send(kept.sorted, "add:", (0,))
        assert list(kept.sorted) == [0, 1, 2, 3]
        assert ps(kept.big) == str(2 ** 100)


def test_float_intervals_count_like_pharo():
    assert send(send(0, "to:by:", (1, 0.1)), "size", ()) == 11
    assert send(send(1, "to:by:", (2, 0.5)), "asArray", ()) == [1, 1.5, 2.0]


def test_write_and_read_streams():
    from batos.lang.protocol.streams import ReadStream, WriteStream
    ws = send(G["WriteStream"], "on:", ("",))
    assert isinstance(ws, WriteStream)
    send(ws, "nextPutAll:", ("n = ",))
    send(ws, "print:", ("q",))
    send(ws, "space", ())
    assert send(ws, "<<", (42,)) is ws
    send(ws, "nextPut:", (Character("!"),))
    assert send(ws, "contents", ()) == "n = 'q' 42!"
    with pytest.raises(BatosError, match="String"):
        send(ws, "nextPutAll:", (3,))
    arr = send(G["Array"], "streamContents:", (b(lambda s: send(s, "nextPut:", (1,))),))
    assert arr == [1]
    rs = send("ab cd", "readStream", ())
    assert isinstance(rs, ReadStream)
    assert send(rs, "peek", ()) == Character("a")
    assert send(rs, "upTo:", (Character(" "),)) == "ab"
    assert send(rs, "next", ()) == Character("c")
    assert send(rs, "upToEnd", ()) == "d"
    assert send(rs, "atEnd", ()) is True and send(rs, "next", ()) is None
    seen = []
    send(send([1, 2], "readStream", ()), "do:", (b(lambda x: seen.append(x)),))
    assert seen == [1, 2]


def test_selectors_for_a_prototype_loaded_as_a_ghost(image):
    from batos.lang.primitives import object_selectors
    obj = image.globals["genesis"].clone()
    obj.set_slot("size", 3)
    image.globals["ghosty"] = obj
    image.commit("ghost")
    image.connection.cacheMinimize()  # every prototype becomes a ghost
    ghost = image.globals["ghosty"]
    sels = selectors_for(ghost)
    assert {"size", "size:", "clone", "printString"} <= set(sels)
    assert "->" in object_selectors() and object_selectors() == sorted(object_selectors())


def test_time_measures_blocks():
    assert send(G["Time"], "millisecondsToRun:", (b(lambda: None),)) >= 0
    assert isinstance(send(G["Time"], "millisecondClockValue", ()), int)


def test_sorted_copies_and_set_species():
    assert send("cba", "sorted", ()) == "abc"
    assert send({3, 1, 2}, "sorted", ()) == [1, 2, 3]
    assert send({3, 1, 2}, "sorted:", (b(lambda x, y: x >= y),)) == [3, 2, 1]
    assert type(send(OrderedCollection([2, 1]), "sorted", ())) is OrderedCollection
    assert send({"b": 2, "a": 1}, "sorted", ()) == [1, 2]
    with pytest.raises(BatosError, match="hashable"):
        send({1, 2}, "collect:", (b(lambda x: [x]),))


def test_copy_of_a_prototype_is_a_clone_with_its_own_slots(image):
    obj = image.globals["genesis"].clone()
    obj.set_slot("count", 1)
    twin = send(obj, "copy", ())
    assert twin is not obj and twin.count == 1
    twin.set_slot("count", 2)
    assert obj.count == 1
    deep = send(obj, "deepCopy", ())
    assert deep is not obj and deep.count == 1


def test_deep_copy_copies_containers_and_shares_prototypes(image):
    genesis = image.globals["genesis"]
    inner = [1, 2]
    original = [inner, {"k": inner}, OrderedCollection([genesis]), Association(1, inner)]
    original.append(original)
    copied = send(original, "deepCopy", ())
    assert copied is not original and copied[0] == inner and copied[0] is not inner
    assert copied[1]["k"] is copied[0]  # shared structure stays shared
    assert copied[2][0] is genesis      # prototypes are not copied
    assert copied[3].value is copied[0]
    assert copied[4] is copied          # cycles are kept
    inner.append(3)
    assert copied[0] == [1, 2]
