"""Self-style prototypes: slots, ``parent*`` delegation, cloning and the one send path.

A :class:`Proto` pickles only its slot table and name (``{'_slots': {...}, '_name': ...}``,
plus ``'_primordial': True`` for the objects batos made).
For speed, the instance ``__dict__`` also mirrors (never pickled):

* its own data slots, so ``obj.count`` is a native attribute read;
* bound methods found by lookup (own or inherited), so ``obj.increment()`` costs
  about a plain Python call after the first one.

Cached bound methods are dropped whenever any slot that can change a lookup is
written (a method or parent slot, or a new name), and after every abort, because
an abort reverts slots without going through :meth:`Proto.set_slot`.

Families: ``P clone`` gives the clone its own copy of P's data slots and a parent slot
``family*`` pointing at P, so P's methods (those it gains later too) answer for every
clone of P. A *primordial* object (one batos made: ``genesis``, ``traits``, ``pLLM``…)
is the root of no family: its clones start a new kind, copying its slots but not its
identity slots (:data:`IDENTITY_SLOTS`), which no object inherits either.
:func:`method_home` says where a generated method goes so the receiver's siblings find
it; ``detachFromFamily`` (``lang/traits.py``) makes a clone stand alone.
"""
from __future__ import annotations

import copy
import types
import weakref
from collections.abc import Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Iterator

from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping

from batos.errors import AmbiguousSelector, CapabilityError, MessageNotUnderstood, SlotError
from batos.settings import setting
from batos.guardian.unpickle import is_loading as _unpickling
from batos.guardian.capability import (READ_ONLY_VIEWS, foreign_sender, may_write, plain_copy,
                                      read_only_view, require_trusted)
from batos.image.committed import as_committed, state_members
from batos.image.method import Method
from batos.image.selectors import _NAME_CACHE, is_parent_slot, name_to_selector, selector_to_name

# --- the lookup cache ------------------------------------------------------------

# obj -> names of bound methods cached in its __dict__
_CACHED: "weakref.WeakKeyDictionary[Proto, set[str]]" = weakref.WeakKeyDictionary()


def invalidate_lookup_cache() -> None:
    """Drop every cached method binding (after aborts and lookup-changing writes)."""
    for obj, names in list(_CACHED.items()):
        d = object.__getattribute__(obj, "__dict__")
        slots = d.get("_slots", {})
        for name in names:
            d.pop(name, None)
            # restore the data mirror if a data slot of that name exists now
            if name in slots and _mirrored(slots[name]):
                d[name] = slots[name]
    _CACHED.clear()


def _is_method(value: Any) -> bool:
    return isinstance(value, Method)


def _mirrored(value: Any) -> bool:
    """Whether a data slot's value is mirrored in ``__dict__`` (a native attribute read,
    no check): immutable data and prototypes.  Containers are served by ``__getattr__``
    (a method sees another object's as a read-only view) and other persistent objects
    (the catalog's index, an adapter's blob …) too (refused to method code: their
    Python API is batos's, not the image's)."""
    return not isinstance(value, Persistent) or isinstance(value, Proto)


def _is_container(value: Any) -> bool:
    if isinstance(value, (PersistentList, PersistentMapping)):
        return True
    from batos.image.containers import PersistentSet
    return isinstance(value, PersistentSet)


def _is_tree(value: Any) -> bool:
    from BTrees.Interfaces import IBTree, ITreeSet
    return IBTree.providedBy(value) or ITreeSet.providedBy(value)


def _served(owner: "Proto", name: str, value: Any) -> Any:
    """An unmirrored data slot's value as the sender may see it (see :func:`_mirrored`):
    its own containers and BTrees to a method of the owner, a read-only view of a
    list, dict or set to a method of another object, nothing else to method code."""
    if _is_container(value):
        return read_only_view(value) if foreign_sender(owner, 2) else value
    if _is_tree(value) and not foreign_sender(owner, 2):
        return value
    require_trusted(f"reach the {type(value).__name__} in slot {name!r} (send the object "
                    "that holds it a message instead)", 2)
    return value


# --- persistifying values ---------------------------------------------------------

def persistify(value: Any) -> Any:
    """Lists, dicts and sets become persistent containers, so in-place mutation persists."""
    if isinstance(value, Persistent):
        return value
    if isinstance(value, READ_ONLY_VIEWS):  # another object's container, seen by a method
        value = plain_copy(value)
    if type(value) is set:
        from batos.image.containers import PersistentSet
        return PersistentSet(value)
    if type(value) is list:
        return PersistentList([persistify(v) for v in value])
    if type(value) is dict:
        return PersistentMapping({k: persistify(v) for k, v in value.items()})
    if type(value) is tuple:
        return tuple(persistify(v) for v in value)
    return value


