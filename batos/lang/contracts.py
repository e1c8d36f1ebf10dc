"""Examples as contracts: what a selector must answer on its object, kept in the image.

A contract belongs to a selector on one object, not to one version of its method:
``root['contracts']`` holds one :class:`ContractTable` per object (``owner`` and a
mapping selector → :class:`Contract`), so redefining the method by hand or by
regeneration keeps it. ``counter teach: #double: examples: {3 -> 6. 5 -> 10}``
writes one (:mod:`batos.mind.contracts`).

Example syntax (BST), each an Association ``ARGUMENTS -> EXPECTED``:

* ARGUMENTS: the argument of a one-argument selector (``3 -> 6``), an Array of the
  arguments of a keyword selector with several (``#(1 2) -> 3``), ``#()`` for a unary one.
* EXPECTED: the answer; or ``{ANSWER. {#slot -> VALUE. ...}}`` — a two-element Array
  whose second element is an Array of Associations keyed by Symbols — for the answer
  and the values the receiver's slots must hold after the send. ``#self`` as the
  answer means "answers the receiver".

Each example runs as a send (the guardian's capability rules hold) inside a savepoint
that is rolled back, so checking a contract never changes the image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import BatosError

if TYPE_CHECKING:
    from batos.image.image import Image
    from batos.image.proto import Proto

ROOT_KEY = "contracts"
SELF = "self"   # the expected answer ``#self``: the receiver itself


class Example(Persistent):
    """One example: the arguments, the expected answer and expected slot values.
    ``origin``: ``"user"`` (taught) or ``"proposed"`` (by the model, Chain-of-Verification)."""

    origin = "user"   # a class default: examples stored before origins existed were taught

    def __init__(self, args: Iterable[Any], expected: Any,
                 slots: dict[str, Any] | None = None, origin: str = "user") -> None:
        self.args = PersistentList(args)
        self.expected = expected
        self.slots = PersistentMapping(slots or {})
        if origin != "user":
            self.origin = origin

    def describe(self, selector: str) -> str:
        """``#double: 3 → 6`` (and ``; count = 3`` for slot expectations)."""
        from batos.lang.printing import print_string
        args = " ".join(print_string(a) for a in self.args)
        want = "the receiver" if _is_self(self.expected) else print_string(self.expected)
        text = f"#{selector}{(' ' + args) if args else ''} → {want}"
        if self.slots:
            text += "; then " + ", ".join(f"{k} = {print_string(v)}"
                                          for k, v in self.slots.items())
        return text


class Contract(Persistent):
    """The examples a selector must satisfy on its object (``origin``: who gave them:
    ``"user"``, or ``"proposed"`` for the examples the model proposed that the method it
    wrote passed — shown as such, for the user to read and re-teach)."""

    origin = "user"

    def __init__(self, selector: str, examples: Iterable[Example], origin: str = "user") -> None:
        self.selector = selector
        self.examples = PersistentList(examples)
        self.origin = origin


class ContractTable(Persistent):
    """One object's contracts, by selector."""

    def __init__(self, owner: "Proto") -> None:
        self.owner = owner
        self.by_selector = PersistentMapping()


@dataclass
class Outcome:
    """One example's result: ``passed``, ``failed`` or ``erred``."""

    owner: str
    selector: str
    example: str
    verdict: str
    detail: str = ""
    answer: str = ""      # the printString of what the send answered (or the error)
    origin: str = "user"  # the example's: "user" or "proposed"


