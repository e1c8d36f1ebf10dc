"""Prompts for doesNotUnderstand_: the covenant, worked examples and the mission brief.

The fixed part (system text and worked examples) comes first and never changes
for a persona, so the backend's prefix KV cache serves it on every later miss;
the receiver-specific brief comes last. The assistant turn is pre-filled with
``def <name>(self`` inside a fenced block, so the model continues the method
rather than choosing a format.
"""
from __future__ import annotations

import hashlib
import keyword
from dataclasses import dataclass, field
from typing import Any, Sequence

COVENANT = """\
You write exactly one Python method for a live object in a persistent object image.
Rules (the Persistence Covenant and the security policy):
1. Answer with one function definition only, in a ```python block. Its first parameter is self.
2. The object's slots are attributes: read self.x, write self.x = value. Keep state only in slots.
   Only the listed slots exist; a new slot is created by assigning it.
3. After changing state (assigning self.x, or mutating a list or dict held in a slot) write
   self._p_changed = True as the last statement before returning.
4. The selector names what to compute and the arguments are its inputs: compute the answer
   from them and return it; never print it. Change slots only when the selector asks for a
   change (set, add, remove, push, pop, increment, reset, deposit, toggle, ...); a method
   that only changes state returns self.
5. Imports only inside the function, only from: math, statistics, datetime, json, re, itertools,
   functools, collections, string, textwrap, decimal, fractions, operator, heapq, bisect, random.
6. No files, network, eval, exec, open, globals, and no names starting with an underscore
   except self._p_changed.
7. Keep it short and correct; handle the arguments exactly as the message gives them."""

EXAMPLES: list[tuple[str, str]] = [
    ("""Receiver: a Proto(account)
Slots:
  balance = 100 (int)
  history = [] (list)
Understands: clone, printString, deposit:
Message: #withdraw: with arguments (30)
Python name: withdraw_
Write: def withdraw_(self, amount)""",
     """```python
def withdraw_(self, amount):
    if amount > self.balance:
        raise ValueError("insufficient funds")
    self.balance = self.balance - amount
    self.history.append(-amount)
    self._p_changed = True
    return self.balance
```"""),
    ("""Receiver: a Proto(words)
Slots:
  text = 'the cat sat on the mat' (str)
Understands: clone, printString
Message: #mostCommonWord (no arguments)
Python name: mostCommonWord
Write: def mostCommonWord(self)""",
     """```python
def mostCommonWord(self):
    from collections import Counter
    counts = Counter(self.text.split())
    return counts.most_common(1)[0][0] if counts else None
```"""),
    ("""Receiver: a Proto(geometry)
Slots:
  (none)
Understands: clone, printString
Message: #hypotenuseOf:and: with arguments (3, 4)
Python name: hypotenuseOf_and_
Write: def hypotenuseOf_and_(self, number1, number2)""",
     """```python
def hypotenuseOf_and_(self, number1, number2):
    import math
    return math.hypot(number1, number2)
```"""),
    ("""Receiver: a Proto(game)
Slots:
  players = ['ann', 'bob', 'cy'] (list)
  current = 'bob' (str)
Understands: clone, printString
Message: #nextTurn (no arguments)
Python name: nextTurn
Write: def nextTurn(self)""",
     """```python
def nextTurn(self):
    position = self.players.index(self.current)
    self.current = self.players[(position + 1) % len(self.players)]
    self._p_changed = True
    return self.current
```"""),
    ("""Receiver: a Proto(shelf)
Slots:
  owner = 'Ada' (str)
  books = ['Dune', 'Emma'] (list)
Understands: clone, printString
Message: #describe_yourself (no arguments)
Python name: describe_yourself
Write: def describe_yourself(self)""",
     """```python
def describe_yourself(self):
    titles = ", ".join(self.books) if self.books else "no books"
    return f"I am {self.owner}'s shelf with {len(self.books)} books: {titles}."
```"""),
]


