"""AuditReport: the persistent record of one guardian verdict.

It holds plain data only (strings, numbers, lists of small dicts), so it can be
stored next to a Method in the image and read back by any later batos version.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any, Iterable

from persistent import Persistent

from batos.guardian.rules import SEVERITY_ERROR

VERDICTS = ("accepted", "repaired", "rejected")


def make_finding(rule: str, message: str, line: int = 0, col: int = 0,
                 severity: str = SEVERITY_ERROR) -> dict[str, Any]:
    """One finding as a plain dict: rule id, severity, line, col (1-based), message."""
    return {"rule": rule, "severity": severity, "line": int(line), "col": int(col),
            "message": message}


def source_hash(source: str | bytes) -> str:
    """The sha256 hex digest of ``source`` (text is hashed as UTF-8)."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    return hashlib.sha256(data).hexdigest()


class AuditReport(Persistent):
    """A guardian verdict with its findings; ``accepted`` is True unless rejected."""

    def __init__(self, *, verdict: str, findings: Iterable[dict[str, Any]] = (),
                 rules_checked: Iterable[str] = (), source: str = "",
                 guardian_version: str = "", selector: str | None = None,
                 kind: str = "method", hash_of: str | bytes | None = None,
                 created: float | None = None) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        self.verdict = verdict
        self.findings = [dict(f) for f in findings]
        self.rules_checked = list(rules_checked)
        self.source = source
        self.source_hash = source_hash(source if hash_of is None else hash_of)
        self.guardian_version = guardian_version
        self.selector = selector
        self.kind = kind
        self.created = time.time() if created is None else created

    @property
    def accepted(self) -> bool:
        """True for "accepted" and "repaired" verdicts."""
        return self.verdict != "rejected"

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Findings with severity "error"."""
        return [f for f in self.findings if f["severity"] == SEVERITY_ERROR]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of everything in the report."""
        return {"verdict": self.verdict, "accepted": self.accepted, "kind": self.kind,
                "selector": self.selector, "findings": [dict(f) for f in self.findings],
                "rules_checked": list(self.rules_checked), "source": self.source,
                "source_hash": self.source_hash,
                "guardian_version": self.guardian_version, "created": self.created}

    def summary(self) -> str:
        """One line: verdict, then the first error (or warning) with its line."""
        pick = self.errors or self.findings
        if not pick:
            return f"{self.verdict}: no findings ({len(self.rules_checked)} rules checked)"
        f = pick[0]
        more = f" (+{len(pick) - 1} more)" if len(pick) > 1 else ""
        where = f" line {f['line']}" if f["line"] else ""
        return f"{self.verdict}: {f['rule']}{where}: {f['message']}{more}"

    def __repr__(self) -> str:
        return f"<AuditReport {self.summary()}>"

    def __rich__(self) -> Any:
        from batos.render.audit import render_report
        return render_report(self)
