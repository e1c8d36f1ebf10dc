"""Fuzzing: the lexer, parser and compiler only ever raise BSTSyntaxError."""
from __future__ import annotations

from typing import Any

import pytest
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


# --- evaluation: generated programs either answer a value or raise a positioned BatosError ----

def _programs() -> st.SearchStrategy[str]:
    literal = st.sampled_from(["0", "1", "-2", "3.5", "(1/3)", "'ab'", "''", "$a", "#foo",
                               "nil", "true", "false", "#(1 $b 'c')", "{1. 2}", "x", "y"])
    unary = st.sampled_from(["printString", "abs", "negated", "size", "isNil", "not",
                             "reversed", "first", "frobnicate", "value", "yourself", "even"])
    binary = st.sampled_from(["+", "-", "*", "/", "//", "\\\\", "<", ">=", "=", "~=", ",",
                              "==", "@", "->", "max:", "at:", "includes:", "and:", "or:"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, unary).map(lambda t: f"({t[0]}) {t[1]}"),
            st.tuples(inner, binary, inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, inner, inner).map(
                lambda t: f"({t[0]}) ifTrue: [{t[1]}] ifFalse: [{t[2]}]"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) and: [{t[1]}]"),
            st.tuples(inner).map(lambda t: f"x := {t[0]}"),
            st.tuples(inner, inner).map(lambda t: f"[:y | {t[0]}. y] value: ({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]}) ifNil: [{t[1]}]"),
            st.tuples(inner).map(lambda t: f"OrderedCollection new add: ({t[0]}); yourself"),
            st.tuples(inner, inner).map(lambda t: f"[1 to: 3 do: [:i | x := ({t[0]})]. {t[1]}] value"),
            st.tuples(inner).map(lambda t: f"[#(1 2) do: [:e | e = 2 ifTrue: [^{t[0]}]]. 0] value"),
        )

    expr = st.recursive(literal, extend, max_leaves=8)
    return st.lists(expr, min_size=1, max_size=3).map(lambda xs: "| x | " + ". ".join(xs))


@pytest.fixture(scope="module")
def fuzz_image(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import os
    os.environ.setdefault("BATOS_LLM", "off")
    import batos
    im = batos.open_image(tmp_path_factory.mktemp("fuzz") / "fuzz.fs")
    yield im
    im.close()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_programs())
def test_evaluation_only_raises_positioned_batos_errors(fuzz_image: Any, source: str) -> None:
    from batos.errors import BatosError, SourceError
    try:
        value = fuzz_image.evaluate(source, workspace={})
    except SourceError as err:
        assert err.line >= 1 and err.column >= 1, (source, err)
        assert err.source == source or err.filename.startswith("<method")
        err.pretty()
    except BatosError as err:  # limits and the like carry no position
        raise AssertionError(f"{type(err).__name__} without a position for {source!r}") from err
    else:
        fuzz_image.print_string(value)
    finally:
        fuzz_image.abort()