@dataclass
class MissionBrief:
    """Everything the model needs to know about one failed message."""

    receiver: str
    selector: str
    name: str
    params: list[str]
    arguments: list[str]
    slots: list[tuple[str, str, str]]          # (name, preview, type)
    understood: list[str]
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"Receiver: {self.receiver}", "Slots:"]
        if self.slots:
            lines += [f"  {n} = {p} ({t})" for n, p, t in self.slots]
        else:
            lines.append("  (none)")
        lines.append("Understands: " + (", ".join(self.understood) or "(nothing yet)"))
        if self.arguments:
            lines.append(f"Message: #{self.selector} with arguments ({', '.join(self.arguments)})")
        else:
            lines.append(f"Message: #{self.selector} (no arguments)")
        lines.append(f"Python name: {self.name}")
        lines.append(f"Write: def {self.name}({', '.join(['self'] + self.params)})")
        if self.notes:
            lines.append("Relevant notes from the image:")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def param_names(selector: str, nargs: int, arguments: Sequence[Any] = ()) -> list[str]:
    """Parameter names from the argument types (``number``, ``text``, ``items`` …), numbered
    when repeated, so the model reads them as inputs rather than slot names."""
    if nargs == 0:
        return []
    bases = [_type_word(arguments[i]) if i < len(arguments) else "value" for i in range(nargs)]
    names: list[str] = []
    for i, base in enumerate(bases):
        names.append(f"{base}{bases[:i + 1].count(base)}" if bases.count(base) > 1 else base)
    return [n + "_" if keyword.iskeyword(n) else n for n in names]


def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, (int, float)) or type(value).__name__ in ("Fraction", "Decimal"):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ in (
            "PersistentList", "OrderedCollection"):
        return "items"
    if isinstance(value, dict) or type(value).__name__ == "PersistentMapping":
        return "mapping"
    if type(value).__name__ == "Proto":
        return "other"
    return "value"


def system_text(persona_prompt: str | None) -> str:
    """The persona's codex (without its voice: code is not the place for it) + the covenant."""
    lines = [ln for ln in (persona_prompt or "").strip().splitlines()
             if not ln.lower().startswith("voice:")]
    head = ("\n".join(lines).strip() + "\n\n") if lines else ""
    return head + COVENANT


def build_messages(brief: MissionBrief, persona_prompt: str | None,
                   feedback: Sequence[tuple[str, str]] = ()) -> list[dict[str, str]]:
    """Chat messages: system, worked examples, the brief, then earlier failed attempts."""
    messages = [{"role": "system", "content": system_text(persona_prompt)}]
    for ask, answer in EXAMPLES:
        messages.append({"role": "user", "content": ask})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": brief.text()})
    for code, error in feedback:
        messages.append({"role": "assistant", "content": f"```python\n{code.rstrip()}\n```"})
        messages.append({"role": "user", "content":
                         f"That method failed: {error}\nWrite the corrected method "
                         f"def {brief.name}({', '.join(['self'] + brief.params)})."})
    return messages


def prefill(brief: MissionBrief) -> str:
    """The start of the assistant's answer we write for the model."""
    return f"```python\ndef {brief.name}(self"


STOP = ("\n```", "```\n", "\n\n\n", "<|im_end|>", "<|endoftext|>")


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def preview(value: Any, width: int = 60) -> str:
    """A short printString for the brief (never fails, never loads much)."""
    try:
        from batos.lang.printing import print_string
        text = print_string(value)
    except Exception:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def type_name(value: Any) -> str:
    from persistent.list import PersistentList
    from persistent.mapping import PersistentMapping
    if isinstance(value, PersistentList):
        return "list"
    if isinstance(value, PersistentMapping):
        return "dict"
    return type(value).__name__


def extract_code(prefix: str, completion: str) -> str:
    """The method source from the pre-filled start plus the model's continuation.

    Drops a closing fence and anything after the function body (usage examples,
    prose); keeps a trailing newline.
    """
    text = prefix.split("```python\n", 1)[-1] + completion
    text = text.split("```", 1)[0]
    lines = text.splitlines()
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and line.strip() and not line[:1].isspace():
            break  # back at top level: the def has ended
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept) + "\n"
