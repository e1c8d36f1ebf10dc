"""Methods: source text with provenance, compiled lazily once per process.

A Method never pickles a function. It stores its selector, its source, its
language (``python``, ``bst`` or ``primitive``), its provenance and the guardian's
audit report. The compiled function lives in a per-process cache keyed by the
source hash, so an image opens and works after a restart or a batos upgrade.

A Method is immutable once created, and opaque to method code: only batos's own
code may create one or read its parts (``guardian.capability``).  A primitive is a
name in batos's fixed table (:data:`PRIMITIVE_MODULES` and each module's
``PRIMITIVES``), never an arbitrary ``module:function`` an image can store.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import sys
import time
import types
from typing import Any, Callable

from persistent import Persistent
from persistent.mapping import PersistentMapping

from batos.errors import AuditRejected, MethodDefinitionError
from batos.guardian.capability import _decider, refuse, require_trusted
from batos.guardian.renames import renamed_primitive

#: the modules whose ``PRIMITIVES`` name the functions a primitive Method may run (an old
#: image's module names resolve through :data:`batos.guardian.renames.MODULES`)
PRIMITIVE_MODULES: frozenset[str] = frozenset({
    "batos.lang.traits", "batos.mind.dnu", "batos.mind.personas", "batos.mind.psm",
    "batos.mind.catalog", "batos.mind.contrapunto", "batos.mind.contracts", "batos.mind.improve",
})

LANGUAGES = ("python", "bst", "primitive")

# (language, name, sha256(source)) -> compiled function
_COMPILED: dict[tuple[str, str, str], Callable[..., Any]] = {}


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def detect_language(source: str) -> str:
    """``python`` for a ``def``/decorated def, else ``bst``."""
    head = source.lstrip()
    if head.startswith(("def ", "@", "async def ")):
        return "python"
    return "bst"


class Method(Persistent):
    """A method stored as source with provenance."""

    _v_fn: Callable[..., Any] | None = None  # per-process compiled function

    def __init__(self, selector: str, source: str, language: str = "python",
                 provenance: dict[str, Any] | None = None, audit: Any = None) -> None:
        require_trusted("create Method objects")
        if language not in LANGUAGES:
            raise MethodDefinitionError(f"unknown method language {language!r}")
        if language == "primitive":
            resolve_primitive(source)  # only names in batos's table
        self.__dict__.update(selector=selector, source=source, language=language,
                             provenance=PersistentMapping(provenance or {}), audit=audit,
                             created=time.time())

    def __getattribute__(self, name: str) -> Any:
        if name[:1] != "_" and _decider(sys._getframe(1)) is not None:
            raise refuse(f"read a Method's {name!r}: methods are opaque inside the image")
        return Persistent.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:3] in ("_p_", "_v_"):
            Persistent.__setattr__(self, name, value)
            return
        raise AttributeError(f"a Method is immutable: cannot set {name!r} (define a new "
                             "version of the method instead)")

    def __delattr__(self, name: str) -> None:
        if name[:3] in ("_p_", "_v_"):
            Persistent.__delattr__(self, name)
            return
        raise AttributeError(f"a Method is immutable: cannot delete {name!r}")

    # -- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, selector: str, source: str, *, language: str | None = None,
               author: str = "human", provenance: dict[str, Any] | None = None,
               audit: bool = True, repair: bool = False) -> "Method":
        """Check (guardian audit for Python), compile and return a new Method.

        Raises :class:`MethodDefinitionError` (or :class:`AuditRejected`) on bad source.
        """
        require_trusted("create methods")
        from batos.image.selectors import selector_to_name
        if not isinstance(source, str) or not source.strip():
            raise MethodDefinitionError(f"empty source for #{selector}")
        language = language or detect_language(source)
        report = None
        if language == "python":
            source = _dedent(source)
            name = selector_to_name(selector)
            _check_def_name(source, name, selector)
            if audit:
                from batos.guardian import audit_definition  # = `batos audit FILE`
                report = audit_definition(source, selector=selector, repair=repair)
                if report is not None and not report.accepted:
                    raise AuditRejected(f"guardian rejected #{selector}: {report.summary()}",
                                        report=report)
                if report is not None and getattr(report, "source", None):
                    source = report.source
        prov = {"author": author, "created": time.time()}
        prov.update(provenance or {})
        method = cls(selector, source, language, prov, report)
        method.function  # compile now so errors surface at definition time
        return method

    # -- compiled code ------------------------------------------------------------------
    @property
    def function(self) -> Callable[..., Any]:
        """The compiled function ``f(self, *args)``, cached per process."""
        fn = self._v_fn
        if fn is None:
            source = self.source
            key = (self.language, self.selector, source_hash(source))
            fn = _COMPILED.get(key)
            if fn is None:
                fn = _compile(self.language, self.selector, source)
                _COMPILED[key] = fn
            self._v_fn = fn
        return fn

    @property
    def created_tid(self) -> bytes | None:
        """The id of the transaction that stored this method (methods are immutable)."""
        serial = self._p_serial
        return serial if serial and serial != b"\0" * 8 else None

    def __repr__(self) -> str:
        return f"<Method #{self.selector} ({self.language})>"

    def __rich__(self) -> Any:
        from batos.render.code import MethodView
        return MethodView(self)


def _dedent(source: str) -> str:
    import textwrap
    return textwrap.dedent(source).strip("\n") + "\n"


def _check_def_name(source: str, name: str, selector: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise MethodDefinitionError(
            f"<method {selector}>:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}",
            line=exc.lineno, column=exc.offset) from None
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(defs) != 1:
        raise MethodDefinitionError(
            f"a method is exactly one 'def'; found {len(defs)} in the source for #{selector}")
    fn = defs[0]
    if not fn.args.args or fn.args.args[0].arg != "self":
        raise MethodDefinitionError(f"the first parameter of #{selector} must be 'self'")
    if name.isidentifier() and fn.name != name:
        raise MethodDefinitionError(
            f"def {fn.name}(...) does not match selector #{selector}: name it {name!r}")


def _compile(language: str, selector: str, source: str) -> Callable[..., Any]:
    if language == "python":
        from batos.guardian import compile_method
        return compile_method(source, filename=f"<method {selector}>")
    if language == "bst":
        from batos.image.language import compiler  # registered by batos.lang
        compile_bst = compiler("bst")
        if compile_bst is None:
            raise MethodDefinitionError("no compiler for BST methods is installed")
        return compile_bst(source, selector=selector)
    if language == "primitive":
        return resolve_primitive(source)
    raise MethodDefinitionError(f"unknown method language {language!r}")


def resolve_primitive(ref: str) -> Callable[..., Any]:
    """``module:function`` → the function, for names in batos's primitive table only
    (primitives are batos code, not image data: an image cannot name ``os:system``)."""
    module_name, _, attr = renamed_primitive(str(ref)).partition(":")  # old images' paths
    if module_name not in PRIMITIVE_MODULES:
        raise MethodDefinitionError(f"unknown primitive {ref!r}: not in batos's primitive table")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MethodDefinitionError(f"unknown primitive {ref!r}: {exc}") from None
    fn = getattr(module, attr, None) if attr in getattr(module, "PRIMITIVES", ()) else None
    if not isinstance(fn, types.FunctionType):
        raise MethodDefinitionError(f"unknown primitive {ref!r}: not in batos's primitive table")
    return fn


def primitive(selector: str, ref: str, doc: str = "") -> Method:
    """A Method whose body is the batos function ``ref`` (``module:function``)."""
    method = Method(selector, ref, "primitive", {"author": "batos", "doc": doc})
    return method
