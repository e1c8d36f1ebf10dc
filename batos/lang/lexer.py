"""The BST lexer: source text → tokens with line, column and offsets.

Token kinds: ``ident`` (``foo``), ``keyword`` (``at:``), ``binary`` (any run of
``+-*/\\<>=~@%|&?,``), ``number``, ``string``, ``symbol``, ``char``, ``assign`` (``:=``),
``colon`` (block parameter ``:``), ``caret``, ``period``, ``semicolon``, ``lparen``,
``rparen``, ``lbracket``, ``rbracket``, ``lbrace``, ``rbrace``, ``hashparen`` (``#(``),
``eof``. Comments ``"…"`` are skipped. A ``-`` directly before a digit is part of a
negative number unless the previous token ends an operand (``x-1`` is a subtraction).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from batos.errors import BSTSyntaxError

BINARY_CHARS = frozenset("+-*/\\<>=~@%|&?,")
MAX_EXPONENT = 4000  # Python prints at most 4300-digit integers
_OPERAND_END = frozenset({"ident", "number", "string", "symbol", "char", "rparen",
                          "rbracket", "rbrace"})
_SINGLE = {".": "period", ";": "semicolon", "(": "lparen", ")": "rparen", "[": "lbracket",
           "]": "rbracket", "{": "lbrace", "}": "rbrace", "^": "caret"}


class Token:
    """One token: ``kind``, its ``value`` (text, or the literal's value) and position."""

    __slots__ = ("kind", "value", "line", "column", "start", "end")

    def __init__(self, kind: str, value: Any, line: int, column: int, start: int,
                 end: int) -> None:
        self.kind = kind
        self.value = value
        self.line = line
        self.column = column
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.line}:{self.column})"


