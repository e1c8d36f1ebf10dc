"""Lexer and parser: positions, precedence, every literal kind, and syntax errors."""
from __future__ import annotations

from fractions import Fraction

import pytest

from batos.errors import BSTSyntaxError
from batos.lang import is_complete, parse, split_statements
from batos.lang import nodes as n
from batos.lang.lexer import tokenize
from batos.lang.parser import parse_method
from batos.lang.values import Character, Symbol


def expr(source: str) -> n.Node:
    seq = parse(source)
    assert len(seq.statements) == 1
    return seq.statements[0]


def shape(node: n.Node) -> object:
    """A compact nested form of an expression tree for precedence checks."""
    if isinstance(node, n.Send):
        return (shape(node.receiver), node.selector, *[shape(a) for a in node.args])
    if isinstance(node, n.Literal):
        return node.value
    if isinstance(node, n.Variable):
        return node.name
    if isinstance(node, n.Assign):
        return (node.name, ":=", shape(node.value))
    if isinstance(node, n.Block):
        return ("[", tuple(node.params), tuple(node.temps), *[shape(s) for s in node.body])
    if isinstance(node, n.Return):
        return ("^", shape(node.value))
    if isinstance(node, n.Cascade):
        return ("cascade", shape(node.receiver),
                *[(m.selector, *[shape(a) for a in m.args]) for m in node.messages])
    if isinstance(node, n.BraceArray):
        return ("{", *[shape(s) for s in node.items])
    if isinstance(node, n.LiteralArray):
        return ("#(", node.items)
    return type(node).__name__


# --- literals ------------------------------------------------------------------------------

@pytest.mark.parametrize("source, value", [
    ("42", 42),
    ("-3", -3),
    ("16r1F", 31),
    ("2r1010", 10),
    ("36rZZ", 35 * 36 + 35),
    ("1.5", 1.5),
    ("1.5e3", 1500.0),
    ("2.5e-2", 0.025),
    ("1e3", 1000),
    ("1e-2", Fraction(1, 100)),
    ("-0.5", -0.5),
    ("123456789012345678901234567890", 123456789012345678901234567890),
    ("'it''s'", "it's"),
    ("''", ""),
    ("$a", Character("a")),
    ("$ ", Character(" ")),
    ("$'", Character("'")),
    ("#foo", Symbol("foo")),
    ("#at:put:", Symbol("at:put:")),
    ("#+", Symbol("+")),
    ("#->", Symbol("->")),
    ("#'hello world'", Symbol("hello world")),
    ("true", True), ("false", False), ("nil", None),
])
def test_literals(source: str, value: object) -> None:
    node = expr(source)
    assert isinstance(node, n.Literal)
    assert node.value == value
    assert type(node.value) is type(value)


def test_float_literals_past_the_float_range_are_infinite() -> None:
    import math
    for source in ("1.5e400", "16r1F1.5e316"):  # decimal and radix alike
        (stmt,) = parse(source).statements
        assert stmt.value == math.inf


def test_literal_array_kinds() -> None:
    node = expr("#(1 $a 'x' #y (2 3) true false nil foo at:put: #(4) -5 + 16r10 2.5)")
    assert isinstance(node, n.LiteralArray)
    assert node.items == (1, Character("a"), "x", Symbol("y"), (2, 3), True, False, None,
                          Symbol("foo"), Symbol("at:put:"), (4,), -5, Symbol("+"), 16, 2.5)
    assert type(node.items[8]) is Symbol


def test_brace_array() -> None:
    assert shape(expr("{1. 2 + 3. x}")) == ("{", 1, (2, "+", 3), "x")
    assert shape(expr("{}")) == ("{",)


def test_comments_are_skipped() -> None:
    assert shape(expr('"a comment" 3 "another" + "x" 4')) == (3, "+", 4)


# --- precedence ------------------------------------------------------------------------------

@pytest.mark.parametrize("source, tree", [
    ("3 + 4 * 2", ((3, "+", 4), "*", 2)),
    ("3 + 4 factorial", (3, "+", (4, "factorial"))),
    ("2 raisedTo: 3 + 1", (2, "raisedTo:", (3, "+", 1))),
    ("a at: 1 put: b foo + 2", ("a", "at:put:", 1, (("b", "foo"), "+", 2))),
    ("x foo bar baz", ((("x", "foo"), "bar"), "baz")),
    ("3 - -2", (3, "-", -2)),
    ("x-1", ("x", "-", 1)),
    ("3+-2", (3, "+", -2)),
    ("-5 abs", (-5, "abs")),
    ("(3 + 4) * 2", ((3, "+", 4), "*", 2)),
    ("a := b := 3", ("a", ":=", ("b", ":=", 3))),
    ("x == y | z", (("x", "==", "y"), "|", "z")),
    ("1 -> 2", (1, "->", 2)),
])
def test_precedence(source: str, tree: object) -> None:
    assert shape(expr(source)) == tree


def test_cascade_goes_to_receiver_of_last_message() -> None:
    node = expr("Transcript show: 'a' , 'b'; cr; show: 3 printString")
    assert isinstance(node, n.Cascade)
    assert shape(node) == ("cascade", "Transcript", ("show:", ("a", ",", "b")), ("cr",),
                           ("show:", (3, "printString")))
    node = expr("OrderedCollection new add: 1; add: 2; yourself")
    assert shape(node.receiver) == ("OrderedCollection", "new")


def test_blocks() -> None:
    assert shape(expr("[:a :b | | t | t := a. t + b]")) == (
        "[", ("a", "b"), ("t",), ("t", ":=", "a"), ("t", "+", "b"))
    assert shape(expr("[:x || t | t]")) == ("[", ("x",), ("t",), "t")
    assert shape(expr("[]")) == ("[", (), ())
    assert shape(expr("[:x]")) == ("[", ("x",), ())
    assert shape(expr("[^3]")) == ("[", (), (), ("^", 3))