def contained_values(obj: Any) -> list[Any] | None:
    """What a stored container holds directly: a Proto's slot values, a PersistentList's
    items, a PersistentMapping's keys and values, a PersistentSet's elements; None for
    anything else."""
    if isinstance(obj, Proto):
        return list(obj.__dict__.get("_slots", {}).values())
    if isinstance(obj, PersistentList):
        return list(obj.data)
    if isinstance(obj, PersistentMapping):
        return [x for pair in obj.data.items() for x in pair]
    from batos.image.containers import PersistentSet
    if isinstance(obj, PersistentSet):
        return list(obj.data)
    return None


# --- families -----------------------------------------------------------------------

#: the parent slot a clone keeps to the prototype it was cloned from
FAMILY_SLOT = "family*"
#: what a primordial object says about itself: not copied into its clones, not inherited
IDENTITY_SLOTS: frozenset[str] = frozenset({"description"})


#: primordial by name in an image whose objects predate the stored mark
_CORE_NAMES = frozenset({"genesis", "traits", "pLLM"})


def is_primordial(obj: "Proto") -> bool:
    """Whether batos made ``obj`` (genesis, traits, pLLM, the catalog, personas, PSM
    states…: constructed with a name, or marked by :func:`mark_primordial`) rather than a
    user's clone: the root of no family, never a home for generated methods."""
    obj._slots  # unghostifies: a ghost's state is not loaded yet
    d = obj.__dict__
    return bool(d.get("_primordial")) or d.get("_name") in _CORE_NAMES


def mark_primordial(obj: "Proto") -> None:
    """Mark a system object made by cloning (a persona) or by an older batos."""
    obj._slots
    if not obj.__dict__.get("_primordial"):
        obj.__dict__["_primordial"] = True
        obj._p_changed = True


def family_of(obj: "Proto") -> "Proto | None":
    """The prototype ``obj`` was cloned from (its ``family*`` slot); None for a new kind,
    a detached object or a clone made before families existed."""
    value = obj._slots.get(FAMILY_SLOT)
    return value if isinstance(value, Proto) else None


def method_home(receiver: "Proto", options: Any = None) -> "Proto":
    """Where a generated or taught method for ``receiver`` is installed: its family
    prototype (``family*``), so its siblings find it, when the ``family_methods`` setting
    is on (``options``: the image's options, ``image.options``); else, or when it has no
    family or the family is a primordial object, the receiver itself."""
    if not setting("family_methods", options=options) or is_primordial(receiver):
        return receiver
    home = family_of(receiver)
    return receiver if home is None or is_primordial(home) else home


# --- slot listing -------------------------------------------------------------------

@dataclass(frozen=True)
class SlotInfo:
    """One row of a slot listing: where a slot lives and what it holds."""

    name: str
    kind: str          # "data" | "method" | "parent"
    value: Any
    owner: "Proto"
    inherited: bool


_API_NAMES: frozenset[str] = frozenset()  # filled after the class is defined
_MISSING = object()


