"""The world a missing method works in: what the receiver's slots and the arguments hold.

The mission brief lists the receiver's slots with one-line previews; a slot that holds
prototypes shows only ``a Proto``, so a model asked for ``Store stockValue`` cannot know
that each item has ``price`` and ``qty`` (it guesses ``item.value``). :func:`world_lines`
answers one line per slot (and argument) that holds prototypes or collections: the
element kind and count, and for prototypes their data slots (the first one's values)
and the methods they understand (own and inherited, the machinery's left out), within a
small token budget, in slot order, then a line for each argument that is a slot value
of objects the receiver holds ("'cy' is the .name of one of the objects in
self.members"). :func:`failure_feedback` answers, for a generated method whose send to
another object failed, what that object does have; :func:`lookup_feedback`, for a lookup
that failed on such an argument, how to find the object.

Reading other objects' slots here is batos's own act (the mind layer describes the
image to the model), so it uses :meth:`Proto.slots`, which trusts batos code.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence, Set
from typing import Any, Iterable

from batos.errors import MessageNotUnderstood
from batos.image.proto import Proto
from batos.image.selectors import is_parent_slot
from batos.mind.prompts import param_names, selector_words

#: tokens (about 4 characters each) all world lines of one brief may take
WORLD_TOKENS = 120
#: data slots and methods shown per described object
MAX_FIELDS, MAX_METHODS = 6, 4
_VALUE_WIDTH = 16


def tokens(text: str) -> int:
    """A rough token count (about four characters a token on code-trained BPE models)."""
    return (len(text) + 3) // 4


# --- what an object holds --------------------------------------------------------------

_MACHINERY = frozenset({"traits", "pLLM"})


class Family:
    """What to leave out of a description: the machinery's prototypes (``traits``,
    ``pLLM``: their methods and settings are not the object's own) and the data slots
    every clone of genesis copies from it unchanged (its ``description``)."""

    def __init__(self, system: Iterable[Any] = (), common: Mapping[str, Any] | None = None
                 ) -> None:
        self.system = {id(s) for s in system if s is not None}
        self.common = dict(common or {})

    @classmethod
    def of_image(cls, image: Any) -> "Family":
        """The image's own: ``traits`` and ``pLLM`` as machinery, genesis's data slots
        as the values every clone inherits by copy."""
        g = getattr(image, "globals", {}) or {}
        genesis = g.get("genesis")
        common: dict[str, Any] = {}
        if isinstance(genesis, Proto):
            common = {r.name: r.value for r in genesis.slots(inherited=False)
                      if r.kind == "data"}
        return cls((g.get("traits"), g.get("pLLM")), common)

    def machinery(self, owner: Proto) -> bool:
        """Whether ``owner`` is one of the machinery's prototypes (by identity, else by
        the names the image gives them)."""
        return id(owner) in self.system or owner.__dict__.get("_name") in _MACHINERY

    def fields(self, obj: Proto) -> list[tuple[str, Any]]:
        """``obj``'s data slots as (name, value), own first, then inherited."""
        out = []
        for row in obj.slots():
            if row.kind != "data" or self.machinery(row.owner):
                continue
            if row.name in self.common and same_value(self.common[row.name], row.value):
                continue
            out.append((row.name, row.value))
        return out

    def methods(self, obj: Proto) -> list[str]:
        """The selectors ``obj`` understands beyond the machinery's (own and family)."""
        out = []
        for row in obj.slots():
            if (row.kind == "method" and not self.machinery(row.owner)
                    and getattr(row.value, "language", "") != "primitive"):
                out.append(str(getattr(row.value, "selector", row.name)))
        return out


def same_value(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:  # noqa: BLE001 - a value that cannot compare is not the same
        return False


def call_form(selector: str) -> str:
    """How Python code sends ``selector``: ``total`` → ``.total()``, ``deposit:`` →
    ``.deposit_(x)``, ``transfer:to:`` → ``.transfer_to_(x, y)``."""
    from batos.image.proto import selector_to_name
    n = selector.count(":")
    args = ", ".join("xyzuvw"[i] if i < 6 else f"a{i}" for i in range(n))
    return f".{selector_to_name(selector)}({args})"


def value_text(value: Any) -> str:
    """A short Python-looking example of a value."""
    if isinstance(value, Proto):
        return "an object"
    if isinstance(value, (str, bool, int, float)) or type(value).__name__ in (
            "Decimal", "Fraction", "Symbol"):
        text = repr(str(value) if type(value).__name__ == "Symbol" else value)
    elif isinstance(value, Mapping):
        text = f"a dict of {len(value)}"
    elif is_collection(value):
        text = f"a list of {len(value)}" if not isinstance(value, Set) else \
            f"a set of {len(value)}"
    elif value is None:
        text = "None"
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 2] + "…" + text[-1]


