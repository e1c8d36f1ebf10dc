"""The BST abstract syntax tree: small dataclasses, each with its source position.

Every node carries ``line`` and ``column`` (1-based) and ``start``/``end`` character
offsets into the source it was parsed from. For message sends the position is the
selector's (the first keyword part), which is where a runtime error's caret points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Node:
    """Base of every node: position in the source."""

    line: int
    column: int
    start: int
    end: int


@dataclass(eq=False)
class Literal(Node):
    """A number, string, symbol, character, ``true``/``false``/``nil``."""

    value: Any


@dataclass(eq=False)
class LiteralArray(Node):
    """``#(1 $a 'x' #y (2 3) true nil)``: items are plain values or nested tuples."""

    items: tuple[Any, ...]


@dataclass(eq=False)
class Variable(Node):
    """A name read: temporaries, arguments, slots, workspace and globals, ``self``."""

    name: str


@dataclass(eq=False)
class Assign(Node):
    """``name := value``."""

    name: str
    value: Node


@dataclass(eq=False)
class Send(Node):
    """``receiver selector args`` (unary, binary or keyword)."""

    receiver: Node
    selector: str
    args: list[Node]


@dataclass(eq=False)
class Message:
    """One message of a cascade (its receiver is the cascade's receiver)."""

    selector: str
    args: list[Node]
    line: int
    column: int
    then: list["Message"] = field(default_factory=list)  # chained sends on its result


@dataclass(eq=False)
class Cascade(Node):
    """``receiver m1; m2; m3``: every message goes to the same receiver."""

    receiver: Node
    messages: list[Message]


@dataclass(eq=False)
class Block(Node):
    """``[:a :b | | t | statements]``."""

    params: list[str]
    temps: list[str]
    body: list[Node]


@dataclass(eq=False)
class Return(Node):
    """``^ value``: returns from the enclosing method (non-local from inside a block)."""

    value: Node


@dataclass(eq=False)
class BraceArray(Node):
    """``{a. b + 1}``: an Array of the statements' values."""

    items: list[Node]


@dataclass(eq=False)
class MethodDef(Node):
    """``receiver >> pattern [ body ]``: define a BST method on a prototype.

    ``source`` is the stored Pharo-style method source (pattern, newline, body).
    """

    receiver: Node
    selector: str
    params: list[str]
    temps: list[str]
    body: list[Node]
    source: str


@dataclass(eq=False)
class Sequence(Node):
    """A statement sequence with its declared temporaries (a script or REPL input)."""

    temps: list[str]
    statements: list[Node]


@dataclass(eq=False)
class MethodNode(Node):
    """A whole stored method: ``selector`` with ``params``, temporaries and body."""

    selector: str
    params: list[str]
    temps: list[str]
    body: list[Node]


def children(node: Node) -> list[Node]:
    """The direct sub-nodes of ``node`` (for analyses that walk the tree)."""
    if isinstance(node, Assign):
        return [node.value]
    if isinstance(node, Send):
        return [node.receiver, *node.args]
    if isinstance(node, Cascade):
        out = [node.receiver]
        stack = list(node.messages)
        while stack:
            m = stack.pop()
            out.extend(m.args)
            stack.extend(m.then)
        return out
    if isinstance(node, (Block, MethodNode)):
        return list(node.body)
    if isinstance(node, MethodDef):
        return [node.receiver]  # the body is compiled separately when defined
    if isinstance(node, Return):
        return [node.value]
    if isinstance(node, BraceArray):
        return list(node.items)
    if isinstance(node, Sequence):
        return list(node.statements)
    return []
