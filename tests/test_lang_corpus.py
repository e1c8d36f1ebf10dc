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
def image(tmp_path_factory: pytest.TempPathFactory):
    import batos
    img = batos.open_image(tmp_path_factory.mktemp("corpus") / "corpus.fs")
    yield img
    img.close()


@pytest.mark.parametrize("number,expression,expected", CASES,
                         ids=[f"L{n}" for n, _, _ in CASES])
def test_printstring(image, capsys, number: int, expression: str, expected: str) -> None:
    from batos.errors import BatosError
    from batos.lang import evaluate
    from batos.lang.printing import print_string
    if expected == "ERROR":
        with pytest.raises(BatosError):
            evaluate(image, expression, workspace={})
        image.abort()
        return
    try:
        value = evaluate(image, expression, workspace={})
        assert print_string(value) == expected, f"line {number}: {expression}"
    finally:
        image.abort()
