"""Fuzzing: the lexer, parser and compiler only ever raise BSTSyntaxError."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batos.errors import BSTSyntaxError
from batos.lang import is_complete, split_statements
from batos.lang.compiler import python_source
from batos.lang.parser import parse, parse_method

# fragments that make syntactically interesting inputs far more often than raw text
FRAGMENTS = ["3", "-4", "16r1F", "1.5e3", "x", "foo", "at:", "put:", "+", "-", "*", ">>",
             ":=", "^", ".", ";", "(", ")", "[", "]", "{", "}", "#(", "#foo", "#at:put:",
             "$a", "'s''t'", "|", ":a", "\"c\"", "ifTrue:", "whileTrue:", "to:", "do:",
             " ", "\n", "self", "nil", "#", "$", "'", "\"", "2r", "e", "1."]

inputs = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=25).map(" ".join),
)

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(inputs)
def test_parser_only_raises_syntax_errors(source: str) -> None:
    try:
        parse(source, "fuzz.bst")
    except BSTSyntaxError as err:
        assert err.line >= 1 and err.column >= 1
        err.pretty()


@SETTINGS
@given(inputs)
def test_method_parser_only_raises_syntax_errors(source: str) -> None:
    try:
        parse_method(source)
    except BSTSyntaxError:
        pass


@SETTINGS
@given(inputs)
def test_whatever_parses_compiles_to_valid_python(source: str) -> None:
    try:
        parse(source)
        text = python_source(source)   # may still refuse e.g. assigning to an argument
    except BSTSyntaxError:
        return
    compile(text, "<fuzz>", "exec")


@SETTINGS
@given(inputs)
def test_repl_helpers_never_crash(source: str) -> None:
    assert is_complete(source) in (True, False)
    try:
        spans = split_statements(source)
    except BSTSyntaxError:
        return
    for span in spans:
        assert source[span.start:span.end] == span.text
