"""The BST printString corpus: every expression in tests/corpus/printstrings.txt is
evaluated on a fresh image and its printString compared with the Pharo answer."""
from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus" / "printstrings.txt"


def load_corpus() -> list[tuple[int, str, str]]:
    """(line number, expression, expected printString or ``ERROR``)."""
    cases = []
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith('"'):
            continue
        expression, sep, expected = line.rpartition(" ==> ")
        assert sep, f"line {number} has no ' ==> ': {line!r}"
        cases.append((number, expression, expected))
    return cases


CASES = load_corpus()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len({expr for _, expr, _ in CASES}) == len(CASES), "duplicate expressions"


@pytest.fixture(scope="module")
def corpus_image(tmp_path_factory: pytest.TempPathFactory):
    """One image for the whole corpus (each case aborts what it changed)."""
    import batos
    img = batos.open_image(tmp_path_factory.mktemp("corpus") / "corpus.fs")
    yield img
    img.close()


@pytest.mark.parametrize("number,expression,expected", CASES,
                         ids=[f"L{n}" for n, _, _ in CASES])
def test_printstring(corpus_image, capsys, number: int, expression: str, expected: str) -> None:
    from batos.errors import BatosError
    from batos.lang import evaluate
    from batos.lang.printing import print_string
    if expected == "ERROR":
        with pytest.raises(BatosError):
            evaluate(corpus_image, expression, workspace={})
        corpus_image.abort()
        return
    try:
        value = evaluate(corpus_image, expression, workspace={})
        assert print_string(value) == expected, f"line {number}: {expression}"
    finally:
        corpus_image.abort()


# --- printString round trip: printing a literal value and evaluating the text gives it back

def _literals():
    from fractions import Fraction

    from hypothesis import strategies as st

    from batos.lang.values import Character, Symbol
    scalar = st.one_of(
        st.integers(min_value=-(2 ** 80), max_value=2 ** 80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.from_regex(r"[a-z][A-Za-z0-9]{0,6}(:[a-z][A-Za-z0-9]{0,3}:)?", fullmatch=True).map(Symbol),
        st.characters(min_codepoint=33, max_codepoint=0x2FFF).map(Character),
        st.booleans(), st.none(),
    )
    fraction = st.fractions(max_denominator=1000).filter(lambda f: f.denominator != 1).map(Fraction)
    # literal arrays hold literals only (an Array holding a Fraction prints as ``an Array(...)``)
    arrays = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
    return st.one_of(arrays, fraction)


def test_printstring_round_trips_through_the_compiler(corpus_image):
    from hypothesis import HealthCheck, given, settings

    from batos.lang import evaluate
    from batos.lang.printing import print_string

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_literals())
    def round_trip(value):
        text = print_string(value)
        back = evaluate(corpus_image, text, workspace={})
        assert print_string(back) == text
        assert back == value
    try:
        round_trip()
    finally:
        corpus_image.abort()