class Proto(Persistent):
    """A prototype: an ordered bag of slots, created by cloning."""

    def __init__(self, name: str | None = None, slots: dict[str, Any] | None = None) -> None:
        require_trusted("construct an object directly (send it clone instead)")
        d = self.__dict__
        d["_slots"] = {}
        d["_name"] = name
        if name is not None:  # only batos constructs objects, named: a system object
            d["_primordial"] = True
        for key, value in (slots or {}).items():
            self.set_slot(key, value)

    # -- persistence ------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__
        state = {"_slots": d["_slots"], "_name": d.get("_name")}
        if d.get("_primordial"):
            state["_primordial"] = True
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        d = self.__dict__
        d.clear()
        slots = state["_slots"]
        d["_slots"] = slots
        d["_name"] = state.get("_name")
        if state.get("_primordial"):
            d["_primordial"] = True
        _CACHED.pop(self, None)
        for key, value in slots.items():
            if not is_parent_slot(key) and key not in _API_NAMES and _mirrored(value):
                d[key] = value

    # -- attribute protocol -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only reached when the name is not in __dict__ (not mirrored, not cached yet).
        if name.startswith("_") or _unpickling():  # a record being loaded sends nothing
            raise AttributeError(name)
        found = _find(self, name)
        if found is None:
            raise MessageNotUnderstood(self, name_to_selector(name, 0))
        owner, value = found
        if not _is_method(value) and not _mirrored(value):
            return _served(self, name, value)
        if _is_method(value):
            bound = types.MethodType(value.function, self)
            if self._p_status != "ghost":
                self.__dict__[name] = bound
                _CACHED.setdefault(self, set()).add(name)
            return bound
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_p_") or name.startswith("_v_"):
            Persistent.__setattr__(self, name, value)
        elif name.startswith("_") or name in _API_NAMES:
            raise SlotError(f"cannot assign {name!r}: names starting with '_' and the Python API "
                            "names are not slots")
        elif not may_write(self):
            raise _foreign_write(self, name)
        else:
            self.set_slot(name, value)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_p_") or name.startswith("_v_"):
            Persistent.__delattr__(self, name)
        elif not may_write(self):
            raise _foreign_write(self, name)
        else:
            self.remove_slot(name)

    # -- slots --------------------------------------------------------------------------
    def set_slot(self, name: str, value: Any) -> None:
        """Add or replace an own slot (data, Method, or ``name*`` parent)."""
        if not may_write(self):
            raise _foreign_write(self, name)
        _check_slot_name(name)
        if is_parent_slot(name) and not isinstance(value, Proto) and value is not None:
            raise SlotError(f"parent slot {name!r} must hold a prototype, not {type(value).__name__}")
        value = persistify(value)
        from batos.guardian import check_storable
        check_storable(value)
        slots = self._slots  # also unghostifies
        d = self.__dict__
        old = slots.get(name, _MISSING)
        lookup_changes = (old is _MISSING or is_parent_slot(name) or _is_method(value)
                          or _is_method(old))
        if lookup_changes:
            invalidate_lookup_cache()
        slots[name] = value
        self._p_changed = True
        if not is_parent_slot(name) and name not in _API_NAMES:
            if _mirrored(value):
                d[name] = value
            else:
                d.pop(name, None)

    def remove_slot(self, name: str) -> None:
        """Remove an own slot; inherited slots are not touched."""
        if not may_write(self):
            raise _foreign_write(self, name)
        slots = self._slots
        if name not in slots:
            inherited = FAMILY_SLOT in slots and _find(self, name) is not None
            raise SlotError(f"{self._display()} has no own slot {name!r}" + (
                " (it finds it through family*: define its own to override it, or send "
                "detachFromFamily to own a copy of its family's slots)" if inherited else ""))
        invalidate_lookup_cache()
        del slots[name]
        self.__dict__.pop(name, None)
        self._p_changed = True

    def has_slot(self, name: str) -> bool:
        return name in self._slots

    def get_slot(self, name: str, default: Any = _MISSING) -> Any:
        """The value of an own slot."""
        require_trusted("read slots through the Python API (send the slot's name instead)")
        slots = self._slots
        if name in slots:
            return slots[name]
        if default is _MISSING:
            raise SlotError(f"{self._display()} has no own slot {name!r}")
        return default

    def slot_names(self) -> list[str]:
        return list(self._slots)

    def own_slots(self) -> dict[str, Any]:
        require_trusted("read an object's slot table")
        return dict(self._slots)

    def parents(self) -> list["Proto"]:
        require_trusted("walk an object's parents")
        return _parents(self)

    def slots(self, inherited: bool = True) -> list[SlotInfo]:
        """Own slots, then (with ``inherited``) every slot reachable through parents that
        is not shadowed, each with the object that defines it."""
        require_trusted("read an object's slot table")
        rows: list[SlotInfo] = []
        seen: set[str] = set()
        for owner, depth in self._walk():
            if depth and not inherited:
                break
            for key, value in owner._slots.items():
                if key in seen or (depth and key in IDENTITY_SLOTS and is_primordial(owner)):
                    continue
                seen.add(key)
                kind = "parent" if is_parent_slot(key) else "method" if _is_method(value) else "data"
                rows.append(SlotInfo(key, kind, value, owner, depth > 0))
        return rows

    def _walk(self) -> Iterator[tuple["Proto", int]]:
        """Depth-first over self and its ancestors in slot order, each once."""
        seen: set[int] = set()
        stack: list[tuple[Proto, int]] = [(self, 0)]
        while stack:
            obj, depth = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield obj, depth
            stack.extend((p, depth + 1) for p in reversed(_parents(obj)))

    # -- lookup and send ------------------------------------------------------------------
    def lookup(self, name: str) -> tuple["Proto", Any] | None:
        """Find slot ``name``: own slots, then parents (nearest wins; two different
        owners at the same nearest depth raise :class:`AmbiguousSelector`)."""
        require_trusted("look up slots (send the message instead)")
        return _find(self, name)

    def responds_to(self, selector: str) -> bool:
        selector = str(selector)
        if selector[:1] == "_":
            return False
        return _lookup(self, selector_to_name(selector), set()) is not None

    def send(self, selector: str, *args: Any) -> Any:
        """Send a message by selector (``"at:put:"``), the one path every caller shares."""
        name = _NAME_CACHE.get(selector)
        if name is None:
            if not isinstance(selector, str) or selector[:1] in ("_", ""):
                raise _private_selector(self, selector)
            name = selector_to_name(selector)
        attr = self.__dict__.get(name, _MISSING) if name not in _API_NAMES else _MISSING
        if attr is _MISSING:
            found = _find(self, name)
            if found is None:
                return self._send_missing(selector, args)
            value = found[1]
            if type(value) is not Method:
                attr = value if _mirrored(value) else _served(self, name, value)
            elif name in _API_NAMES:
                return value.function(self, *args)
            else:
                attr = self.__getattr__(name)
        if type(attr) is types.MethodType and attr.__self__ is self:
            return attr(*args)
        if args:
            return self._send_missing(selector, args)
        return attr

    def _send_missing(self, selector: str, args: tuple[Any, ...]) -> Any:
        if len(args) == 1 and selector.endswith(":") and selector.count(":") == 1:
            # Self-style assignment slot: `count: 5` writes the data slot `count`
            slot = selector[:-1]
            target = _find(self, slot)
            if target is not None and not _is_method(target[1]) and not is_parent_slot(slot):
                if foreign_sender(self):
                    raise _foreign_write(self, slot)
                self.set_slot(slot, args[0])
                return self
        return self.does_not_understand(selector, args)

    def does_not_understand(self, selector: str, args: tuple[Any, ...] | list[Any]) -> Any:
        """Reify the message and send ``doesNotUnderstand_`` (per-object overrides win)."""
        require_trusted("send doesNotUnderstand_ through the Python API")
        from batos.image.message import Message
        message = Message(self, selector, list(args))
        found = _find(self, "doesNotUnderstand_")
        if found is None or not _is_method(found[1]):
            raise MessageNotUnderstood(self, selector, args)
        return found[1].function(self, message)

    # -- custody (guardian.capability.in_custody) ------------------------------------------
    def _batos_system(self) -> bool:
        """Primordial objects are in no method's custody."""
        return is_primordial(self)

    def _batos_holds(self, target: Any) -> bool:
        """Whether ``target`` was, at the last commit, in one of this object's own data
        slots, directly or as an element (a value, for a dictionary) of a collection
        there; parent slots and methods do not hold. The committed state, because a
        method may store any reference it reaches in its own slots: that must not make
        the object its to change."""
        state = as_committed(self)
        if state is None:
            return False
        slots = self._slots if state is self else state.get("_slots", {})
        for name, value in slots.items():
            if is_parent_slot(name) or type(value) is Method:
                continue
            if value is target:
                return True
            if isinstance(value, (str, bytes)):
                continue
            held = as_committed(value) if hasattr(value, "_p_jar") else value
            if held is None or held is not value:  # new, or changed in this transaction
                held = state_members(held)
            elif isinstance(held, Mapping):
                held = held.values()
            elif not isinstance(held, (Sequence, AbstractSet)):
                continue
            if any(x is target for x in held):
                return True
        return False

    # -- cloning and methods ---------------------------------------------------------------
    def clone(self) -> "Proto":
        """Self's shallow copy: new identity, own slot table, shared values. A clone of
        a family prototype P copies P's data slots and links ``family*`` to P (methods and
        parents are found through it); a clone of a primordial object copies its slots but
        its identity slots, and starts a new kind (no link)."""
        return _clone(self, lambda value: value)

    def deep_clone(self) -> "Proto":
        """A clone whose data containers are copied recursively; parents, methods and other
        prototypes are shared."""
        return _clone(self, _deep_copy_data)

    def define(self, selector: str, source: str, *, language: str | None = None,
               author: str = "human", provenance: dict[str, Any] | None = None,
               audit: bool = True) -> Any:
        """Compile ``source`` (Python ``def`` or BST) and install it as method ``selector``."""
        require_trusted("define methods")
        from batos.image.method import Method
        method = Method.create(selector, source, language=language, author=author,
                               provenance=provenance, audit=audit)
        self.set_slot(selector_to_name(selector), method)
        return method

    def method(self, selector: str) -> Any:
        """The Method object that answers ``selector`` (own or inherited), or None."""
        require_trusted("reach a Method object")
        found = _find(self, selector_to_name(selector))
        if found is not None and _is_method(found[1]):
            return found[1]
        return None

    # -- printing ---------------------------------------------------------------------------
    def _display(self) -> str:
        name = self.__dict__.get("_name")
        return f"a Proto({name})" if name else "a Proto"

    def __repr__(self) -> str:
        try:
            return f"<{self._display()}>"
        except Exception:
            return "<a Proto>"

    def __rich__(self) -> Any:
        from batos.render.inspector import Inspector
        return Inspector(self)


