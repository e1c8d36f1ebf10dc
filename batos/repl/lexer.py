"""The pygments lexer for BST (batos' Smalltalk dialect).

Registered as the ``bst`` pygments plugin (``*.bst``) through the entry point in
pyproject.toml, and used by the REPL to highlight input as it is typed, echoed
values, and method source.
"""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, include
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation,
                            String, Whitespace)

__all__ = ["BSTLexer"]

BINARY_CHARS = r"+\-*/\\<>=~@%|&?,"


class BSTLexer(RegexLexer):
    """Pygments lexer for BST: Smalltalk-80 expressions, blocks and ``obj >> sel [ ... ]``."""

    name = "BST"
    aliases = ["bst", "batos"]
    filenames = ["*.bst"]
    mimetypes = ["text/x-bst"]

    tokens = {
        "root": [
            include("whitespace"),
            (r"\^", Keyword),                                   # return
            (r":=|_(?![A-Za-z0-9_])", Operator),                # assignment
            (r"(:)([A-Za-z_][A-Za-z0-9_]*)", bygroups(Punctuation, Name.Variable)),  # block arg
            include("literals"),
            (r"\b(self|super|thisContext)\b", Name.Builtin.Pseudo),
            (r"\b(true|false|nil)\b", Keyword.Constant),
            (r"[A-Za-z_][A-Za-z0-9_]*:(?!=)", Name.Function),    # keyword part
            (r"[A-Z][A-Za-z0-9_]*", Name.Class),                # capitalised globals
            (r"[a-z_][A-Za-z0-9_]*", Name),
            (r">>", Operator.Word),                             # method definition
            (r"[%s]+" % BINARY_CHARS, Operator),
            (r"[.;]", Punctuation),
            (r"[\[\](){}]", Punctuation),
            (r"#\(", Punctuation, "literal_array"),
            (r".", Error),
        ],
        "whitespace": [
            (r"\s+", Whitespace),
            (r'"', Comment, "comment"),
        ],
        "comment": [
            (r'[^"]+', Comment),
            (r'"', Comment, "#pop"),
        ],
        "string": [
            (r"[^']+", String),
            (r"''", String.Escape),
            (r"'", String, "#pop"),
        ],
        "literals": [
            (r"'", String, "string"),
            (r"\$.", String.Char),
            (r"#'", String.Symbol, "symbol_string"),
            (r"#(?:[A-Za-z_][A-Za-z0-9_]*:)+", String.Symbol),
            (r"#[A-Za-z_][A-Za-z0-9_]*", String.Symbol),
            (r"#[%s]+" % BINARY_CHARS, String.Symbol),
            (r"-?\d+r[0-9A-Z]+", Number.Hex),
            (r"-?\d+\.\d+(?:[edq]-?\d+)?(?:s\d*)?", Number.Float),
            (r"-?\d+[edq]-?\d+", Number.Float),
            (r"-?\d+(?:s\d*)?", Number.Integer),
        ],
        "symbol_string": [
            (r"[^']+", String.Symbol),
            (r"''", String.Escape),
            (r"'", String.Symbol, "#pop"),
        ],
        "literal_array": [
            include("whitespace"),
            (r"\)", Punctuation, "#pop"),
            (r"\(|#\(", Punctuation, "#push"),
            include("literals"),
            (r"\b(true|false|nil)\b", Keyword.Constant),
            (r"(?:[A-Za-z_][A-Za-z0-9_]*:)+|[A-Za-z_][A-Za-z0-9_]*", String.Symbol),
            (r"[%s]+" % BINARY_CHARS, String.Symbol),
            (r"[\[\]{}.;^]", Punctuation),
            (r".", Error),
        ],
    }

    def analyse_text(text: str) -> float:  # type: ignore[override]  # pygments API
        """Guess BST from ``:=``, blocks with arguments and ``Transcript show:``."""
        score = 0.0
        if ":=" in text:
            score += 0.1
        if "[:" in text:
            score += 0.1
        if "Transcript show:" in text:
            score += 0.3
        return min(score, 1.0)

