"""The BST abstract syntax tree: small slotted classes, each with its source position.

Every node carries ``line`` and ``column`` (1-based) and ``start``/``end`` character
offsets into the source it was parsed from. For message sends the position is the
selector's (the first keyword part), which is where a runtime error's caret points.
"""
from __future__ import annotations

from typing import Any


class Node:
    """Base of every node: position in the source."""

    __slots__ = ('line', 'column', 'start', 'end')

    def __init__(self, line: int, column: int, start: int, end: int) -> None:
        self.line = line
        self.column = column
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in _fields(type(self)))
        return f"{type(self).__name__}({fields})"


class Literal(Node):
    """A number, string, symbol, character, ``true``/``false``/``nil``."""

    __slots__ = ('value',)

    def __init__(self, line: int, column: int, start: int, end: int, value: Any) -> None:
        Node.__init__(self, line, column, start, end)
        self.value = value


class LiteralArray(Node):
    """``#(1 $a 'x' #y (2 3) true nil)``: items are plain values or nested tuples."""

    __slots__ = ('items',)

    def __init__(self, line: int, column: int, start: int, end: int,
                 items: tuple[Any, ...]) -> None:
        Node.__init__(self, line, column, start, end)
        self.items = items


class Variable(Node):
    """A name read: temporaries, arguments, slots, workspace and globals, ``self``."""

    __slots__ = ('name',)

    def __init__(self, line: int, column: int, start: int, end: int, name: str) -> None:
        Node.__init__(self, line, column, start, end)
        self.name = name


class Assign(Node):
    """``name := value``."""

    __slots__ = ('name', 'value')

    def __init__(self, line: int, column: int, start: int, end: int,
                 name: str, value: Node) -> None:
        Node.__init__(self, line, column, start, end)
        self.name = name
        self.value = value


class Send(Node):
    """``receiver selector args`` (unary, binary or keyword)."""

    __slots__ = ('receiver', 'selector', 'args')

    def __init__(self, line: int, column: int, start: int, end: int,
                 receiver: Node, selector: str, args: list[Node]) -> None:
        Node.__init__(self, line, column, start, end)
        self.receiver = receiver
        self.selector = selector
        self.args = args


class Message:
    """One message of a cascade (its receiver is the cascade's receiver)."""

    __slots__ = ('selector', 'args', 'line', 'column', 'then')

    def __init__(self, selector: str, args: list[Node], line: int, column: int, 
                 then: list["Message"] | None = None) -> None:
        self.selector = selector
        self.args = args
        self.line = line
        self.column = column
        self.then = then if then is not None else []  # chained sends on its result


class Cascade(Node):
    """``receiver m1; m2; m3``: every message goes to the same receiver."""

    __slots__ = ('receiver', 'messages')

    def __init__(self, line: int, column: int, start: int, end: int,
                 receiver: Node, messages: list[Message]) -> None:
        Node.__init__(self, line, column, start, end)
        self.receiver = receiver
        self.messages = messages


class Block(Node):
    """``[:a :b | | t | statements]``."""

    __slots__ = ('params', 'temps', 'body')

    def __init__(self, line: int, column: int, start: int, end: int,
                 params: list[str], temps: list[str], body: list[Node]) -> None:
        Node.__init__(self, line, column, start, end)
        self.params = params
        self.temps = temps
        self.body = body


class Return(Node):
    """``^ value``: returns from the enclosing method (non-local from inside a block)."""

    __slots__ = ('value',)

    def __init__(self, line: int, column: int, start: int, end: int, value: Node) -> None:
        Node.__init__(self, line, column, start, end)
        self.value = value


class BraceArray(Node):
    """``{a. b + 1}``: an Array of the statements' values."""

    __slots__ = ('items',)

    def __init__(self, line: int, column: int, start: int, end: int, items: list[Node]) -> None:
        Node.__init__(self, line, column, start, end)
        self.items = items


class MethodDef(Node):
    """``receiver >> pattern [ body ]``: define a BST method on a prototype.

    ``source`` is the stored Pharo-style method source (pattern, newline, body).
    """

    __slots__ = ('receiver', 'selector', 'params', 'temps', 'body', 'source')

    def __init__(self, line: int, column: int, start: int, end: int,
                 receiver: Node, selector: str, params: list[str], temps: list[str],
                 body: list[Node], source: str) -> None:
        Node.__init__(self, line, column, start, end)
        self.receiver = receiver
        self.selector = selector
        self.params = params
        self.temps = temps
        self.body = body
        self.source = source


class Sequence(Node):
    """A statement sequence with its declared temporaries (a script or REPL input)."""

    __slots__ = ('temps', 'statements')

    def __init__(self, line: int, column: int, start: int, end: int,
                 temps: list[str], statements: list[Node]) -> None:
        Node.__init__(self, line, column, start, end)
        self.temps = temps
        self.statements = statements


class MethodNode(Node):
    """A whole stored method: ``selector`` with ``params``, temporaries and body."""

    __slots__ = ('selector', 'params', 'temps', 'body')

    def __init__(self, line: int, column: int, start: int, end: int,
                 selector: str, params: list[str], temps: list[str], body: list[Node]) -> None:
        Node.__init__(self, line, column, start, end)
        self.selector = selector
        self.params = params
        self.temps = temps
        self.body = body


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


def _fields(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        names.extend(getattr(klass, "__slots__", ()))
    return names