def _parents(obj: Proto) -> list[Proto]:
    return [v for k, v in obj._slots.items() if is_parent_slot(k) and v is not None]


def _clone(source: Proto, copy_data: Any) -> Proto:
    new = Proto.__new__(Proto)
    Proto.__init__(new)
    slots = source._slots
    primordial = is_primordial(source)
    if not primordial:
        new.set_slot(FAMILY_SLOT, source)
    for key, value in slots.items():
        behaviour = is_parent_slot(key) or _is_method(value)
        if primordial:
            if key not in IDENTITY_SLOTS:
                new.set_slot(key, value if behaviour else copy_data(value))
        elif not behaviour:
            new.set_slot(key, copy_data(value))
    return new


def _foreign_write(target: Proto, name: str) -> CapabilityError:
    return CapabilityError(
        f"guardian: a method may change only its own receiver's slots, not {name!r} of "
        f"{target._display()}; send that object a message that changes it")


def _private_selector(target: Proto, selector: Any) -> CapabilityError:
    return CapabilityError(f"selectors starting with '_' are private: {target._display()} "
                           f"does not answer #{selector} to senders")


def _deep_copy_data(value: Any) -> Any:
    if isinstance(value, Proto):
        return value
    if isinstance(value, PersistentList):
        return type(value)([_deep_copy_data(v) for v in value])
    if isinstance(value, PersistentMapping):
        return type(value)({k: _deep_copy_data(v) for k, v in value.items()})
    from batos.image.containers import PersistentSet
    if isinstance(value, PersistentSet):
        return PersistentSet(value.data)  # elements are hashable, immutable values
    if isinstance(value, Persistent):
        return value
    return copy.deepcopy(value)