def is_collection(value: Any) -> bool:
    return (isinstance(value, (Sequence, Set, Mapping))
            and not isinstance(value, (str, bytes, bytearray)))


def elements(value: Any) -> list[Any]:
    """What a collection holds (a dict: its values); nothing for anything else."""
    if isinstance(value, Mapping):
        return list(value.values())
    return list(value) if is_collection(value) else []


def _kind(value: Any) -> str:
    if isinstance(value, Proto):
        return "object"
    if isinstance(value, Mapping):
        return "dict"
    if is_collection(value):
        return "set" if isinstance(value, Set) else "list"
    return type(value).__name__ if type(value).__name__ != "Symbol" else "str"


def _kinds(values: list[Any]) -> str:
    seen: list[str] = []
    for v in values:
        k = _kind(v)
        if k not in seen:
            seen.append(k)
    return "/".join(seen[:3])


def _object_text(obj: Proto, family: Family, *, examples: bool, note: str = "") -> str:
    """``.name = 'pen', .price = 2 and methods .total()`` (``examples=False``: names only;
    ``note`` follows the example values)."""
    fields = family.fields(obj)
    parts = [f".{n} = {value_text(v)}" if examples else f".{n}" for n, v in fields[:MAX_FIELDS]]
    if len(fields) > MAX_FIELDS:
        parts.append("…")
    text = ", ".join(parts) if parts else "no slots"
    if parts and examples and note:
        text += f" ({note})"
    methods = family.methods(obj)
    if methods:
        shown = [call_form(s) for s in methods[:MAX_METHODS]]
        text += " and methods " + ", ".join(shown) + (", …" if len(methods) > MAX_METHODS else "")
    return text


def shape(label: str, value: Any, family: Family, *, examples: bool = True) -> str | None:
    """One world line for ``value`` held under ``label`` (``self.items``, an argument's
    name), or None when it holds nothing worth a line (a plain value, an empty
    collection: its preview says all)."""
    if isinstance(value, Proto):
        return f"{label}: an object with {_object_text(value, family, examples=examples)}"
    if not is_collection(value) or not len(value):
        return None
    if isinstance(value, Mapping):
        keys, values = list(value.keys()), list(value.values())
        head = f"{label}: dict of {len(value)}, {_kinds(keys)} → {_kinds(values)}"
        first_proto = next((v for v in values if isinstance(v, Proto)), None)
        if first_proto is not None:
            return f"{head}, each value with " + _object_text(
                first_proto, family, examples=examples, note="the first one's values")
        if examples:
            return f"{head}, e.g. {value_text(keys[0])}: {value_text(values[0])}"
        return head
    items = list(value)
    noun = "set" if isinstance(value, Set) else "list"
    head = f"{label}: {noun} of {len(items)} {_kinds(items)}"
    first_proto = next((v for v in items if isinstance(v, Proto)), None)
    if first_proto is not None:
        return f"{label}: {noun} of {len(items)} objects, each with " + \
            _object_text(first_proto, family, examples=examples, note="the first one's values")
    first_dict = next((v for v in items if isinstance(v, Mapping) and len(v)), None)
    if first_dict is not None:
        keys = list(first_dict.items())[:MAX_FIELDS]
        return head + ", each with keys " + ", ".join(
            f"{value_text(k)}: {value_text(v)}" if examples else value_text(k) for k, v in keys)
    return head


def world_lines(receiver: Any, arguments: Sequence[Any] = (), params: Sequence[str] = (), *,
                family: Family | None = None, budget: int = WORLD_TOKENS) -> list[str]:
    """The world lines of a brief: the receiver's slots (own, then inherited, the
    machinery's left out) that hold prototypes or collections, then such arguments
    (labelled with their parameter names), in that order, each with example values
    while the budget allows, else names only, else left out."""
    family = family or Family()
    held: list[tuple[str, Any]] = []
    if isinstance(receiver, Proto):
        held += [(f"self.{n}", v) for n, v in family.fields(receiver)
                 if not is_parent_slot(n)]
    for i, arg in enumerate(arguments):
        name = _param(params, i)
        held.append((f"{name} (argument)", arg))
    lines: list[str] = []
    left = budget
    for label, value in held:
        for examples in (True, False):
            line = shape(label, value, family, examples=examples)
            if line is None:
                break
            cost = tokens(line)
            if cost <= left:
                lines.append(line)
                left -= cost
                break
    for i, arg in enumerate(arguments):
        name = _param(params, i)
        line = _names_one(receiver, name, arg, family)
        if line is not None and tokens(line) <= left:
            lines.append(line)
            left -= tokens(line)
    return lines