@dataclass
class Report:
    """Every outcome of a verification run."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, verdict: str) -> int:
        return sum(1 for o in self.outcomes if o.verdict == verdict)

    @property
    def ok(self) -> bool:
        return all(o.verdict == "passed" for o in self.outcomes)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict != "passed"]

    def __rich__(self) -> Any:
        from rich.table import Table
        table = Table(title=f"contracts: {self.count('passed')} passed, "
                            f"{self.count('failed')} failed, {self.count('erred')} erred")
        for col in ("object", "selector", "example", "verdict", "detail"):
            table.add_column(col, overflow="fold")
        style = {"passed": "green", "failed": "red", "erred": "yellow"}
        from batos.guardian.hygiene import printable
        for o in self.outcomes:
            proposed = " (proposed)" if o.origin == "proposed" else ""
            table.add_row(printable(o.owner), "#" + printable(o.selector) + proposed,
                          printable(o.example),
                          f"[{style[o.verdict]}]{o.verdict}[/]", printable(o.detail))
        return table


# --- parsing examples ---------------------------------------------------------------------

def _is_self(value: Any) -> bool:
    return isinstance(value, str) and type(value).__name__ == "Symbol" and str(value) == SELF


def arity(selector: str) -> int:
    """How many arguments ``selector`` takes (unary 0, binary 1, keyword one per colon)."""
    if selector.endswith(":"):
        return selector.count(":")
    return 0 if (selector[:1].isalpha() or selector[:1] == "_") else 1


def parse_examples(selector: str, examples: Any) -> list[Example]:
    """Examples from the BST value given to ``teach:examples:`` (see the module doc)."""
    n = arity(selector)
    items = list(examples.items()) if isinstance(examples, dict) else list(examples or [])
    if not items:
        raise BatosError(f"teach #{selector}: give at least one example (ARGUMENTS -> ANSWER)")
    out = []
    for item in items:
        key, value = (item if isinstance(item, tuple) else
                      (getattr(item, "key", None), getattr(item, "value", None)))
        if not hasattr(item, "key") and not isinstance(item, tuple):
            raise BatosError(f"teach #{selector}: each example is ARGUMENTS -> ANSWER, "
                             f"not {item!r}")
        if n == 0:
            args: list[Any] = []
            if key not in (None, [], ()) and not (isinstance(key, (list, tuple)) and not key):
                raise BatosError(f"#{selector} takes no argument: write #() -> ANSWER")
        elif n == 1:
            args = [key]
        else:
            if not isinstance(key, (list, tuple)) or len(key) != n:
                raise BatosError(f"#{selector} takes {n} arguments: write an Array of {n} "
                                 "arguments -> ANSWER")
            args = list(key)
        expected, slots = value, {}
        if (isinstance(value, (list, tuple)) and len(value) == 2
                and isinstance(value[1], (list, tuple)) and value[1]
                and all(hasattr(a, "key") and isinstance(a.key, str) for a in value[1])):
            expected, slots = value[0], {str(a.key): a.value for a in value[1]}
        out.append(Example(args, expected, slots))
    return out


# --- the table in the image ---------------------------------------------------------------

def _tables(image: "Image", create: bool = False) -> Any:
    root = image.root
    if ROOT_KEY not in root:
        if not create:
            return []
        root[ROOT_KEY] = PersistentList()
    return root[ROOT_KEY]


def table_of(image: "Image", obj: "Proto", create: bool = False) -> ContractTable | None:
    """``obj``'s contract table (made when ``create``)."""
    for table in _tables(image, create):
        if table.owner is obj:
            return table
    if not create:
        return None
    table = ContractTable(obj)
    _tables(image, True).append(table)
    return table


def contracts_of(image: "Image", obj: "Proto") -> dict[str, Contract]:
    """``obj``'s contracts by selector (empty when it has none)."""
    table = table_of(image, obj)
    return dict(table.by_selector) if table is not None else {}


def set_contract(image: "Image", obj: "Proto", selector: str, examples: list[Example],
                 origin: str = "user") -> Contract:
    """Store (replace) the contract of ``selector`` on ``obj``."""
    table = table_of(image, obj, create=True)
    assert table is not None
    contract = Contract(selector, examples, origin)
    table.by_selector[selector] = contract
    return contract


def remove_contract(image: "Image", obj: "Proto", selector: str) -> bool:
    """Drop the contract of ``selector`` on ``obj``; whether there was one."""
    table = table_of(image, obj)
    if table is None or selector not in table.by_selector:
        return False
    del table.by_selector[selector]
    return True


def all_contracts(image: "Image", obj: "Proto | None" = None) -> list[tuple[Any, Contract]]:
    """(owner, contract) for every contract in the image (or on ``obj`` only)."""
    out = []
    for table in _tables(image):
        if obj is None or table.owner is obj:
            out += [(table.owner, c) for _, c in sorted(table.by_selector.items())]
    return out


# --- running -------------------------------------------------------------------------------

