"""Protocol of blocks (BlockClosure): evaluation, loops, unwinding and exceptions."""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError
from batos.lang.block import Block, wrong_count
from batos.lang.protocol import Table, prim
from batos.lang.protocol.exceptions import ensure, if_curtailed, on_do

BLOCK: Table = {}


def _value(self: Block, *args: Any) -> Any:
    if len(args) != self.num_args:
        raise wrong_count(self, len(args))
    return self.fn(*args)


for _sel in ("value", "value:", "value:value:", "value:value:value:", "value:value:value:value:"):
    BLOCK[_sel] = _value


@prim(BLOCK, "valueWithArguments:")
def _value_with_arguments(self: Block, args: Any) -> Any:
    return _value(self, *list(args))


@prim(BLOCK, "cull:", "cull:cull:", "cull:cull:cull:", "cull:cull:cull:cull:")
def _cull(self: Block, *args: Any) -> Any:
    return self.cull(*args)


@prim(BLOCK, "numArgs", "argumentCount")
def _num_args(self: Block) -> int:
    return self.num_args


@prim(BLOCK, "isBlock")
def _is_block(self: Block) -> bool:
    return True


def _condition(block: Block, selector: str) -> bool:
    result = _value(block)
    if type(result) is not bool:
        from batos.lang.printing import print_string
        raise BatosError(f"#{selector}: the receiver block answered {print_string(result)}, "
                         "not a Boolean")
    return result


@prim(BLOCK, "whileTrue:")
def _while_true(self: Block, body: Any) -> None:
    from batos.lang.block import call_block
    while _condition(self, "whileTrue:"):
        call_block(body)
    return None


@prim(BLOCK, "whileFalse:")
def _while_false(self: Block, body: Any) -> None:
    from batos.lang.block import call_block
    while not _condition(self, "whileFalse:"):
        call_block(body)
    return None


@prim(BLOCK, "whileTrue")
def _while_true_alone(self: Block) -> None:
    while _condition(self, "whileTrue"):
        pass
    return None


@prim(BLOCK, "whileFalse")
def _while_false_alone(self: Block) -> None:
    while not _condition(self, "whileFalse"):
        pass
    return None


@prim(BLOCK, "repeat")
def _repeat(self: Block) -> Any:
    """Loop forever; only a non-local return (or an error, or the time limit) ends it."""
    fn = self.fn
    if self.num_args != 0:
        raise wrong_count(self, 0)
    while True:
        fn()


@prim(BLOCK, "ensure:")
def _ensure(self: Block, cleanup: Any) -> Any:
    return ensure(self, cleanup)


@prim(BLOCK, "ifCurtailed:")
def _if_curtailed(self: Block, cleanup: Any) -> Any:
    return if_curtailed(self, cleanup)


@prim(BLOCK, "on:do:")
def _on_do(self: Block, exception_class: Any, handler: Any) -> Any:
    return on_do(self, exception_class, handler)


@prim(BLOCK, "on:do:on:do:")
def _on_do_on_do(self: Block, class1: Any, handler1: Any, class2: Any, handler2: Any) -> Any:
    inner = Block(lambda: on_do(self, class1, handler1), 0)
    return on_do(inner, class2, handler2)


@prim(BLOCK, "ifError:")
def _if_error(self: Block, handler: Any) -> Any:
    from batos.lang.values import st_class
    return on_do(self, st_class("Error"), handler)


__all__ = ["BLOCK"]
