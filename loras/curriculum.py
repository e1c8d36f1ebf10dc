"""BRICK's curriculum: intents taught with examples, so the image's own verified work
becomes the golden dataset the Forge trains on (rejection sampling: a method enters
only if it passed its contract).

    python loras/curriculum.py IMAGE.fs          # teach every intent (model warm, ~3 s each)
    batos forge dataset BRICK --image IMAGE.fs   # what it collected
    batos forge train BRICK --image IMAGE.fs     # forge, evaluate, incarnate if not worse

None of these selectors is in bench/bench_dnu.py's or bench/intents.py's evaluation sets.
Each intent is ``(selector, starting slots, examples)``; an example is ``(arguments,
answer)`` or ``(arguments, ("self", {slot: value}))`` for a change of state.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

S = "self"

CURRICULUM: list[tuple[str, dict, list[tuple[tuple, Any]]]] = [
    # numbers
    ("quadruple:", {}, [((2,), 8), ((5,), 20)]),
    ("halfOf:", {}, [((10,), 5), ((7,), 3.5)]),
    ("squareRootOf:", {}, [((16,), 4), ((81,), 9)]),
    ("isOdd:", {}, [((3,), True), ((4,), False)]),
    ("isMultipleOf:by:", {}, [((9, 3), True), ((10, 4), False)]),
    ("sumUpTo:", {}, [((4,), 10), ((1,), 1)]),
    ("powerOf:to:", {}, [((2, 5), 32), ((3, 2), 9)]),
    ("remainderOf:by:", {}, [((10, 3), 1), ((8, 4), 0)]),
    ("minOf:and:", {}, [((3, 9), 3), ((7, 2), 2)]),
    ("signOf:", {}, [((-4,), -1), ((0,), 0), ((6,), 1)]),
    ("roundTo2:", {}, [((3.14159,), 3.14), ((2.5,), 2.5)]),
    ("kelvinOf:", {}, [((0,), 273.15), ((100,), 373.15)]),
    ("hoursToMinutes:", {}, [((2,), 120), ((0,), 0)]),
    ("areaOfSquare:", {}, [((4,), 16), ((1,), 1)]),
    ("perimeterOf:by:", {}, [((2, 3), 10), ((1, 1), 4)]),
    ("countDigits:", {}, [((12345,), 5), ((7,), 1)]),
    ("reverseNumber:", {}, [((123,), 321), ((40,), 4)]),
    ("isDivisibleBy3:", {}, [((9,), True), ((10,), False)]),
    ("tenPercentOf:", {}, [((50,), 5), ((200,), 20)]),
    ("lcmOf:and:", {}, [((4, 6), 12), ((3, 5), 15)]),
    # numbers held in slots
    ("total", {"numbers": [1, 2, 3]}, [((), 6)]),
    ("product", {"numbers": [2, 3, 4]}, [((), 24)]),
    ("biggest", {"numbers": [4, 11, 7]}, [((), 11)]),
    ("positives", {"numbers": [-1, 2, -3, 4]}, [((), [2, 4])]),
    ("doubled", {"numbers": [1, 2, 3]}, [((), [2, 4, 6])]),
    ("countBelow:", {"numbers": [1, 5, 8, 2]}, [((5,), 2), ((9,), 4)]),
    ("firstItem", {"items": [7, 8, 9]}, [((), 7)]),
    ("itemCount", {"items": ["a", "b"]}, [((), 2)]),
    ("hasItem:", {"items": [1, 2]}, [((2,), True), ((5,), False)]),
    ("indexOfItem:", {"items": ["x", "y", "z"]}, [(("y",), 2)]),
    ("reversedItems", {"items": [1, 2, 3]}, [((), [3, 2, 1])]),
    ("squaredItems", {"items": [2, 3]}, [((), [4, 9])]),
    ("sumOfSquares", {"items": [1, 2, 3]}, [((), 14)]),
    ("itemsAbove:", {"items": [1, 6, 3, 9]}, [((4,), [6, 9])]),
    # strings
    ("upper:", {}, [(("abc",), "ABC")]),
    ("lower:", {}, [(("AbC",), "abc")]),
    ("firstWordOf:", {}, [(("hello big world",), "hello")]),
    ("lastWordOf:", {}, [(("hello big world",), "world")]),
    ("wordsOf:", {}, [(("a b c",), ["a", "b", "c"])]),
    ("lengthOf:", {}, [(("hello",), 5)]),
    ("repeat:times:", {}, [(("ab", 3), "ababab")]),
    ("startsWithA:", {}, [(("apple",), True), (("pear",), False)]),
    ("endsWith:suffix:", {}, [(("report.txt", ".txt"), True), (("a.py", ".txt"), False)]),
    ("countSpaces:", {}, [(("a b c",), 2)]),
    ("joinWithDash:", {}, [((["a", "b", "c"],), "a-b-c")]),
    ("trimmed:", {}, [(("  hi  ",), "hi")]),
    ("firstLetterOf:", {}, [(("zebra",), "z")]),
    ("isAllDigits:", {}, [(("123",), True), (("12a",), False)]),
    ("titleOf:", {}, [(("war and peace",), "War And Peace")]),
    ("replaceSpaces:", {}, [(("a b c",), "a_b_c")]),
    ("doubleLetters:", {}, [(("hi",), "hhii")]),
    ("middleLetterOf:", {}, [(("abcde",), "c")]),
    ("greeting", {"name": "Ada"}, [((), "Hello, Ada!")]),
    ("nameLength", {"name": "Grace"}, [((), 5)]),
    ("upperName", {"name": "ada"}, [((), "ADA")]),
    ("label", {"title": "Dune", "year": 1965}, [((), "Dune (1965)")]),
    # state
    ("incrementBy:", {"count": 1}, [((5,), (S, {"count": 6}))]),
    ("decrementBy:", {"count": 10}, [((3,), (S, {"count": 7}))]),
    ("double", {"count": 4}, [((), (S, {"count": 8}))]),
    ("setName:", {"name": ""}, [(("Bo",), (S, {"name": "Bo"}))]),
    ("addTag:", {"tags": ["a"]}, [(("b",), (S, {"tags": ["a", "b"]}))]),
    ("removeTag:", {"tags": ["a", "b"]}, [(("a",), (S, {"tags": ["b"]}))]),
    ("clearTags", {"tags": ["a", "b"]}, [((), (S, {"tags": []}))]),
    ("switchOn", {"on": False}, [((), (S, {"on": True}))]),
    ("payOut:", {"balance": 100}, [((40,), (S, {"balance": 60}))]),
    ("addInterest:", {"balance": 100}, [((10,), (S, {"balance": 110}))]),
    ("dequeue", {"queue": [1, 2, 3]}, [((), 1)]),
    ("peek", {"stack": [1, 2, 3]}, [((), 3)]),
    ("levelUp", {"level": 1}, [((), (S, {"level": 2}))]),
    ("resetScore", {"score": 42}, [((), (S, {"score": 0}))]),
    ("rememberItem:", {"items": []}, [((4,), (S, {"items": [4]}))]),
]


def bst(value: Any) -> str:
    """``value`` as a BST literal."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "nil"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (list, tuple)):
        return "{" + ". ".join(bst(v) for v in value) + "}"
    return repr(value)