def test_statements_and_temps() -> None:
    seq = parse("| a b | a := 1. b := 2.\n^a + b.")
    assert seq.temps == ["a", "b"]
    assert [shape(s) for s in seq.statements] == [("a", ":=", 1), ("b", ":=", 2),
                                                  ("^", ("a", "+", "b"))]


# --- positions ----------------------------------------------------------------------------------

def test_every_node_has_line_and_column() -> None:
    seq = parse("x := 3.\n  y foo: [:a | a\n    bar]")
    assign = seq.statements[0]
    assert (assign.line, assign.column) == (1, 1)
    send = seq.statements[1]
    assert isinstance(send, n.Send) and send.selector == "foo:"
    assert (send.line, send.column) == (2, 5)          # the selector
    assert (send.receiver.line, send.receiver.column) == (2, 3)
    block = send.args[0]
    assert (block.line, block.column) == (2, 10)
    bar = block.body[0]
    assert (bar.line, bar.column) == (3, 5)
    assert (bar.receiver.line, bar.receiver.column) == (2, 16)


def test_token_positions() -> None:
    toks = tokenize("a\n  #foo:bar: 'x\ny' $z")
    assert [(t.kind, t.line, t.column) for t in toks] == [
        ("ident", 1, 1), ("symbol", 2, 3), ("string", 2, 13), ("char", 3, 4), ("eof", 3, 6)]


# --- method definitions ---------------------------------------------------------------------------

def test_method_definition_forms() -> None:
    node = expr("counter >> increment [ count := count + 1. ^count ]")
    assert isinstance(node, n.MethodDef)
    assert node.selector == "increment" and node.params == []
    assert node.source == "increment\n\tcount := count + 1. ^count"
    node = expr("genesis >> greet: name [ ^'Hello, ', name ]")
    assert (node.selector, node.params) == ("greet:", ["name"])
    assert node.source == "greet: name\n\t^'Hello, ', name"
    node = expr("p >> + other [ ^other ]")
    assert (node.selector, node.params) == ("+", ["other"])
    node = expr("p >> at: k put: v [\n    | t |\n    t := v.\n    ^t\n]")
    assert node.selector == "at:put:"
    assert node.source == "at: k put: v\n\t| t |\n\tt := v.\n\t^t"
    node = expr("genesis clone >> foo [ ]")
    assert shape(node.receiver) == ("genesis", "clone")
    # not a definition: an ordinary binary send
    assert shape(expr("a >> b")) == ("a", ">>", "b")


def test_parse_stored_method() -> None:
    m = parse_method("at: k put: v\n\t| t |\n\tt := v.\n\t^t")
    assert (m.selector, m.params, m.temps) == ("at:put:", ["k", "v"], ["t"])
    assert len(m.body) == 2


# --- errors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, line, column, fragment", [
    ("3 +", 1, 4, "expected an expression"),
    ("'abc", 1, 1, "unterminated string"),
    ('"abc', 1, 1, "unterminated comment"),
    ("x := (3 + 4", 1, 12, "expected ')'"),
    ("[:a | a", 1, 1, "unterminated block"),
    ("#(1 2", 1, 1, "unterminated literal array"),
    ("3 + 4]", 1, 6, "expected '.'"),
    ("a b: c d: e ;", 1, 14, "expected a message after ';'"),
    ("x := 3.\ny := ]", 2, 6, "expected an expression"),
    ("self := 3", 1, 1, "cannot assign to 'self'"),
    ("16rZ", 1, 4, "expected digits"),
    ("{1. 2", 1, 1, "unterminated brace array"),
    ("`", 1, 1, "unexpected character"),
    ("| a b", 1, 6, "'|' to close the temporaries"),
    ("$", 1, 1, "character literal"),
    ("x ; foo", 1, 3, "cascade"),
    ("#[1 2]", 1, 1, "byte arrays"),
    ("x := 1e99999999", 1, 6, "exponent 99999999 is too large"),
])
def test_syntax_errors_point_at_the_problem(source: str, line: int, column: int,
                                            fragment: str) -> None:
    with pytest.raises(BSTSyntaxError) as info:
        parse(source, "script.bst")
    err = info.value
    assert fragment in err.message
    assert (err.line, err.column) == (line, column)
    pretty = err.pretty()
    assert pretty.startswith(f"script.bst:{line}:{column}: ")
    caret_line = pretty.splitlines()[-1]
    assert caret_line.index("^") == 2 + column - 1


# --- REPL helpers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("source, complete", [
    ("3 + 4", True), ("[:x | x", False), ("'abc", False), ('"comment', False),
    ("#(1 2", False), ("(1 + (2", False), ("{1. 2", False), ("x := [ 3 ]", True),
    ("3 )", True), ("", True), ("`", True),
])
def test_is_complete(source: str, complete: bool) -> None:
    assert is_complete(source) is complete


def test_split_statements() -> None:
    spans = split_statements("| t | x := 3.\n(x + 1) printString. y := [:a | a. a]")
    assert [s.text for s in spans] == ["x := 3", "(x + 1) printString", "y := [:a | a. a]"]
    assert [(s.line, s.column) for s in spans] == [(1, 7), (2, 1), (2, 22)]


def test_stored_method_source_keeps_multiline_strings_exact() -> None:
    node = expr("g >> poem [\n    | a |\n    a := 'one  \n    two'.\n      ^a\n]")
    assert node.source == "poem\n\t| a |\n\ta := 'one  \n    two'.\n\t  ^a"
    method = parse_method(node.source)
    assert method.body[0].value.value == "one  \n    two"