def _param(params: Sequence[str], i: int) -> str:
    """The name argument ``i`` goes by in a brief: its parameter's, else its position."""
    return params[i] if i < len(params) else f"argument {i + 1}"


def _names_one(receiver: Any, name: str, arg: Any, family: Family) -> str | None:
    """``name (argument) = 'cy' is the .name of one of the objects in self.members``:
    a plain argument that equals a data slot of objects the receiver holds (so the
    method looks that object up rather than treating the collection as one of names)."""
    found = _holding(receiver, name, arg, family)
    if found is None:
        return None
    slot, field, hits, direct = found
    which = "self." + slot if direct else (
        ("one of the objects" if hits == 1 else f"{hits} of the objects") + f" in self.{slot}")
    return f"{name} (argument) = {value_text(arg)} is the .{field} of {which}"


def _holding(receiver: Any, name: str, arg: Any, family: Family
             ) -> tuple[str, str, int, bool] | None:
    """(slot, field, how many, held directly) for the first slot of ``receiver`` whose
    object(s) have a data slot ``field`` equal to ``arg``. A number counts only where its
    parameter is named after that slot (``number`` for ``checkIn: 102``): a small number
    equals some slot by chance too often."""
    if not isinstance(receiver, Proto) or isinstance(arg, bool) or \
            not isinstance(arg, (str, int, float)) or arg == "":
        return None
    for slot, value in family.fields(receiver):
        if is_parent_slot(slot):
            continue
        objects = [value] if isinstance(value, Proto) else elements(value)
        rows = [dict(family.fields(o)) for o in objects if isinstance(o, Proto)]
        for field in dict.fromkeys(n for row in rows for n in row):
            if not isinstance(arg, str) and field != name:
                continue
            hits = sum(1 for row in rows if field in row and same_value(row[field], arg))
            if hits:
                return slot, field, hits, isinstance(value, Proto)
    return None


def lookup_feedback(exc: BaseException, receiver: Any, arguments: Sequence[Any],
                    params: Sequence[str], family: Family | None = None) -> str | None:
    """What to add when a method's lookup failed (``'cy' is not in list``, a KeyError)
    on an argument that is a slot value of objects the receiver holds: that it must find
    the object by that slot. None otherwise."""
    if not isinstance(exc, (ValueError, LookupError)):
        return None
    family = family or family_of(receiver)
    text = str(exc)
    for i, arg in enumerate(arguments):
        name = _param(params, i)
        found = _holding(receiver, name, arg, family)
        if found is None or found[3]:
            continue
        if repr(arg) in text or "not in list" in text or isinstance(exc, KeyError):
            slot, field, _, _ = found
            return (f"self.{slot} holds objects, not their .{field} values: find the one "
                    f"whose .{field} is {name}, as in next(x for x in self.{slot} "
                    f"if x.{field} == {name}).")
    return None


def order_reading(receiver: Any, selector: str, family: Family | None = None) -> str | None:
    """What a unary ``<things>By<Field>`` selector answers when ``field`` is a data slot
    of objects the receiver holds (``customersByLoaves``): those objects sorted by it, as
    Pharo's ``sorted:`` would (then the field the words before ``By`` name), not the
    ones whose field equals the example's value. None otherwise."""
    if ":" in selector or not isinstance(receiver, Proto):
        return None
    words = selector_words(selector)
    if "By" not in words[1:] or {"group", "grouped"} & {w.lower() for w in words}:
        return None
    at = words.index("By", 1)
    wanted = "".join(words[at + 1:]).lower()
    before = [w.lower() for w in words[:at]]
    family = family or family_of(receiver)
    for slot, value in family.fields(receiver):
        first = next((v for v in elements(value) if isinstance(v, Proto)), None)
        if first is None:
            continue
        fields = {f.lower(): (f, v) for f, v in family.fields(first)}
        key = fields.get(wanted)
        if key is None or isinstance(key[1], bool):
            continue
        # roomNumbersByRate: the words before By name what each entry is (.number)
        shown = next((fields[n][0] for n in (before[-1].removesuffix("s"),
                                             "".join(before[-2:]).removesuffix("s"))
                      if n in fields), None)
        # sort the objects, then take the field: the other way round loses .rate
        then = f", then each one's .{shown}" if shown else ""
        return f"a list: self.{slot} sorted by .{key[0]} (smallest first){then}"
    return None


