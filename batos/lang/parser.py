"""The BST parser: tokens → AST (``batos.lang.nodes``) with Smalltalk-80 precedence.

Unary binds tighter than binary, binary tighter than keyword; binary messages are
strictly left to right (``3 + 4 * 2`` is 14). Cascades (``;``) go to the receiver of
the last message. A statement of the form ``receiver >> pattern [ body ]`` defines a
BST method on ``receiver``.
"""
from __future__ import annotations

from typing import Any, NoReturn

from batos.errors import BSTSyntaxError
from batos.lang import nodes as n
from batos.lang.lexer import Token, tokenize
from batos.lang.values import Character, Symbol

RESERVED = {"true": True, "false": False, "nil": None}
PSEUDO = frozenset({"self", "super", "thisContext", "true", "false", "nil"})


class Parser:
    """Recursive-descent parser over one source text."""

    def __init__(self, source: str, filename: str = "<input>") -> None:
        self.src = source
        self.filename = filename
        self.toks = tokenize(source, filename)
        self.i = 0
        self.spans: list[tuple[int, int]] = []  # top-level statement (start, end) offsets

    # -- token helpers ------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            self.fail(f"expected {what}, found {describe(self.tok)}")
        return self.advance()

    def fail(self, message: str, tok: Token | None = None) -> NoReturn:
        tok = tok or self.tok
        raise BSTSyntaxError(message, source=self.src, line=tok.line, column=tok.column,
                             filename=self.filename)

    def _end(self) -> int:
        return self.toks[self.i - 1].end if self.i else 0

    # -- entry points -----------------------------------------------------------------------
    def parse_sequence(self) -> n.Sequence:
        """A whole script / REPL input: temporaries then statements, to end of input."""
        first = self.tok
        temps = self.parse_temps()
        stmts = self.parse_statements(closer="eof", record=True)
        if not self.at("eof"):
            self.fail(f"expected '.' or end of input, found {describe(self.tok)}")
        return n.Sequence(first.line, first.column, first.start, len(self.src), temps, stmts)

    def parse_method(self) -> n.MethodNode:
        """A stored method: pattern, then temporaries and statements."""
        first = self.tok
        selector, params = self.parse_pattern()
        temps = self.parse_temps()
        body = self.parse_statements(closer="eof")
        if not self.at("eof"):
            self.fail(f"expected '.' or end of method, found {describe(self.tok)}")
        return n.MethodNode(first.line, first.column, first.start, len(self.src),
                            selector, params, temps, body)

    # -- structure ----------------------------------------------------------------------------
    def parse_pattern(self) -> tuple[str, list[str]]:
        tok = self.tok
        if tok.kind == "ident":
            self.advance()
            return tok.value, []
        if tok.kind == "binary":
            self.advance()
            arg = self.expect("ident", "an argument name after the binary selector")
            return tok.value, [arg.value]
        if tok.kind == "keyword":
            parts, params = [], []
            while self.at("keyword"):
                parts.append(self.advance().value)
                params.append(self.expect("ident", "an argument name after the keyword").value)
            return "".join(parts), params
        self.fail("expected a message pattern (selector and argument names), "
                  f"found {describe(tok)}")

    def parse_temps(self) -> list[str]:
        names: list[str] = []
        if self.at("binary", "||"):
            self.advance()
            return names
        if not self.at("binary", "|"):
            return names
        self.advance()
        while self.at("ident"):
            tok = self.advance()
            self.check_binding_name(tok)
            names.append(tok.value)
        self.expect_bar("'|' to close the temporaries")
        return names

    def expect_bar(self, what: str) -> None:
        if not self.at("binary", "|"):
            self.fail(f"expected {what}, found {describe(self.tok)}")
        self.advance()

    def check_binding_name(self, tok: Token) -> None:
        if tok.value in PSEUDO:
            self.fail(f"'{tok.value}' is reserved and cannot be used as a variable name", tok)

    def parse_statements(self, closer: str, record: bool = False,
                         opener: Token | None = None) -> list[n.Node]:
        stmts: list[n.Node] = []
        while not self.at(closer) and not self.at("eof"):
            if self.at("period"):
                self.advance()
                continue
            start = self.tok.start
            stmts.append(self.parse_statement())
            if record:
                self.spans.append((start, self._end()))
            if self.at("period"):
                self.advance()
            elif isinstance(stmts[-1], n.MethodDef) and not self.at("eof"):
                continue  # `receiver >> pattern [ ... ]` ends at its ']'
            elif self.at("eof") and opener is not None:
                self.fail(f"unterminated {_OPENERS[closer]}: missing {_closer_text(closer)}",
                          opener)
            elif not self.at(closer):
                self.fail(f"expected '.' or {_closer_text(closer)} after the statement, "
                          f"found {describe(self.tok)}")
        return stmts

    def parse_statement(self) -> n.Node:
        if self.at("caret"):
            tok = self.advance()
            value = self.parse_expression(allow_def=False)
            return n.Return(tok.line, tok.column, tok.start, self._end(), value)
        return self.parse_expression(allow_def=True)

    # -- expressions ----------------------------------------------------------------------------
    def parse_expression(self, allow_def: bool = False) -> n.Node:
        tok = self.tok
        if tok.kind == "ident" and self.peek().kind == "assign":
            self.check_assignable(tok)
            self.advance()
            self.advance()
            value = self.parse_expression()
            return n.Assign(tok.line, tok.column, tok.start, self._end(), tok.value, value)
        expr = self.parse_keyword(allow_def)
        if self.at("semicolon"):
            if isinstance(expr, n.MethodDef):
                self.fail("a cascade cannot follow a method definition")
            return self.parse_cascade(expr)
        return expr

    def check_assignable(self, tok: Token) -> None:
        if tok.value in PSEUDO:
            self.fail(f"cannot assign to '{tok.value}'", tok)

    def parse_cascade(self, expr: n.Node) -> n.Cascade:
        if not isinstance(expr, n.Send):
            self.fail("a cascade ';' must follow a message send")
        first = n.Message(expr.selector, expr.args, expr.line, expr.column)
        messages = [first]
        while self.at("semicolon"):
            self.advance()
            messages.append(self.parse_cascade_part())
        return n.Cascade(expr.line, expr.column, expr.start, self._end(), expr.receiver, messages)

    def parse_cascade_part(self) -> n.Message:
        tok = self.tok
        if tok.kind == "ident":
            self.advance()
            msg = n.Message(tok.value, [], tok.line, tok.column)
        elif tok.kind == "binary":
            self.advance()
            msg = n.Message(tok.value, [self.parse_unary()], tok.line, tok.column)
        elif tok.kind == "keyword":
            selector, args = self.parse_keyword_parts()
            msg = n.Message(selector, args, tok.line, tok.column)
        else:
            self.fail(f"expected a message after ';', found {describe(tok)}")
        # further messages in this part go to the result of the first one
        while self.tok.kind in ("ident", "binary", "keyword"):
            t = self.tok
            if t.kind == "ident":
                self.advance()
                msg.then.append(n.Message(t.value, [], t.line, t.column))
            elif t.kind == "binary":
                self.advance()
                msg.then.append(n.Message(t.value, [self.parse_unary()], t.line, t.column))
            else:
                selector, args = self.parse_keyword_parts()
                msg.then.append(n.Message(selector, args, t.line, t.column))
        return msg

    def parse_keyword_parts(self) -> tuple[str, list[n.Node]]:
        parts: list[str] = []
        args: list[n.Node] = []
        while self.at("keyword"):
            parts.append(self.advance().value)
            args.append(self.parse_binary())
        return "".join(parts), args

    def parse_keyword(self, allow_def: bool = False) -> n.Node:
        receiver = self.parse_binary(allow_def)
        if isinstance(receiver, n.MethodDef) or not self.at("keyword"):
            return receiver
        tok = self.tok
        selector, args = self.parse_keyword_parts()
        return n.Send(tok.line, tok.column, receiver.start, self._end(), receiver, selector, args)

    def parse_binary(self, allow_def: bool = False) -> n.Node:
        left = self.parse_unary()
        while self.at("binary"):
            tok = self.tok
            if allow_def and tok.value == ">>" and self.is_method_def():
                return self.parse_method_def(left)
            self.advance()
            right = self.parse_unary()
            left = n.Send(tok.line, tok.column, left.start, self._end(), left, tok.value, [right])
        return left

    def parse_unary(self) -> n.Node:
        node = self.parse_primary()
        while self.at("ident"):
            tok = self.advance()
            node = n.Send(tok.line, tok.column, node.start, tok.end, node, tok.value, [])
        return node

    def parse_primary(self) -> n.Node:
        tok = self.tok
        kind = tok.kind
        if kind == "ident":
            self.advance()
            if tok.value in RESERVED:
                return n.Literal(tok.line, tok.column, tok.start, tok.end, RESERVED[tok.value])
            return n.Variable(tok.line, tok.column, tok.start, tok.end, tok.value)
        if kind in ("number", "string"):
            self.advance()
            return n.Literal(tok.line, tok.column, tok.start, tok.end, tok.value)
        if kind == "symbol":
            self.advance()
            return n.Literal(tok.line, tok.column, tok.start, tok.end, Symbol(tok.value))
        if kind == "char":
            self.advance()
            return n.Literal(tok.line, tok.column, tok.start, tok.end, Character(tok.value))
        if kind == "hashparen":
            self.advance()
            items = self.parse_literal_array_items(tok)
            return n.LiteralArray(tok.line, tok.column, tok.start, self._end(), items)
        if kind == "lparen":
            self.advance()
            expr = self.parse_expression()
            self.expect("rparen", "')'")
            return expr
        if kind == "lbracket":
            return self.parse_block()
        if kind == "lbrace":
            self.advance()
            elements = self.parse_statements(closer="rbrace", opener=tok)
            if any(isinstance(s, n.Return) for s in elements):
                self.fail("'^' is not allowed inside a brace array")
            self.expect("rbrace", "'}'")
            return n.BraceArray(tok.line, tok.column, tok.start, self._end(), elements)
        if kind == "eof":
            self.fail("unexpected end of input: expected an expression")
        self.fail(f"expected an expression, found {describe(tok)}")

    def parse_literal_array_items(self, open_tok: Token) -> tuple[Any, ...]:
        items: list[Any] = []
        while True:
            tok = self.tok
            kind = tok.kind
            if kind == "rparen":
                self.advance()
                return tuple(items)
            if kind == "eof":
                self.fail("unterminated literal array: missing ')'", open_tok)
            self.advance()
            if kind in ("number", "string"):
                items.append(tok.value)
            elif kind == "char":
                items.append(Character(tok.value))
            elif kind == "symbol":
                items.append(Symbol(tok.value))
            elif kind == "ident":
                items.append(RESERVED[tok.value] if tok.value in RESERVED else Symbol(tok.value))
            elif kind == "keyword":
                text = tok.value
                while self.at("keyword") and self.tok.start == self.toks[self.i - 1].end:
                    text += self.advance().value
                items.append(Symbol(text))
            elif kind == "binary":
                nxt = self.tok
                if tok.value == "-" and nxt.kind == "number" and nxt.start == tok.end:
                    self.advance()
                    items.append(-nxt.value)
                else:
                    items.append(Symbol(tok.value))
            elif kind in ("lparen", "hashparen"):
                items.append(self.parse_literal_array_items(tok))
            elif kind == "lbrace" or kind == "lbracket":
                self.fail(f"{describe(tok)} is not allowed inside a literal array", tok)
            else:
                items.append(Symbol(str(tok.value)))

    def parse_block(self) -> n.Block:
        open_tok = self.advance()
        params: list[str] = []
        while self.at("colon"):
            self.advance()
            name_tok = self.expect("ident", "a block parameter name after ':'")
            self.check_binding_name(name_tok)
            params.append(name_tok.value)
        temps: list[str] = []
        if params:
            if self.at("binary", "||"):
                # `[:x || t | ...]`: the parameter bar and the temporaries' opening bar
                self.advance()
                temps = self.parse_temp_names()
            elif self.at("binary", "|"):
                self.advance()
            elif not self.at("rbracket"):
                self.fail(f"expected '|' after the block parameters, found {describe(self.tok)}")
        if not temps:
            temps = self.parse_temps()
        body = self.parse_statements(closer="rbracket", opener=open_tok)
        if not self.at("rbracket"):
            self.fail("unterminated block: missing ']'", open_tok)
        self.advance()
        return n.Block(open_tok.line, open_tok.column, open_tok.start, self._end(),
                       params, temps, body)

    def parse_temp_names(self) -> list[str]:
        names: list[str] = []
        while self.at("ident"):
            tok = self.advance()
            self.check_binding_name(tok)
            names.append(tok.value)
        self.expect_bar("'|' to close the temporaries")
        return names

    # -- method definitions ------------------------------------------------------------------------
    def is_method_def(self) -> bool:
        """Whether the tokens after ``>>`` are a message pattern followed by ``[``."""
        j = self.i + 1
        toks = self.toks
        kind = toks[j].kind
        if kind == "ident":
            return toks[j + 1].kind == "lbracket"
        if kind == "binary":
            return toks[j + 1].kind == "ident" and toks[j + 2].kind == "lbracket"
        if kind == "keyword":
            while toks[j].kind == "keyword" and toks[j + 1].kind == "ident":
                j += 2
            return toks[j].kind == "lbracket" and j > self.i + 1
        return False

    def parse_method_def(self, receiver: n.Node) -> n.MethodDef:
        op = self.advance()
        pattern_start = self.tok.start
        selector, params = self.parse_pattern()
        pattern_text = " ".join(self.src[pattern_start:self._end()].split())
        for name in params:
            if name in PSEUDO:
                self.fail(f"'{name}' is reserved and cannot be an argument name")
        open_tok = self.expect("lbracket", "'[' to start the method body")
        temps = self.parse_temps()
        body = self.parse_statements(closer="rbracket", opener=open_tok)
        if not self.at("rbracket"):
            self.fail("unterminated method body: missing ']'", open_tok)
        close = self.advance()
        source = method_source(pattern_text, self.src[open_tok.end:close.start])
        return n.MethodDef(op.line, op.column, receiver.start, close.end, receiver, selector,
                           params, temps, body, source)


