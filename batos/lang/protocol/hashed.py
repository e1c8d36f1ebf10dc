"""Protocol of Dictionary (``dict``/``PersistentMapping``), Set (``set``) and Association."""
from __future__ import annotations

from typing import Any

from batos.errors import BatosError
from batos.lang.block import call_block, cull_block
from batos.lang.collections import Association, NotFound
from batos.lang.protocol import Table, prim
from batos.lang.protocol.objects import compare, st_equal
from batos.lang.protocol.sequences import sort_items, to_list

DICTIONARY: Table = {}
SET: Table = {}
ASSOCIATION: Table = {}


class KeyNotFound(NotFound, KeyError):
    """``aDictionary at: #missing``."""

    st_class_name = "KeyNotFound"

    def __str__(self) -> str:
        return self.message


def stored(container: Any, value: Any) -> Any:
    """Values put into a container that already lives in the image become persistent
    containers too, so their later in-place mutation is kept."""
    if getattr(container, "_p_jar", None) is not None:
        from batos.image.proto import persistify
        return persistify(value)
    return value


def _key(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        from batos.lang.printing import print_string
        raise BatosError(f"{print_string(key)} cannot be a Dictionary key or Set element "
                         "(it is mutable); use a String, Symbol, number or prototype") from None
    return key


def key_not_found(d: Any, key: Any) -> KeyNotFound:
    from batos.lang.printing import print_string
    return KeyNotFound(f"key {print_string(key)} not found in Dictionary", key=key)


# --- Dictionary -------------------------------------------------------------------------------

@prim(DICTIONARY, "at:")
def at(self: Any, key: Any) -> Any:
    try:
        return self[_key(key)]
    except KeyError:
        raise key_not_found(self, key) from None


@prim(DICTIONARY, "at:put:")
def at_put(self: Any, key: Any, value: Any) -> Any:
    self[_key(key)] = stored(self, value)
    return value


@prim(DICTIONARY, "at:ifAbsent:")
def at_if_absent(self: Any, key: Any, block: Any) -> Any:
    try:
        return self[_key(key)]
    except KeyError:
        return call_block(block)


@prim(DICTIONARY, "at:ifAbsentPut:")
def at_if_absent_put(self: Any, key: Any, block: Any) -> Any:
    try:
        return self[_key(key)]
    except KeyError:
        value = call_block(block)
        self[key] = stored(self, value)
        return value


@prim(DICTIONARY, "at:ifPresent:")
def at_if_present(self: Any, key: Any, block: Any) -> Any:
    try:
        value = self[_key(key)]
    except KeyError:
        return None
    return cull_block(block, value)


@prim(DICTIONARY, "at:ifPresent:ifAbsent:")
def at_if_present_if_absent(self: Any, key: Any, present: Any, absent: Any) -> Any:
    try:
        value = self[_key(key)]
    except KeyError:
        return call_block(absent)
    return cull_block(present, value)


@prim(DICTIONARY, "keys")
def keys(self: Any) -> list[Any]:
    return list(self.keys())


@prim(DICTIONARY, "keysSortedSafely")
def keys_sorted(self: Any) -> list[Any]:
    try:
        return sort_items(list(self.keys()))
    except BatosError:
        return list(self.keys())


@prim(DICTIONARY, "values")
def values(self: Any) -> list[Any]:
    return list(self.values())


@prim(DICTIONARY, "associations")
def associations(self: Any) -> list[Association]:
    return [Association(k, v) for k, v in list(self.items())]


@prim(DICTIONARY, "keysAndValuesDo:")
def keys_and_values_do(self: Any, block: Any) -> Any:
    for k, v in list(self.items()):
        call_block(block, k, v)
    return self


@prim(DICTIONARY, "keysDo:")
def keys_do(self: Any, block: Any) -> Any:
    for k in list(self.keys()):
        call_block(block, k)
    return self


@prim(DICTIONARY, "valuesDo:", "do:")
def values_do(self: Any, block: Any) -> Any:
    for v in list(self.values()):
        call_block(block, v)
    return self


@prim(DICTIONARY, "associationsDo:")
def associations_do(self: Any, block: Any) -> Any:
    for k, v in list(self.items()):
        call_block(block, Association(k, v))
    return self


@prim(DICTIONARY, "includesKey:")
def includes_key(self: Any, key: Any) -> bool:
    try:
        return key in self
    except TypeError:
        return False


@prim(DICTIONARY, "includes:")
def includes(self: Any, value: Any) -> bool:
    return any(st_equal(v, value) for v in self.values())


@prim(DICTIONARY, "keyAtValue:")
def key_at_value(self: Any, value: Any) -> Any:
    return key_at_value_if_absent(self, value, None)


@prim(DICTIONARY, "keyAtValue:ifAbsent:")
def key_at_value_if_absent(self: Any, value: Any, block: Any) -> Any:
    for k, v in self.items():
        if st_equal(v, value):
            return k
    return None if block is None else call_block(block)


@prim(DICTIONARY, "removeKey:")
def remove_key(self: Any, key: Any) -> Any:
    try:
        return self.pop(_key(key))
    except KeyError:
        raise key_not_found(self, key) from None


@prim(DICTIONARY, "removeKey:ifAbsent:")
def remove_key_if_absent(self: Any, key: Any, block: Any) -> Any:
    try:
        return self.pop(_key(key))
    except KeyError:
        return call_block(block)


@prim(DICTIONARY, "add:")
def add(self: Any, association: Any) -> Any:
    if not isinstance(association, Association):
        raise BatosError("Dictionary add: expects an Association (key -> value)")
    at_put(self, association.key, association.value)
    return association


@prim(DICTIONARY, "addAll:")
def add_all(self: Any, other: Any) -> Any:
    if isinstance(other, dict) or hasattr(other, "items"):
        for k, v in list(other.items()):
            at_put(self, k, v)
    else:
        for association in to_list(other):
            add(self, association)
    return other


def _dict_like(self: Any, items: list[tuple[Any, Any]]) -> dict[Any, Any]:
    return dict(items)


@prim(DICTIONARY, "collect:")
def collect(self: Any, block: Any) -> dict[Any, Any]:
    return _dict_like(self, [(k, call_block(block, v)) for k, v in list(self.items())])


@prim(DICTIONARY, "select:")
def select(self: Any, block: Any) -> dict[Any, Any]:
    return _dict_like(self, [(k, v) for k, v in list(self.items()) if call_block(block, v) is True])


@prim(DICTIONARY, "reject:")
def reject(self: Any, block: Any) -> dict[Any, Any]:
    return _dict_like(self, [(k, v) for k, v in list(self.items())
                             if call_block(block, v) is not True])


@prim(DICTIONARY, "keysAndValuesRemove:", "removeAllSuchThat:")
def remove_such_that(self: Any, block: Any) -> Any:
    for k, v in list(self.items()):
        if (call_block(block, k, v) if block_arity(block) == 2 else call_block(block, v)) is True:
            del self[k]
    return self


def block_arity(block: Any) -> int:
    from batos.lang.block import arity
    return arity(block)


@prim(DICTIONARY, "isDictionary")
def _is_dictionary(self: Any) -> bool:
    return True


@prim(DICTIONARY, "removeAll")
def remove_all(self: Any) -> Any:
    self.clear()
    return self


# --- Set ---------------------------------------------------------------------------------------

@prim(SET, "add:")
def set_add(self: set[Any], value: Any) -> Any:
    self.add(_key(value))
    return value


@prim(SET, "addAll:")
def set_add_all(self: set[Any], values: Any) -> Any:
    for value in to_list(values):
        set_add(self, value)
    return values


@prim(SET, "remove:")
def set_remove(self: set[Any], value: Any) -> Any:
    try:
        self.remove(_key(value))
    except KeyError:
        from batos.lang.printing import print_string
        raise NotFound(f"{print_string(value)} not found in {print_string(self)}") from None
    return value


@prim(SET, "remove:ifAbsent:")
def set_remove_if_absent(self: set[Any], value: Any, block: Any) -> Any:
    try:
        self.remove(_key(value))
    except KeyError:
        return call_block(block)
    return value


@prim(SET, "includes:")
def set_includes(self: set[Any], value: Any) -> bool:
    try:
        return value in self
    except TypeError:
        return False


@prim(SET, "removeAll")
def set_remove_all(self: set[Any]) -> Any:
    self.clear()
    return self


# --- Association ----------------------------------------------------------------------------------

@prim(ASSOCIATION, "key")
def key(self: Association) -> Any:
    return self.key


@prim(ASSOCIATION, "value")
def value(self: Association) -> Any:
    return self.value


@prim(ASSOCIATION, "key:")
def set_key(self: Association, new: Any) -> Association:
    self.key = new
    return self


@prim(ASSOCIATION, "value:")
def set_value(self: Association, new: Any) -> Association:
    self.value = new
    return self


@prim(ASSOCIATION, "key:value:")
def set_key_value(self: Association, new_key: Any, new_value: Any) -> Association:
    self.key, self.value = new_key, new_value
    return self


@prim(ASSOCIATION, "<")
def _lt(self: Association, other: Association) -> bool:
    return compare("<", self.key, other.key)


@prim(ASSOCIATION, ">")
def _gt(self: Association, other: Association) -> bool:
    return compare(">", self.key, other.key)


@prim(ASSOCIATION, "<=")
def _le(self: Association, other: Association) -> bool:
    return compare("<=", self.key, other.key)


@prim(ASSOCIATION, ">=")
def _ge(self: Association, other: Association) -> bool:
    return compare(">=", self.key, other.key)


__all__ = ["DICTIONARY", "SET", "ASSOCIATION", "KeyNotFound", "stored"]