def family_of(*objects: Any) -> Family:
    """The family of the image the first of ``objects`` that has one lives in."""
    from batos.image.image import image_of
    for obj in objects:
        image = image_of(obj) if isinstance(obj, Proto) else None
        if image is not None:
            return Family.of_image(image)
    return Family()


def world_for(image: Any, receiver: Any, arguments: Sequence[Any] = (),
              params: Sequence[str] = (), budget: int = WORLD_TOKENS) -> list[str]:
    """:func:`world_lines` with the image's machinery and genesis's copies left out."""
    return world_lines(receiver, arguments, params, family=Family.of_image(image),
                       budget=budget)


def params_and_world(image: Any, receiver: Any, selector: str, arguments: Sequence[Any]
                     ) -> tuple[list[str], list[str]]:
    """The parameter names (:func:`batos.mind.prompts.param_names`, clear of the
    receiver's slots and methods) and the world lines of a brief, for ``decompose``."""
    from batos.image.proto import selector_to_name
    family = Family.of_image(image)
    held: dict[str, Any] = {}
    methods: list[str] = []
    if isinstance(receiver, Proto):
        held = dict(family.fields(receiver))
        methods = [selector_to_name(s) for s in family.methods(receiver)]
        held.update({n: None for n in receiver.slot_names() if n not in held})
    args = list(arguments)
    params = param_names(selector, len(args), args, held, avoid=methods)
    return params, world_lines(receiver, args, params, family=family)


# --- a failed send to another object ---------------------------------------------------

def failure_feedback(exc: BaseException, receiver: Any, family: Family | None = None
                     ) -> str | None:
    """What to tell the model when its method's send to *another* prototype failed
    (``MessageNotUnderstood`` whose receiver is not the method's, or an
    ``AttributeError`` on a prototype): what that object has and understands, and where
    the receiver holds it. None for anything else (the plain error says enough)."""
    target: Any = None
    missing = ""
    if isinstance(exc, MessageNotUnderstood):
        if exc.receiver is receiver:
            return None
        target, missing = exc.receiver, str(exc.selector)
    elif isinstance(exc, AttributeError):
        target, missing = getattr(exc, "obj", None), str(getattr(exc, "name", "") or "")
    if not isinstance(target, Proto) or target is receiver:
        return None
    family = family or family_of(target, receiver)
    fields = [n for n, _ in family.fields(target)]
    methods = family.methods(target)
    where = _held_at(receiver, target, family)
    who = f"{target._display()}{f' ({where})' if where else ''}"
    has = ("it has slots " + ", ".join(fields)) if fields else "it has no data slots"
    if methods:
        has += " and understands " + ", ".join(call_form(s)[1:] for s in methods)
    text = f"{who} does not understand #{missing}; {has}."
    from batos.image.proto import selector_to_name
    close = difflib.get_close_matches(selector_to_name(missing),
                                      fields + [selector_to_name(s) for s in methods], 1, 0.6)
    own = {n for n, _ in family.fields(receiver)} if isinstance(receiver, Proto) else set()
    if missing in own:
        text += f" It is self's slot: read it as self.{missing}."
    elif close:
        text += f" Did you mean .{close[0]}?"
    return text + " Read a slot as obj.slot; send a method as obj.method()."


def _held_at(receiver: Any, target: Proto, family: Family) -> str:
    """Where ``receiver`` holds ``target``: ``self.owner``, ``an element of self.items``."""
    if not isinstance(receiver, Proto):
        return ""
    for name, value in family.fields(receiver):
        if value is target:
            return f"self.{name}"
        if isinstance(value, Mapping):
            if any(v is target for v in value.values()):
                return f"a value of self.{name}"
        elif is_collection(value) and any(v is target for v in value):
            return f"an element of self.{name}"
    return ""


__all__ = ["WORLD_TOKENS", "Family", "call_form", "elements", "failure_feedback", "family_of",
           "is_collection", "lookup_feedback", "order_reading", "params_and_world",
           "same_value", "shape", "tokens", "value_text", "world_for", "world_lines"]
