"""Chain-of-Verification: before writing a missing method, the model proposes examples.

One short generation (``purpose="examples"``) after the same prompt as the method's
(covenant, worked examples, persona codex, brief: the context still holds them from the
candidates, so only the request is evaluated), asking for ``cove_lines`` lines::

    [4] -> 8
    [0] -> 0

each ``ARGUMENTS -> ANSWER`` in Python literals (``self`` for "answers the receiver").
The first line is pre-filled with the send's own arguments, so the first example is
about the actual send. By default only that line is asked for (it stops at the newline:
a few tokens instead of up to 80): measured on the real model, the lines about other
values were wrong about as often as right and cost ~2 s more per miss
(``bench/bench_dnu.py --cove-lines``). :func:`parse_proposals` keeps only the lines that
parse, have the selector's arity, arguments of the same kinds as the send's, and an
answer that is a literal; they become :class:`~batos.lang.contracts.Example` objects marked
``origin="proposed"``. The cycle checks every candidate method against them
(:mod:`batos.mind.candidates`); they are softer than a user's examples.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Sequence

from batos.lang.contracts import Example, arity
from batos.llm.protocol import takes

#: tokens the examples may take (three short lines)
MAX_TOKENS = 80
#: tokens one line (the send's own answer) may take
LINE_TOKENS = 32
#: at most this many examples are kept
MAX_EXAMPLES = 3
STOP = ("```", "\n\n", "<|im_end|>", "<|endoftext|>")
_ARROW = "->"


def literal(value: Any) -> str | None:
    """``value`` as a Python literal that reads back equal, or None (a prototype, a block)."""
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping
    if isinstance(value, PersistentList):
        value = list(value)
    elif isinstance(value, PersistentMapping):
        value = dict(value)
    if not isinstance(value, (bool, int, float, str, list, tuple, dict)) and value is not None:
        return None
    if isinstance(value, str) and type(value) is not str:  # a Symbol: a str subclass
        value = str(value)
    try:
        text = repr(value)
        return text if ast.literal_eval(text) == value and len(text) <= 200 else None
    except (ValueError, SyntaxError, TypeError, RecursionError):
        return None


def can_propose(arguments: Sequence[Any]) -> bool:
    """Whether examples can be written for a send with these ``arguments`` (literals)."""
    return all(literal(a) is not None for a in arguments)


#: how every example line is written (both requests end with it)
_FORMAT = ("ARGUMENTS -> ANSWER\n"
           "ARGUMENTS is a Python list of the arguments ([] when there are none) and "
           "ANSWER a Python literal, or self when it answers the receiver.")


def request(selector: str, lines: int = 3) -> str:
    """The instruction appended to the brief's message (``lines``: 1 asks only for the
    answer to the send's own arguments)."""
    if lines <= 1:
        return (f"Before writing #{selector}, say what it answers for this receiver (its "
                "slots as above) and the message's own arguments, as one line:\n"
                + _FORMAT + " Only the line, no code and no words.")
    return (f"Before writing #{selector}, give 2 or 3 examples of what it answers for "
            "this receiver (its slots as above), one per line:\n" + _FORMAT
            + " The first line uses the message's own arguments; the others use other "
            "small values. Only the lines, no code and no words.")


def prefill(arguments: Sequence[Any]) -> str:
    """The start of the answer: a fence and the first example's arguments (the send's)."""
    return "```\n" + _args_text(arguments) + " " + _ARROW + " "


def _args_text(arguments: Sequence[Any]) -> str:
    return "[" + ", ".join(literal(a) or "None" for a in arguments) + "]"


def _split(line: str) -> tuple[Any, Any] | None:
    """``(args, answer)`` of one ``ARGS -> ANSWER`` line, trying each arrow in turn (a
    string argument may hold one)."""
    start = 0
    while True:
        at = line.find(_ARROW, start)
        if at < 0:
            return None
        left, right = line[:at].strip(), line[at + len(_ARROW):].strip().rstrip(".,;")
        try:
            args = ast.literal_eval(left)
            answer = _SELF if right == "self" else ast.literal_eval(right)
            return args, answer
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            start = at + len(_ARROW)


_SELF = object()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)) or type(value).__name__ == "PersistentList":
        return "list"
    if isinstance(value, dict) or type(value).__name__ == "PersistentMapping":
        return "dict"
    return type(value).__name__


def parse_proposals(text: str, selector: str, arguments: Sequence[Any]) -> list[Example]:
    """The examples in the model's ``text`` (the pre-filled start included) that are
    consistent with the send: right arity, arguments of the same kinds as the send's,
    a literal answer that is not None; a repeated argument list keeps its first answer
    (two different answers for it: neither). At most :data:`MAX_EXAMPLES`."""
    from batos.lang.values import Symbol
    n = arity(selector)
    kinds = [_kind(a) for a in arguments]
    found: list[tuple[list[Any], Any]] = []
    conflicting: set[str] = set()
    for raw in text.replace("```", "\n").splitlines():
        line = raw.strip().lstrip("-*• ").strip()
        if not line or _ARROW not in line:
            continue
        pair = _split(line)
        if pair is None:
            continue
        args, answer = pair
        if not isinstance(args, (list, tuple)) or len(args) != n or answer is None:
            continue
        if [_kind(a) for a in args] != kinds:
            continue
        key = repr(list(args))
        same = [f for f in found if repr(f[0]) == key]
        if same:
            if same[0][1] != answer:
                conflicting.add(key)
            continue
        found.append((list(args), answer))
    out = []
    for args, answer in found:
        if repr(args) in conflicting:
            continue
        expected = Symbol("self") if answer is _SELF else answer
        out.append(Example(args, expected, origin="proposed"))
        if len(out) == MAX_EXAMPLES:
            break
    return out


def propose(backend: Any, messages: list[dict[str, str]], selector: str,
            arguments: Sequence[Any], *, adapters: Sequence[Any] = (),
            prefix: Any = None, seed: int = 0, lines: int = 1,
            on_token: Callable[[str], None] | None = None) -> tuple[list[Example], Any]:
    """Ask ``backend`` for ``lines`` examples of ``selector`` (``messages``: the method's
    prompt messages; the request is appended to the last one). Answers (examples,
    completion). A backend whose ``generate`` takes no ``purpose`` is asked all the same."""
    asked = [dict(m) for m in messages]
    asked[-1]["content"] = asked[-1]["content"] + "\n\n" + request(selector, lines)
    head = prefill(arguments)
    prompt = backend.format_chat(asked) + head
    extra = {"purpose": "examples"} if takes(backend.generate, "purpose") else {}
    one = lines <= 1
    completion = backend.generate(prompt, max_tokens=LINE_TOKENS if one else MAX_TOKENS,
                                  temperature=0.0, seed=seed,
                                  stop=STOP + ("\n",) if one else STOP,
                                  adapters=list(adapters), on_token=on_token,
                                  prefix=prefix, **extra)
    found = parse_proposals(head + completion.text, selector, arguments)
    return found[:max(1, lines)], completion


__all__ = ["propose", "parse_proposals", "can_propose", "literal", "request", "prefill",
           "MAX_TOKENS"]
