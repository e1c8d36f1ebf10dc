"""The cold tier of adapter memory: LoRA GGUF files kept as ZODB blobs (issue 7.3).

An :class:`Adapter` is a small persistent object (name, sha256, size, arch,
the guardian's audit) holding the file in a ``ZODB.blob.Blob``, so the adapter
is part of the image: it commits, undoes, packs and backs up with everything
else. llama.cpp reads the committed blob file in place (``Blob.committed()``),
so no temporary copy is ever written. The warm tier (adapters loaded in
llama.cpp memory, LRU-bounded by ``$BATOS_LORA_WARM``) and the hot tier (the
set applied per generation) live in :mod:`batos.llm.llamacpp`.

    add_adapter(image, "BRICK", "brick.gguf")   # audit, then store; AuditRejected if unfit
    list_adapters(image); remove_adapter(image, "BRICK")
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from persistent import Persistent

from batos.errors import AuditRejected, BatosError
from batos.guardian.adapter import file_sha256

log = logging.getLogger("batos.mind")

OFFERED = ("brick", "robin", "babs", "alfred")


class Adapter(Persistent):
    """A LoRA adapter stored in the image: metadata plus the GGUF in a blob."""

    def __init__(self, name: str, blob: Any, *, sha256: str, size: int, arch: str,
                 persona: str, source: str, audit: Any = None) -> None:
        self.name = name
        self.blob = blob
        self.sha256 = sha256
        self.size = size
        self.arch = arch
        self.persona = persona
        self.source = source
        self.audit = audit
        self.added = time.time()

    def path(self) -> str:
        """A file path llama.cpp can read (see :func:`adapter_path`)."""
        return adapter_path(self)

    def to_json(self) -> dict[str, Any]:
        """Plain data (no path: it depends on the process)."""
        return {"name": self.name, "persona": self.persona, "sha256": self.sha256,
                "size": self.size, "arch": self.arch, "source": self.source,
                "added": self.added,
                "verdict": getattr(self.audit, "verdict", None)}

    def __repr__(self) -> str:
        return f"<Adapter {self.name} for {self.persona} ({self.size:,} bytes)>"

    def __rich__(self) -> Any:
        from batos.render.adapter import render_adapter
        return render_adapter(self)


def adapter_path(adapter: Any) -> str:
    """The committed blob's file (read in place); for a blob added in this transaction
    and not committed yet, the file ZODB holds for it."""
    from ZODB.interfaces import BlobError
    blob = adapter.blob
    try:
        return blob.committed()
    except BlobError:
        pass
    try:
        with blob.open("r") as fh:
            return fh.name
    except Exception as exc:  # noqa: BLE001
        raise BatosError(f"adapter {adapter.name} has no readable file: {exc}") from None


def base_model() -> str | None:
    """The base model the adapters must fit: ``$BATOS_MODEL`` or the chosen one, else
    the default model if it is already assembled; None when none is at hand."""
    from batos.settings import setting
    if setting("url"):
        return None
    try:
        from batos.llm import models
        chosen = setting("model") or any(e.current and not e.default
                                                      for e in models.list_models())
        if chosen or models.default_model_ready():
            return str(models.resolve_model(progress=False))
    except BatosError as exc:
        log.warning("no base model for the adapter audit: %s", exc)
    return None


def audit(path: str | os.PathLike[str], model: str | None = None) -> Any:
    """The guardian's adapter audit against ``model`` (default: :func:`base_model`);
    without a base model it checks the file alone and says so in a warning finding."""
    from batos.guardian import audit_adapter, make_finding
    model = model if model is not None else base_model()
    if model is None:
        report = audit_adapter(path)
        report.findings.append(make_finding(
            "A003", "no base model available: audited against the adapter's own "
            "architecture only; shapes are checked when it is first applied",
            severity="warning"))
        return report
    from batos.llm.models import model_arch_and_dims, tensor_shapes
    arch, dims = model_arch_and_dims(model)
    base: dict[str, Any] = dict(dims)
    base["tensors"] = tensor_shapes(model)
    return audit_adapter(path, base_arch=arch, base_dims=base)


def add_adapter(image: Any, persona_name: str, path: str | os.PathLike[str], *,
                scale: float | None = None, model: str | None = None) -> Adapter:
    """Audit the LoRA GGUF at ``path`` and store it in the image as ``persona_name``'s
    adapter (replacing any previous one). Raises :class:`AuditRejected` (with the
    report) and changes nothing when the guardian rejects it."""
    from ZODB.blob import Blob
    from batos.mind.personas import find_persona, persona_name as name_of
    src = Path(path).expanduser()
    if not src.is_file():
        raise BatosError(f"no adapter file {src}")
    persona = find_persona(image, persona_name)
    report = audit(src, model)
    if not report.accepted:
        raise AuditRejected(f"guardian rejected the adapter {src.name}: {report.summary()}",
                            report=report)
    from batos.llm.gguf_meta import read_header
    arch = read_header(src, tensors=False).arch
    blob = Blob()
    with open(src, "rb") as fin, blob.open("w") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    adapter = Adapter(src.name, blob, sha256=file_sha256(str(src)), size=src.stat().st_size,
                      arch=arch, persona=name_of(persona), source=str(src.resolve()),
                      audit=report)
    persona.set_slot("adapter", adapter)
    if scale is not None:
        persona.set_slot("adapter_scale", float(scale))
    elif persona.lookup("adapter_scale") is None:
        persona.set_slot("adapter_scale", 1.0)
    return adapter


def list_adapters(image: Any) -> list[tuple[str, Adapter, float]]:
    """``[(persona name, adapter, scale)]`` for every registered persona with an adapter."""
    from batos.mind.personas import registry
    out: list[tuple[str, Adapter, float]] = []
    for name, proto in registry(image).items():
        found = proto.lookup("adapter")
        if found is not None and found[1] is not None:
            scale = proto.lookup("adapter_scale")
            out.append((name, found[1], float(scale[1]) if scale and scale[1] is not None
                        else 1.0))
    return out


def remove_adapter(image: Any, persona_name: str) -> Adapter:
    """Detach ``persona_name``'s adapter (the blob goes at the next pack); returns it."""
    from batos.mind.personas import find_persona, persona_name as name_of
    persona = find_persona(image, persona_name)
    adapter = persona.get_slot("adapter", None)
    if adapter is None:
        raise BatosError(f"{name_of(persona)} has no adapter of its own")
    persona.set_slot("adapter", None)
    return adapter


