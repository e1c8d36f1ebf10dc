"""``batos forge train``'s whole path: dataset → guardian check → memory check →
training → adapter audit → evaluation → incarnation (when not worse, or forced)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from batos.errors import AuditRejected, BatosError


def load_dataset(image_path: Path, persona: str, dataset_file: str | None) -> Any:
    """The persona's golden dataset: from ``dataset_file`` (JSONL) or built from the image
    (opened read-only)."""
    from batos.forge import dataset as ds
    if dataset_file:
        return ds.read_jsonl(dataset_file).of(persona)
    import batos.lang  # noqa: F401  (BST installed: the image's language)
    from batos.image.image import open_image
    image = open_image(image_path, read_only=True)
    try:
        return ds.build(image, persona)
    finally:
        image.close()


def forge(image_path: Path, persona: str, *, base: str, options: dict[str, Any],
          dataset_file: str | None = None, holdout: float = 0.2, evaluate: bool = True,
          force: bool = False, eval_max_tokens: int | None = None,
          on_event: Callable[[dict[str, Any]], None] | None = None,
          say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Forge ``persona``'s adapter; answers what happened (``incarnated`` True/False and
    why, the training result, the evaluation). BatosError: nothing was incarnated."""
    from batos.forge import dataset as ds
    from batos.forge.train import check_memory, train
    from batos.mind.adapters import audit
    if evaluate and str(image_path).startswith("zeo://"):
        raise BatosError("the evaluation runs in a scratch copy of the image file: run "
                         "`batos forge train` on the server's machine with --image FILE")
    data = load_dataset(image_path, persona, dataset_file)
    if not data.examples:
        raise BatosError(f"{persona} has no golden examples yet (see `batos forge dataset`); "
                         "nothing was trained")
    bad = ds.rejected_examples(data.examples)
    if bad:
        names = ", ".join(f"#{e.selector}" for e in bad[:5])
        raise AuditRejected(f"the dataset holds {len(bad)} method(s) the guardian rejects "
                            f"({names}); nothing was trained")
    train_set, held = data.split(holdout)
    need = check_memory(base)
    say(f"{persona}: {len(train_set)} training examples, {len(held)} held out; "
        f"about {need:,} MB of memory")
    result = train(persona, train_set, base, options=options, data_sha256=data.sha256(),
                   on_event=on_event)
    report = audit(result["adapter"], base)
    if not report.accepted:
        raise AuditRejected(f"the guardian rejected the forged adapter: {report.summary()}",
                            report=report)
    out: dict[str, Any] = {"persona": persona.upper(), "training": result,
                           "dataset": {"sha256": data.sha256(), "examples": len(data.examples),
                                       "train": len(train_set), "heldout": len(held),
                                       "counts": data.counts().get(persona.upper(), {})},
                           "audit": report.verdict, "evaluation": None}
    if evaluate:
        from batos.forge.evaluate import evaluate as run_eval
        say("evaluating base and adapter (held-out split and probes)")
        out["evaluation"] = run_eval(image_path, persona, result["adapter"], base, held,
                                     max_tokens=eval_max_tokens)
    from batos.forge.incarnate import incarnate, should_incarnate
    ok, why = should_incarnate(out["evaluation"], force)
    out["incarnated"], out["why"] = ok, why
    if ok:
        import batos.lang  # noqa: F401
        from batos.image.image import open_image
        provenance = {"dataset_sha256": data.sha256(), "dataset_size": len(data.examples),
                      "train_examples": len(train_set), "heldout_examples": len(held),
                      "steps": result["steps"], "loss": result["loss"],
                      "first_loss": result.get("first_loss"), "rank": result["rank"],
                      "alpha": result["alpha"], "targets": ",".join(result["targets"]),
                      "layers": result["layers"], "lr": result["lr"],
                      "train_seconds": result["seconds"], "base": Path(base).name,
                      "evaluation": _eval_line(out["evaluation"]), "decision": why}
        image = open_image(image_path)
        try:
            adapter = incarnate(image, persona, result["adapter"], provenance, model=base)
            image.commit(f"forge: {persona.upper()} adapter ({result['steps']} steps)")
            out["adapter"] = adapter.to_json()
        finally:
            image.close()
    out["finished"] = time.time()
    return out


def _eval_line(evaluation: dict[str, Any] | None) -> str:
    if not evaluation:
        return "not evaluated"
    parts = []
    for part in ("heldout", "probes"):
        e = evaluation.get(part) or {}
        parts.append(f"{part} base {e.get('base', 0)}/{e.get('cases', 0)} → adapter "
                     f"{e.get('adapter', 0)}/{e.get('cases', 0)}")
    return "; ".join(parts)


__all__ = ["forge", "load_dataset"]
