"""BST blocks: closures made by the compiler as ``Block(fn, num_args)``.

``fn`` takes exactly ``num_args`` positional arguments. Non-local return (``^``
inside a block) is the compiler's business: it unwinds through these methods as
an exception, which ``ensure:``/``ifCurtailed:`` honour and ``on:do:`` never catches.
Blocks are code, so they cannot be stored in the image.
"""
from __future__ import annotations

from typing import Any, Callable

from batos.errors import BatosError, StorageRejected


class WrongArgumentCount(BatosError, TypeError):
    """A block was called with the wrong number of arguments."""


class Block:
    """A closure with a fixed arity; ``source`` (optional) is its BST text for printing."""

    __slots__ = ("fn", "num_args", "source")
    st_class_name = "BlockClosure"

    def __init__(self, fn: Callable[..., Any], num_args: int, source: str | None = None) -> None:
        self.fn = fn
        self.num_args = num_args
        self.source = source

    def value(self, *args: Any) -> Any:
        """Evaluate with exactly ``num_args`` arguments."""
        if len(args) != self.num_args:
            raise wrong_count(self, len(args))
        return self.fn(*args)

    __call__ = value

    def cull(self, *args: Any) -> Any:
        """Evaluate with as many of ``args`` as the block takes (Pharo's ``cull:``)."""
        n = self.num_args
        if n > len(args):
            raise wrong_count(self, len(args))
        return self.fn(*args[:n])

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise StorageRejected("a block is code and cannot be stored in the image; "
                              "store its source in a method instead")

    def __repr__(self) -> str:
        return f"<Block/{self.num_args}>"


def wrong_count(block: Block, got: int) -> WrongArgumentCount:
    takes = block.num_args
    return WrongArgumentCount(
        f"wrong number of arguments: block takes {takes}, got {got}", takes=takes, got=got)


_VALUE_SELECTORS = ("value", "value:", "value:value:", "value:value:value:",
                    "value:value:value:value:")


def call_block(block: Any, *args: Any) -> Any:
    """Evaluate a block argument; anything else is sent ``value``/``value:``… (so a
    Symbol works as a one-argument block: ``#(1 -2) collect: #abs``)."""
    if type(block) is Block:
        if len(args) != block.num_args:
            raise wrong_count(block, len(args))
        return block.fn(*args)
    from batos.lang.primitives import send
    if len(args) < len(_VALUE_SELECTORS):
        return send(block, _VALUE_SELECTORS[len(args)], args)
    return send(block, "valueWithArguments:", (list(args),))


def cull_block(block: Any, *args: Any) -> Any:
    """Evaluate with as many leading ``args`` as the block takes."""
    if type(block) is Block:
        return block.cull(*args)
    if args and isinstance(block, str):  # a Symbol: send it to the first argument
        return call_block(block, args[0])
    return call_block(block)


def arity(block: Any) -> int:
    """Number of arguments a block-like value takes."""
    if type(block) is Block:
        return block.num_args
    from batos.lang.values import Symbol
    if isinstance(block, Symbol):
        return block.num_args() + 1
    return 0


__all__ = ["Block", "WrongArgumentCount", "call_block", "cull_block", "arity", "wrong_count"]