def loras_dirs() -> list[Path]:
    """Where adapter files are offered: ``$BATOS_LORAS`` (os.pathsep-separated), else the
    ``loras/`` folder next to the batos package."""
    env = os.environ.get("BATOS_LORAS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path(__file__).resolve().parents[2] / "loras"]


def awaken_personas(image: Any) -> None:
    """The ``personas`` awakening step: the personas (:mod:`batos.mind.personas`), then
    the LoRA files offered in ``loras/`` for those that have no adapter yet."""
    from batos.mind.personas import awaken_personas as make_personas
    make_personas(image)
    offer_loras(image)


def offer_loras(image: Any) -> list[str]:
    """At awakening: incarnate ``brick.gguf`` ... found in :func:`loras_dirs` into the
    personas that have no adapter yet (after the audit; rejected files are skipped with
    a warning). Returns the persona names that got one."""
    from batos.mind.personas import registry
    done: list[str] = []
    reg = registry(image)
    for directory in loras_dirs():
        for stem in OFFERED:
            name = stem.upper()
            file = directory / f"{stem}.gguf"
            proto = reg.get(name)
            if proto is None or not file.is_file() or proto.get_slot("adapter", None):
                continue
            try:
                add_adapter(image, name, file)
                done.append(name)
            except BatosError as exc:
                log.warning("adapter %s offered for %s was not incarnated: %s", file, name, exc)
    return done


__all__ = ["Adapter", "add_adapter", "list_adapters", "remove_adapter", "adapter_path",
           "offer_loras", "loras_dirs", "base_model", "audit", "awaken_personas"]
