"""Primitive method bodies for ``traits``: batos code referenced by name from the image.

Each takes the receiver first. They are stored in the image as
``Method(language="primitive", source="batos.image.primitives:NAME")``.
"""
from __future__ import annotations

from typing import Any

from batos.errors import MessageNotUnderstood
from batos.image.proto import Proto, selector_to_name


def clone(self: Proto) -> Proto:
    return Proto.clone(self)


def deep_clone(self: Proto) -> Proto:
    return Proto.deep_clone(self)


def set_slot_value(self: Proto, name: Any, value: Any) -> Proto:
    Proto.set_slot(self, str(name), value)
    return self


def remove_slot(self: Proto, name: Any) -> Proto:
    Proto.remove_slot(self, str(name))
    return self


def has_slot(self: Proto, name: Any) -> bool:
    return Proto.has_slot(self, str(name))


def slot_at(self: Proto, name: Any) -> Any:
    found = Proto.lookup(self, str(name))
    if found is None:
        from batos.errors import SlotError
        raise SlotError(f"{self._display()} has no slot {str(name)!r}")
    return found[1]


def slot_names(self: Proto) -> list[Any]:
    from batos.lang.values import Symbol
    return [Symbol(n) for n in Proto.slot_names(self)]


def parents(self: Proto) -> list[Proto]:
    return Proto.parents(self)


def responds_to(self: Proto, selector: Any) -> bool:
    return Proto.responds_to(self, str(selector))


def define_as(self: Proto, selector: Any, source: Any) -> Any:
    return Proto.define(self, str(selector), str(source))


def print_string(self: Proto) -> str:
    from batos.lang.printing import default_print_string
    return default_print_string(self)


def display_string(self: Proto) -> str:
    from batos.lang.printing import display_string as ds
    return ds(self)


def print_nl(self: Proto) -> Proto:
    from batos.lang.printing import print_string as ps
    from batos.lang.transcript import transcript
    transcript().show_line(ps(self))
    return self


def display_nl(self: Proto) -> Proto:
    from batos.lang.printing import display_string as ds
    from batos.lang.transcript import transcript
    transcript().show_line(ds(self))
    return self


def inspect(self: Proto) -> Proto:
    from batos.lang.transcript import transcript
    transcript().render(Proto.__rich__(self))
    return self


def yourself(self: Proto) -> Proto:
    return self


def equals(self: Proto, other: Any) -> bool:
    return self is other


def not_equals(self: Proto, other: Any) -> bool:
    return self is not other


def true(self: Proto) -> bool:
    return True


def false(self: Proto) -> bool:
    return False


def does_not_understand(self: Proto, message: Any) -> Any:
    """The default: the message is simply not understood (the LLM plugs in here)."""
    raise MessageNotUnderstood(self, message.selector, message.arguments)


__all__ = [name for name in dir() if not name.startswith("_")] + ["selector_to_name"]
