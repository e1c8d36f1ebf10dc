"""Protocol of ``true``/``false`` (Python bools) and ``nil`` (None)."""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError
from batos.lang.block import call_block
from batos.lang.protocol import Table, prim

BOOLEAN: Table = {}
NIL: Table = {}


def _bool(value: Any, selector: str) -> bool:
    if type(value) is not bool:
        from batos.lang.printing import print_string
        raise BatosError(f"#{selector} expects a Boolean, got {print_string(value)}")
    return value


@prim(BOOLEAN, "&")
def _and(self: bool, other: Any) -> bool:
    return self and _bool(other, "&")


@prim(BOOLEAN, "|")
def _or(self: bool, other: Any) -> bool:
    return self or _bool(other, "|")


@prim(BOOLEAN, "and:")
def _and_block(self: bool, block: Any) -> Any:
    return call_block(block) if self else False


@prim(BOOLEAN, "or:")
def _or_block(self: bool, block: Any) -> Any:
    return True if self else call_block(block)


@prim(BOOLEAN, "and:and:")
def _and_and(self: bool, b1: Any, b2: Any) -> Any:
    return self and call_block(b1) is True and call_block(b2)


@prim(BOOLEAN, "or:or:")
def _or_or(self: bool, b1: Any, b2: Any) -> Any:
    return self or call_block(b1) is True or call_block(b2)


@prim(BOOLEAN, "not")
def _not(self: bool) -> bool:
    return not self


@prim(BOOLEAN, "xor:")
def _xor(self: bool, other: Any) -> bool:
    if type(other) is not bool:
        other = call_block(other)
    return self is not _bool(other, "xor:")


@prim(BOOLEAN, "eqv:")
def _eqv(self: bool, other: Any) -> bool:
    return self is _bool(other, "eqv:")


@prim(BOOLEAN, "ifTrue:")
def _if_true(self: bool, block: Any) -> Any:
    return call_block(block) if self else None


@prim(BOOLEAN, "ifFalse:")
def _if_false(self: bool, block: Any) -> Any:
    return None if self else call_block(block)


@prim(BOOLEAN, "ifTrue:ifFalse:")
def _if_true_if_false(self: bool, yes: Any, no: Any) -> Any:
    return call_block(yes if self else no)


@prim(BOOLEAN, "ifFalse:ifTrue:")
def _if_false_if_true(self: bool, no: Any, yes: Any) -> Any:
    return call_block(yes if self else no)


@prim(BOOLEAN, "asBit")
def _as_bit(self: bool) -> int:
    return 1 if self else 0


@prim(BOOLEAN, "isBoolean")
def _is_boolean(self: bool) -> bool:
    return True


# --- nil ----------------------------------------------------------------------------------------

@prim(NIL, "isNil", "isEmptyOrNil")
def _yes(self: None) -> bool:
    return True


@prim(NIL, "notNil")
def _no(self: None) -> bool:
    return False


@prim(NIL, "ifNil:")
def _nil_if_nil(self: None, block: Any) -> Any:
    return call_block(block)


@prim(NIL, "ifNotNil:")
def _nil_if_not_nil(self: None, block: Any) -> Any:
    return None


@prim(NIL, "ifNil:ifNotNil:")
def _nil_if_nil_if_not(self: None, nil_block: Any, not_nil: Any) -> Any:
    return call_block(nil_block)


@prim(NIL, "ifNotNil:ifNil:")
def _nil_if_not_if_nil(self: None, not_nil: Any, nil_block: Any) -> Any:
    return call_block(nil_block)


__all__ = ["BOOLEAN", "NIL"]
