"""BST, the Smalltalk-80-style language of batos: parse, compile to Python, evaluate.

Public API::

    evaluate(image, source, workspace=..., filename=...)  # value of the last statement
    parse(source, filename=...)                            # AST (batos.lang.nodes)
    compile_method(source, selector=...)                   # stored method -> f(self, *args)
    split_statements(source)                               # top-level statements with spans
    is_complete(source)                                    # False while a bracket/string is open
"""
from __future__ import annotations

from typing import Any, NamedTuple

from batos.errors import BSTSyntaxError
from batos.lang.bigint import lift_int_digit_limit

lift_int_digit_limit()  # BST integers have no digit limit (time is bounded by the statement limit)


class StatementSpan(NamedTuple):
    """One top-level statement: its text, offsets and 1-based line and column."""

    text: str
    start: int
    end: int
    line: int
    column: int


def parse(source: str, filename: str = "<input>") -> Any:
    """Parse ``source`` into a :class:`batos.lang.nodes.Sequence`; BSTSyntaxError if malformed."""
    from batos.lang.parser import parse as _parse
    return _parse(source, filename)


def compile_method(source: str, *, selector: str) -> Any:
    """Compile stored BST method source (``pattern`` then body) to ``f(self, *args)``."""
    from batos.lang.compiler import compile_method as _compile
    return _compile(source, selector=selector)


def evaluate(image: Any, source: str, *, workspace: dict[str, Any] | None = None,
             filename: str = "<input>") -> Any:
    """Evaluate BST ``source`` in ``image`` (None: no image, builtins only); answer the
    last statement's value (nil → None).

    Names resolve to temporaries, then ``workspace`` variables, image globals and builtin
    globals; assigning an undeclared name creates a workspace variable. Errors raise
    BSTSyntaxError, NameNotFound or BSTRuntimeError (MessageNotUnderstood and other batos
    errors keep their class) pointing at ``filename:line:col``.
    """
    from batos.lang.compiler import compile_script
    from batos.lang import runtime
    fn = compile_script(source, filename)
    if workspace is None:
        workspace = image.workspace if image is not None else {}
    ctx = runtime.Context(image, workspace)
    runtime.push_context(ctx)
    try:
        return fn(ctx)
    except runtime.NonLocalReturn as exc:
        raise runtime.block_cannot_return(exc) from None
    except Exception as exc:
        err = runtime.wrap_error(exc)
        runtime.attach_call_chain(err, exc.__traceback__)
        raise err from None
    finally:
        runtime.pop_context()


def split_statements(source: str, filename: str = "<input>") -> list[StatementSpan]:
    """The top-level statements of ``source`` (declared temporaries are not included)."""
    from batos.lang.lexer import position_of
    from batos.lang.parser import Parser
    parser = Parser(source, filename)
    parser.parse_sequence()
    out = []
    for start, end in parser.spans:
        line, col = position_of(source, start)
        out.append(StatementSpan(source[start:end], start, end, line, col))
    return out


_OPEN = {"lparen": 1, "hashparen": 1, "lbracket": 1, "lbrace": 1,
         "rparen": -1, "rbracket": -1, "rbrace": -1}


def is_complete(source: str) -> bool:
    """False while a string, comment, parenthesis, block or brace is still open."""
    from batos.lang.lexer import tokenize
    try:
        tokens = tokenize(source)
    except BSTSyntaxError as exc:
        return not exc.message.startswith("unterminated")
    depth = 0
    for tok in tokens:
        depth += _OPEN.get(tok.kind, 0)
        if depth < 0:
            return True
    return depth <= 0


__all__ = ["evaluate", "parse", "compile_method", "split_statements", "is_complete",
           "StatementSpan"]


def _install() -> None:
    """Make BST the image's language: ``Image.evaluate``/``print_string``, BST method
    compilation, the change report and error messages reach it through these hooks
    (the image layer sits below this package and never imports it)."""
    import batos.errors
    from batos.image import language
    from batos.lang.primitives import send
    from batos.lang.printing import article, print_string

    language.install(evaluate=evaluate, print_string=print_string, send=send, article=article)
    language.register_compiler("bst", compile_method)
    batos.errors.describe_receiver = print_string


_install()
