"""Primitive method bodies for ``traits``: batos code referenced by name from the image.

Each takes the receiver first. They are stored in the image as
``Method(language="primitive", source="batos.lang.traits:NAME")``.
"""
from __future__ import annotations

from typing import Any

from batos.errors import CapabilityError, MessageNotUnderstood
from batos.guardian.capability import (foreign_sender, in_method, read_only_view,
                                      require_human)
from batos.image.method import Method
from batos.image.proto import (FAMILY_SLOT, IDENTITY_SLOTS, Proto, _is_container, _mirrored,
                               family_of, is_parent_slot, is_primordial, selector_to_name)


def _check_reflective_write(self: Proto, name: str, value: Any = None) -> None:
    """Methods and parent links change only by a human act or the generation cycle;
    private slots are never written by a message."""
    if name.startswith("_"):
        raise CapabilityError(f"slot names starting with '_' are private: cannot write {name!r}")
    if foreign_sender(self, 2):
        raise CapabilityError(f"guardian: a method may change only its own receiver's slots, "
                              f"not {name!r} of {self._display()}; send that object a message "
                              "that changes it")
    old = self.__dict__.get("_slots", {}).get(name)
    if is_parent_slot(name) or isinstance(value, Method) or isinstance(old, Method):
        require_human(f"change the method or parent slot {name!r} of {self._display()}")


def clone(self: Proto) -> Proto:
    return Proto.clone(self)


def deep_clone(self: Proto) -> Proto:
    return Proto.deep_clone(self)


def detach_from_family(self: Proto) -> Proto:
    """``obj detachFromFamily``: the object gains its own copy of every slot it found
    through its ``family*`` chain (methods, parents, data it lacks; nearest first) and
    loses the link, so it answers as before and the methods generated for it land on
    itself. A human act: it changes method and parent slots."""
    if foreign_sender(self):
        raise CapabilityError(f"guardian: a method may change only its own receiver's slots, "
                              f"not the family of {self._display()}")
    require_human(f"detach {self._display()} from its family")
    family, seen = family_of(self), {id(self)}
    while family is not None and id(family) not in seen:
        seen.add(id(family))
        primordial = is_primordial(family)
        for key, value in Proto.own_slots(family).items():
            if key == FAMILY_SLOT or Proto.has_slot(self, key) or (
                    primordial and key in IDENTITY_SLOTS):
                continue
            Proto.set_slot(self, key, value)
        family = None if primordial else family_of(family)
    if Proto.has_slot(self, FAMILY_SLOT):
        Proto.remove_slot(self, FAMILY_SLOT)
    return self


def set_slot_value(self: Proto, name: Any, value: Any) -> Proto:
    _check_reflective_write(self, str(name), value)
    Proto.set_slot(self, str(name), value)
    return self


def remove_slot(self: Proto, name: Any) -> Proto:
    _check_reflective_write(self, str(name))
    Proto.remove_slot(self, str(name))
    return self


def has_slot(self: Proto, name: Any) -> bool:
    return Proto.has_slot(self, str(name))


def slot_at(self: Proto, name: Any) -> Any:
    found = None if str(name).startswith("_") else Proto.lookup(self, str(name))
    if found is None:
        from batos.errors import SlotError
        raise SlotError(f"{self._display()} has no slot {str(name)!r}")
    value = found[1]
    if _is_container(value) and foreign_sender(self):
        return read_only_view(value)
    if not _mirrored(value) and not _is_container(value) and in_method():
        raise CapabilityError(f"guardian: a method may not reach the "
                              f"{type(value).__name__} in slot {str(name)!r}")
    return value


def slot_names(self: Proto) -> list[Any]:
    """``slotNames``: the own slots' names in order, a method slot by its Method's
    selector (``#deposit:``, never the Python name ``deposit_``)."""
    from batos.lang.values import Symbol
    slots = Proto.own_slots(self)
    return [Symbol(slots[n].selector if isinstance(slots[n], Method) else n)
            for n in Proto.slot_names(self)]


def parents(self: Proto) -> list[Proto]:
    return Proto.parents(self)


def responds_to(self: Proto, selector: Any) -> bool:
    return Proto.responds_to(self, str(selector))


def define_as(self: Proto, selector: Any, source: Any) -> Any:
    require_human(f"define methods (#{selector})")
    if str(selector).startswith("_"):
        raise CapabilityError(f"selectors starting with '_' are private: cannot define #{selector}")
    method = Proto.define(self, str(selector), str(source))
    from batos.lang.contracts import warn_if_broken
    warn_if_broken(self, str(selector))  # installed anyway, like a red test
    return method


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


def history_of(self: Proto, name: Any) -> list[Any]:
    """``obj historyOf: #slot``: an Array of Associations (time -> value), oldest first,
    one per change of the slot kept in the image's history (nil: the slot was absent)."""
    from batos.image.past import PastError, image_holding, slot_history, when_key
    from batos.lang.collections import Association
    name = str(name)
    if name.startswith("_"):
        raise CapabilityError(f"slot names starting with '_' are private: cannot read {name!r}")
    image = image_holding(self)
    if image is None:
        raise PastError(f"{self._display()} is in no open image, so it has no history")
    out = []
    for rec in slot_history(image, self, name):
        value = rec["value"]
        if _is_container(value) and foreign_sender(self):
            value = read_only_view(value)
        elif value is not None and not _mirrored(value) and not _is_container(value) \
                and in_method():
            raise CapabilityError(f"guardian: a method may not reach the "
                                  f"{type(value).__name__} in slot {name!r}")
        out.append(Association(when_key(rec["time"]), value))
    return out


def restore_from(self: Proto, name: Any, when: Any) -> Proto:
    """``obj restore: #slot from: WHEN``: the slot's value as of WHEN (a transaction id,
    an ISO time, ``-10m``, ``yesterday``, a key of ``historyOf:``), in this statement's
    transaction; answers the receiver."""
    from batos.image.past import PastError, image_holding, restore_slot, value_at
    name = str(name)
    image = image_holding(self)
    if image is None:
        raise PastError(f"{self._display()} is in no open image, so it has no history")
    when = getattr(when, "key", when)  # an Association from historyOf:
    _check_reflective_write(self, name, value_at(image, self, name, str(when)))
    restore_slot(image, self, name, str(when))
    return self


__all__ = [name for name in dir() if not name.startswith("_")] + ["selector_to_name"]


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'clone', 'deep_clone', 'define_as', 'detach_from_family', 'display_nl', 'display_string', 'does_not_understand', 'equals', 'false', 'has_slot', 'history_of', 'inspect', 'not_equals', 'parents', 'print_nl', 'print_string', 'remove_slot', 'responds_to', 'restore_from', 'set_slot_value', 'slot_at', 'slot_names', 'true', 'yourself'})