class Lexer:
    """Tokenizes one source text; raise :class:`BSTSyntaxError` on malformed input."""

    def __init__(self, source: str, filename: str = "<input>") -> None:
        self.src = source
        self.filename = filename
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []

    # -- helpers ---------------------------------------------------------------------------
    def error(self, message: str, offset: int | None = None) -> BSTSyntaxError:
        """A syntax error at ``offset`` (default: the current position)."""
        line, col = position_of(self.src, self.pos if offset is None else offset)
        return BSTSyntaxError(message, source=self.src, line=line, column=col,
                              filename=self.filename)

    def _peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.src[i] if i < len(self.src) else ""

    def _newline_at(self, i: int) -> None:
        self.line += 1
        self.line_start = i + 1

    def _add(self, kind: str, value: Any, start: int, line: int, col: int) -> None:
        self.tokens.append(Token(kind, value, line, col, start, self.pos))

    # -- main loop -------------------------------------------------------------------------
    def tokenize(self) -> list[Token]:
        """All tokens, ending with one ``eof`` token."""
        src = self.src
        n = len(src)
        while True:
            self._skip_blanks()
            if self.pos >= n:
                break
            start, line, col = self.pos, self.line, self.pos - self.line_start + 1
            c = src[self.pos]
            if c.isalpha() or c == "_":
                self._ident(start, line, col)
            elif _isdigit(c):
                self._number(start, line, col, negative=False)
            elif c == "-" and _isdigit(self._peek(1)) and not self._after_operand():
                self.pos += 1
                self._number(start, line, col, negative=True)
            elif c == "'":
                self._add("string", self._string(), start, line, col)
            elif c == "$":
                if self.pos + 1 >= n:
                    raise self.error("a character literal needs a character after '$'")
                ch = src[self.pos + 1]
                self.pos += 2
                if ch == "\n":
                    self._newline_at(self.pos - 1)
                self._add("char", ch, start, line, col)
            elif c == "#":
                self._hash(start, line, col)
            elif c == ":":
                if self._peek(1) == "=":
                    self.pos += 2
                    self._add("assign", ":=", start, line, col)
                else:
                    self.pos += 1
                    self._add("colon", ":", start, line, col)
            elif c in _SINGLE:
                self.pos += 1
                self._add(_SINGLE[c], c, start, line, col)
            elif c in BINARY_CHARS:
                self._binary(start, line, col)
            else:
                raise self.error(f"unexpected character {c!r}")
        self.tokens.append(Token("eof", None, self.line, self.pos - self.line_start + 1,
                                 self.pos, self.pos))
        return self.tokens

    def _after_operand(self) -> bool:
        return bool(self.tokens) and self.tokens[-1].kind in _OPERAND_END

    def _skip_blanks(self) -> None:
        src, n = self.src, len(self.src)
        while self.pos < n:
            c = src[self.pos]
            if c == "\n":
                self._newline_at(self.pos)
                self.pos += 1
            elif c.isspace():
                self.pos += 1
            elif c == '"':
                start = self.pos
                end = src.find('"', self.pos + 1)
                if end < 0:
                    raise self.error("unterminated comment (missing closing \")", start)
                for i in range(self.pos, end):
                    if src[i] == "\n":
                        self._newline_at(i)
                self.pos = end + 1
            else:
                break

    def _ident(self, start: int, line: int, col: int) -> None:
        src, n = self.src, len(self.src)
        i = self.pos
        while i < n and (src[i].isalnum() or src[i] == "_"):
            i += 1
        name = src[self.pos:i]
        if i < n and src[i] == ":" and (i + 1 >= n or src[i + 1] != "="):
            self.pos = i + 1
            self._add("keyword", name + ":", start, line, col)
        else:
            self.pos = i
            self._add("ident", name, start, line, col)

    def _digits(self, radix: int) -> str:
        src, n = self.src, len(self.src)
        i = self.pos
        while i < n and _digit_value(src[i]) < radix:
            i += 1
        text = src[self.pos:i]
        self.pos = i
        return text

    def _number(self, start: int, line: int, col: int, negative: bool) -> None:
        whole = self._digits(10)
        radix = 10
        if self._peek() == "r" and _digit_value(self._peek(1)) < 36:
            radix = int(whole)
            if not 2 <= radix <= 36:
                raise self.error(f"radix {radix} is not between 2 and 36", start)
            self.pos += 1
            whole = self._digits(radix)
            if not whole:
                raise self.error(f"expected digits in radix {radix} after 'r'")
        value: Any = int(whole, radix)
        frac_digits = ""
        if self._peek() == "." and _digit_value(self._peek(1)) < radix:
            self.pos += 1
            frac_digits = self._digits(radix)
        exponent = 0
        has_exp = False
        if self._peek() == "e" and (_isdigit(self._peek(1))
                                    or (self._peek(1) == "-" and _isdigit(self._peek(2)))):
            self.pos += 1
            sign = 1
            if self._peek() == "-":
                sign = -1
                self.pos += 1
            exponent = sign * int(self._digits(10))
            has_exp = True
            if abs(exponent) > MAX_EXPONENT:  # 1e99999999 would take minutes to compute
                raise self.error(f"exponent {exponent} is too large (at most {MAX_EXPONENT})",
                                 start)
        if frac_digits:
            if radix == 10:
                text = f"{whole}.{frac_digits}" + (f"e{exponent}" if has_exp else "")
                value = float(text)
            else:
                exact = (Fraction(int(whole + frac_digits, radix), radix ** len(frac_digits))
                         * Fraction(radix) ** exponent)
                try:
                    value = float(exact)
                except OverflowError:  # as float('1e400') is: the float is infinite
                    value = math.inf
        elif has_exp:
            scaled = Fraction(value) * Fraction(radix) ** exponent
            value = int(scaled) if scaled.denominator == 1 else scaled
        if negative:
            value = -value
        self._add("number", value, start, line, col)

    def _string(self) -> str:
        src, n = self.src, len(self.src)
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            end = src.find("'", self.pos)
            if end < 0:
                raise self.error("unterminated string (missing closing ')", start)
            parts.append(src[self.pos:end])
            for i in range(self.pos, end):
                if src[i] == "\n":
                    self._newline_at(i)
            if end + 1 < n and src[end + 1] == "'":
                parts.append("'")
                self.pos = end + 2
                continue
            self.pos = end + 1
            return "".join(parts)

    def _hash(self, start: int, line: int, col: int) -> None:
        src, n = self.src, len(self.src)
        nxt = self._peek(1)
        if nxt == "(":
            self.pos += 2
            self._add("hashparen", "#(", start, line, col)
        elif nxt == "[":
            raise self.error("byte arrays #[...] are not supported")
        elif nxt == "'":
            self.pos += 1
            self._add("symbol", self._string(), start, line, col)
        elif nxt.isalpha() or nxt == "_":
            i = self.pos + 1
            while i < n and (src[i].isalnum() or src[i] in "_:"):
                i += 1
            self.pos = i
            self._add("symbol", src[start + 1:i], start, line, col)
        elif nxt and nxt in BINARY_CHARS:
            i = self.pos + 1
            while i < n and src[i] in BINARY_CHARS:
                i += 1
            self.pos = i
            self._add("symbol", src[start + 1:i], start, line, col)
        elif nxt == "#":
            self.pos += 1  # ##foo is the same symbol as #foo
            self._hash(start, line, col)
        else:
            raise self.error("expected a symbol, string or '(' after '#'")

    def _binary(self, start: int, line: int, col: int) -> None:
        src, n = self.src, len(self.src)
        i = self.pos
        while i < n and src[i] in BINARY_CHARS:
            i += 1
        # `3+-2`: a trailing '-' glued to a digit starts a negative literal
        if i - self.pos > 1 and src[i - 1] == "-" and i < n and _isdigit(src[i]):
            i -= 1
        self.pos = i
        self._add("binary", src[start:i], start, line, col)


def _isdigit(c: str) -> bool:
    return len(c) == 1 and "0" <= c <= "9"


def _digit_value(c: str) -> int:
    if not c:
        return 99
    if "0" <= c <= "9":
        return ord(c) - 48
    if "A" <= c <= "Z":
        return ord(c) - 55
    return 99


def position_of(source: str, offset: int) -> tuple[int, int]:
    """(line, column), both 1-based, of a character offset."""
    offset = max(0, min(offset, len(source)))
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, col


def tokenize(source: str, filename: str = "<input>") -> list[Token]:
    """Tokenize ``source``; the last token is ``eof``."""
    return Lexer(source, filename).tokenize()