def method_source(pattern: str, body: str) -> str:
    """Pharo-style stored source: the pattern, then the body lines dedented and indented
    by a tab. Text inside multi-line string literals is kept exactly."""
    inside: set[int] = set()     # 1-based body lines that begin inside a string literal
    keep_end: set[int] = set()   # lines whose end is inside a string literal
    for tok in tokenize(body):
        if tok.kind in ("string", "symbol") and "\n" in body[tok.start:tok.end]:
            last = tok.line + body.count("\n", tok.start, tok.end)
            inside.update(range(tok.line + 1, last + 1))
            keep_end.update(range(tok.line, last))
    lines = body.split("\n")
    plain = [line for no, line in enumerate(lines[1:], 2) if no not in inside and line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in plain), default=0)
    out = [pattern]
    first = lines[0].strip() if 1 not in keep_end else lines[0].lstrip()
    if first:
        out.append("\t" + first)
    for no, line in enumerate(lines[1:], 2):
        if no in inside:
            out.append(line if no in keep_end else line.rstrip())
        elif line.strip():
            text = line[indent:] if no in keep_end else line[indent:].rstrip()
            out.append("\t" + text)
        else:
            out.append("")
    while len(out) > 1 and not out[-1]:
        out.pop()
    return "\n".join(out)


def describe(tok: Token) -> str:
    """A token as words for error messages."""
    if tok.kind == "eof":
        return "end of input"
    if tok.kind == "string":
        return "a string"
    if tok.kind == "number":
        return f"the number {tok.value}"
    return f"'{tok.value}'" if tok.value is not None else tok.kind


_OPENERS = {"rbracket": "block", "rbrace": "brace array"}


def _closer_text(closer: str) -> str:
    return {"eof": "end of input", "rbracket": "']'", "rbrace": "'}'"}[closer]


def parse(source: str, filename: str = "<input>") -> n.Sequence:
    """Parse a script or REPL input into a :class:`~batos.lang.nodes.Sequence`."""
    return Parser(source, filename).parse_sequence()


def parse_method(source: str, filename: str = "<method>") -> n.MethodNode:
    """Parse a stored method (pattern, temporaries, statements)."""
    return Parser(source, filename).parse_method()
