"""Adapter audit: a LoRA GGUF may enter the image only if it fits the base model.

Rules (ids A0xx): the file reads as GGUF (A001); it is a LoRA adapter
(``general.type == "adapter"``, ``adapter.type == "lora"``, A002); its
architecture matches the base (A003); every tensor is half of a
``<base>.lora_a``/``.lora_b`` pair of equal rank (A004); shapes fit the base
tensor or the base dimensions (A005); block indices exist in the base (A006);
``token_embd`` and ``output`` are never touched (A007).  GGUF dims are in ne
order: ``lora_a`` is [n_in, rank], ``lora_b`` is [rank, n_out].
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from batos.guardian.auditor import VERSION
from batos.guardian.report import AuditReport, make_finding
from batos.guardian.rules import SEVERITY_WARNING

ADAPTER_RULES = ["A001", "A002", "A003", "A004", "A005", "A006", "A007", "A008"]
_FORBIDDEN_BASES = ("token_embd.", "output.")
_BLOCK = re.compile(r"^blk\.(\d+)\.(\w+)\.weight$")


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return None
    try:
        return f.contents()
    except Exception:  # older gguf: decode the last part by hand
        part = f.parts[f.data[0]]
        return bytes(part).decode("utf-8", "replace") if part.dtype.kind == "u" else part[0]


def _expected(kind: str, dims: dict[str, Any]) -> tuple[int | None, int | None]:
    """(n_in, n_out) of a base tensor of ``kind`` from hyperparameters."""
    e, ff = dims.get("n_embd"), dims.get("n_ff")
    head, kv = dims.get("n_head"), dims.get("n_head_kv")
    kv_out = e * kv // head if e and head and kv else None
    return {"attn_q": (e, e), "attn_k": (e, kv_out), "attn_v": (e, kv_out),
            "attn_output": (e, e), "ffn_up": (e, ff), "ffn_gate": (e, ff),
            "ffn_down": (ff, e)}.get(kind, (None, None))


def file_sha256(path: str) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def audit_adapter(path: str | os.PathLike[str], *, base_arch: str | None = None,
                  base_dims: dict[str, Any] | None = None) -> AuditReport:
    """Audit a LoRA adapter GGUF; ``base_dims`` holds n_embd/n_layer/n_ff/n_head/
    n_head_kv and/or ``tensors`` ({base tensor name: ne dims})."""
    path = os.fspath(path)
    findings: list[dict[str, Any]] = []

    def report(verdict: str | None = None) -> AuditReport:
        errors = [f for f in findings if f["severity"] == "error"]
        try:
            digest: str | bytes = file_sha256(path)
        except OSError:
            digest = path
        rep = AuditReport(verdict=verdict or ("rejected" if errors else "accepted"),
                          findings=findings, rules_checked=ADAPTER_RULES, source=path,
                          guardian_version=VERSION, kind="adapter")
        if isinstance(digest, str) and len(digest) == 64:
            rep.source_hash = digest
        return rep

    try:
        from gguf import GGUFReader
        reader = GGUFReader(path)
    except Exception as exc:  # noqa: BLE001 - any read failure is a verdict
        findings.append(make_finding("A001", f"not a readable GGUF file: {exc}"))
        return report()
    gtype, atype = _field(reader, "general.type"), _field(reader, "adapter.type")
    arch = _field(reader, "general.architecture")
    if gtype != "adapter" or atype != "lora":
        findings.append(make_finding(
            "A002", f"not a LoRA adapter (general.type={gtype!r}, adapter.type={atype!r})"))
    if base_arch is not None and arch != base_arch:
        findings.append(make_finding("A003", f"adapter architecture {arch!r} does not match "
                                     f"the base model's {base_arch!r}"))
    if _field(reader, "adapter.lora.alpha") is None:
        findings.append(make_finding("A008", "adapter.lora.alpha is missing "
                                     "(llama.cpp will assume the rank)",
                                     severity=SEVERITY_WARNING))
    dims = dict(base_dims or {})
    tensors_base = dims.pop("tensors", None)
    if tensors_base is None and dims and all(isinstance(v, (tuple, list))
                                             for v in dims.values()):
        tensors_base, dims = dims, {}
    pairs: dict[str, dict[str, tuple[int, ...]]] = {}
    for t in reader.tensors:
        name = str(t.name)
        shape = tuple(int(x) for x in t.shape)
        if name.endswith((".lora_a", ".lora_b")):
            pairs.setdefault(name[:-7], {})[name[-1]] = shape
        else:
            findings.append(make_finding("A004", f"tensor {name!r} is not a LoRA "
                                         "lora_a/lora_b tensor"))
    if not pairs and not findings:
        findings.append(make_finding("A004", "the adapter holds no LoRA tensors"))
    for base, ab in sorted(pairs.items()):
        _check_pair(base, ab, dims, tensors_base, findings)
    return report()


def _check_pair(base: str, ab: dict[str, tuple[int, ...]], dims: dict[str, Any],
                tensors_base: dict[str, Any] | None, findings: list[dict[str, Any]]) -> None:
    if base.startswith(_FORBIDDEN_BASES):
        findings.append(make_finding("A007", f"adapter modifies {base!r}: token_embd and "
                                     "output tensors may not be adapted"))
    if set(ab) != {"a", "b"}:
        missing = "lora_b" if "a" in ab else "lora_a"
        findings.append(make_finding("A004", f"{base}: {missing} is missing"))
        return
    a, b = ab["a"], ab["b"]
    if len(a) != 2 or len(b) != 2 or a[1] != b[0]:
        findings.append(make_finding("A005", f"{base}: lora_a {list(a)} and lora_b "
                                     f"{list(b)} do not share a rank"))
        return
    n_in, n_out = a[0], b[1]
    m = _BLOCK.match(base)
    if m and dims.get("n_layer") is not None and int(m.group(1)) >= int(dims["n_layer"]):
        findings.append(make_finding("A006", f"{base}: the base model has only "
                                     f"{dims['n_layer']} blocks"))
    if tensors_base is not None:
        want = tensors_base.get(base)
        if want is None:
            findings.append(make_finding("A005", f"{base}: no such tensor in the base model"))
        elif (n_in, n_out) != tuple(int(x) for x in want)[:2]:
            findings.append(make_finding("A005", f"{base}: adapter maps {n_in}->{n_out} but "
                                         f"the base tensor is {list(want)}"))
        return
    if m:
        exp_in, exp_out = _expected(m.group(2), dims)
        if (exp_in is not None and exp_in != n_in) or (exp_out is not None
                                                        and exp_out != n_out):
            findings.append(make_finding(
                "A005", f"{base}: adapter maps {n_in}->{n_out} but the base expects "
                f"{exp_in}->{exp_out}"))