def _same(answer: Any, expected: Any, receiver: Any) -> bool:
    if _is_self(expected):
        return answer is receiver
    try:
        if type(answer) is bool or type(expected) is bool:
            return type(answer) is type(expected) and answer == expected
        if type(expected) is float and isinstance(answer, (int, float)):
            return _close(float(answer), expected)
        return bool(answer == expected) or (
            isinstance(answer, (list, tuple)) and isinstance(expected, (list, tuple))
            and list(answer) == list(expected))
    except Exception:  # noqa: BLE001 - an odd __eq__ is simply not equal
        return False


def _close(answer: float, expected: float) -> bool:
    """``answer`` equals ``expected`` as far as it was written: 3.33 expects 10/3 to
    show as 3.33 when rounded to its two decimals (a float example is a rounded one)."""
    if math.isclose(answer, expected, rel_tol=1e-9, abs_tol=1e-12):
        return True
    text = repr(expected)
    if "e" in text or "inf" in text or "nan" in text:
        return False
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return decimals < 15 and round(answer, decimals) == expected


def run_example(image: "Image", receiver: "Proto", selector: str, example: Example) -> Outcome:
    """Send ``selector`` with the example's arguments in a savepoint (rolled back)."""
    from batos.errors import LimitExceeded
    from batos.lang.printing import print_string
    owner, text = receiver._display(), example.describe(selector)
    origin = example.origin
    savepoint = image.tm.savepoint()
    try:
        try:
            answer = receiver.send(selector, *list(example.args))
        except (KeyboardInterrupt, LimitExceeded):
            raise
        except Exception as exc:  # noqa: BLE001 - reported, never crashed on
            error = f"{type(exc).__name__}: {exc}"
            return Outcome(owner, selector, text, "erred", error, error, origin)
        shown = "self" if answer is receiver else _show(answer)
        if not _same(answer, example.expected, receiver):
            return Outcome(owner, selector, text, "failed", f"answered {shown}", shown, origin)
        for name, want in example.slots.items():
            found = receiver.lookup(name)
            got = found[1] if found else None
            if not _same(got, want, receiver):
                return Outcome(owner, selector, text, "failed",
                               f"slot {name} = {_show(got)}, expected {print_string(want)}",
                               shown, origin)
        return Outcome(owner, selector, text, "passed", "", shown, origin)
    finally:
        savepoint.rollback()


def _show(value: Any) -> str:
    from batos.lang.printing import print_string
    try:
        return print_string(value)[:120]
    except Exception:  # noqa: BLE001
        return repr(value)[:120]


def check(image: "Image", receiver: "Proto", selector: str,
          examples: Iterable[Example]) -> list[Outcome]:
    """Every example's outcome for ``receiver``'s ``selector``."""
    return [run_example(image, receiver, selector, ex) for ex in examples]


def verify(image: "Image", obj: "Proto | None" = None) -> Report:
    """Run every contract in the image (or on ``obj``): the image's own test suite."""
    report = Report()
    for owner, contract in all_contracts(image, obj):
        report.outcomes += check(image, owner, contract.selector, contract.examples)
    return report


def warn_if_broken(receiver: "Proto", selector: str) -> list[Outcome]:
    """After a hand definition: run the selector's contract and print a warning on the
    transcript when it breaks (installed anyway, like a red test). Answers the failures."""
    from batos.image.image import image_of
    image = image_of(receiver)
    if image is None:
        return []
    table = table_of(image, receiver)
    contract = table.by_selector.get(selector) if table is not None else None
    if contract is None:
        return []
    bad = [o for o in check(image, receiver, selector, contract.examples)
           if o.verdict != "passed"]
    if bad:
        from batos.lang.transcript import transcript
        first = bad[0]
        transcript().show_line(
            f"warning: #{selector} of {receiver._display()} breaks its contract "
            f"({len(bad)} example(s)): {first.example} {first.verdict}: {first.detail}")
    return bad


__all__ = ["Example", "Contract", "ContractTable", "Outcome", "Report", "parse_examples",
           "arity", "table_of", "contracts_of", "set_contract", "remove_contract",
           "all_contracts", "run_example", "check", "verify", "warn_if_broken"]
