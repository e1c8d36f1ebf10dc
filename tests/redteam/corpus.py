"""Loader for the red-team corpus in tests/redteam/*.txt (``# === name: what`` blocks)."""
from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent


def load(kind: str) -> list[tuple[str, str, str]]:
    """[(name, description, source)] from ``tests/redteam/<kind>.txt``."""
    out: list[tuple[str, str, str]] = []
    header: str | None = None
    buf: list[str] = []
    for line in (CORPUS / f"{kind}.txt").read_text(encoding="utf-8").splitlines(True):
        if line.startswith("# === "):
            if header is not None:
                out.append((*_split(header), "".join(buf)))
            header, buf = line[6:].strip(), []
        else:
            buf.append(line)
    if header is not None:
        out.append((*_split(header), "".join(buf)))
    return out


def _split(header: str) -> tuple[str, str]:
    name, _, what = header.partition(":")
    return name.strip(), what.strip()