def _check_slot_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise SlotError(f"slot names are non-empty strings, not {name!r}")
    base = name[:-1] if name.endswith("*") else name
    if name.startswith("_") and name not in ("doesNotUnderstand_",):
        if not (name.endswith("_") and name.strip("_")):
            raise SlotError(f"slot name {name!r} may not start with '_'")
    if not base or any(c.isspace() for c in base):
        raise SlotError(f"invalid slot name {name!r}")


def _find(obj: Proto, name: str) -> tuple[Proto, Any] | None:
    """(owner, value) of the nearest definition of ``name``: :meth:`Proto.lookup` without
    the capability check, for the send path and batos's own callers."""
    found = _lookup(obj, name, set())
    return None if found is None else (found[1], found[2])


def _lookup(obj: Proto, name: str, visiting: set[int],
            top: bool = True) -> tuple[int, Proto, Any] | None:
    """(depth, owner, value) of the nearest definition of ``name`` at or above obj (a
    primordial object's identity slots are its own: genesis's, traits's and pLLM's
    ``description`` is not their heirs')."""
    slots = obj._slots
    if name in slots and (top or name not in IDENTITY_SLOTS or not is_primordial(obj)):
        return 0, obj, slots[name]
    oid = id(obj)
    if oid in visiting:
        return None
    visiting.add(oid)
    best: tuple[int, Proto, Any] | None = None
    for key, parent in slots.items():
        if not is_parent_slot(key) or parent is None:
            continue
        found = _lookup(parent, name, visiting, False)
        if found is None:
            continue
        depth = found[0] + 1
        if best is None or depth < best[0]:
            best = (depth, found[1], found[2])
        elif depth == best[0] and found[1] is not best[1] and found[2] is not best[2]:
            raise AmbiguousSelector(name_to_selector(name, 0),
                                    [best[1]._display(), found[1]._display()])
    visiting.discard(oid)
    return best


_API_NAMES = frozenset(n for n in dir(Proto) if not n.startswith("_"))