def example(args: tuple, answer: Any) -> str:
    key = bst(args[0]) if len(args) == 1 else ("#()" if not args else bst(list(args)))
    if isinstance(answer, tuple) and answer and answer[0] == S:
        slots = ". ".join(f"#{k} -> {bst(v)}" for k, v in answer[1].items())
        return f"{key} -> {{#self. {{{slots}}}}}"
    return f"{key} -> {bst(answer)}"


def main(path: str) -> int:
    import batos
    ok = 0
    with batos.open_image(Path(path)) as image:
        for i, (selector, slots, examples) in enumerate(CURRICULUM):
            name = f"lesson{i}"
            obj = image.globals["genesis"].clone()
            for key, value in slots.items():
                obj.set_slot(key, value)
            image.globals[name] = obj
            image.commit(f"curriculum subject {name}")
            source = (f"{name} teach: #{selector} examples: "
                      f"{{{'. '.join(example(a, r) for a, r in examples)}}}")
            t0 = time.perf_counter()
            try:
                image.execute(lambda: image.evaluate(source), note=f"curriculum {selector}")
                ok += 1
                verdict = "ok "
            except Exception as exc:  # a failed lesson is data: it stays out of the dataset
                verdict = f"BAD {type(exc).__name__}: {str(exc)[:120]}"
            print(f"{verdict} {selector:<24} {time.perf_counter() - t0:5.1f} s", flush=True)
    print(f"{ok}/{len(CURRICULUM)} lessons learned")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "curriculum.fs"))
