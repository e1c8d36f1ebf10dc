"""The PersistenceGuardian: static audit, sandboxed execution, runtime limits.

Public API (import stays cheap: no rich, typer or gguf at import time):
``audit``, ``AuditReport``, ``compile_method``, ``check_storable``,
``register_storable``, ``audit_adapter``, ``GUARDIAN_VERSION``, ``DEFAULT_TIMEOUT``;
the runtime limits live in :mod:`batos.guardian.limits` (``limits``, ``paused``).
"""
from __future__ import annotations

import os
from typing import Any

from batos.guardian.auditor import VERSION as GUARDIAN_VERSION
from batos.guardian.auditor import audit_definition, audit_source
from batos.guardian.report import AuditReport, make_finding, source_hash
from batos.guardian.sandbox import compile_method, module_proxy
from batos.guardian.storable import check_storable, register_storable
from batos.guardian import limits  # the module: limits.limits, limits.paused
from batos.guardian.limits import DEFAULT_TIMEOUT

__all__ = ["GUARDIAN_VERSION", "AuditReport", "audit", "audit_definition", "compile_method",
           "check_storable", "register_storable", "audit_adapter", "limits", "DEFAULT_TIMEOUT",
           "make_finding", "source_hash", "module_proxy"]


def audit(source: str, *, selector: str | None = None, repair: bool = False) -> AuditReport:
    """Statically audit one method's Python source; never raises on bad source.

    With ``repair=True`` a Persistence Covenant violation is repaired by adding
    ``self._p_changed = True`` (verdict "repaired"; ``report.source`` is the new text).
    """
    return audit_source(source, selector=selector, repair=repair)


def audit_adapter(path: str | os.PathLike[str], *, base_arch: str | None = None,
                  base_dims: dict[str, Any] | None = None) -> AuditReport:
    """Audit a LoRA adapter GGUF against the base model's architecture and dims."""
    from batos.guardian.adapter import audit_adapter as _audit_adapter
    return _audit_adapter(path, base_arch=base_arch, base_dims=base_dims)
