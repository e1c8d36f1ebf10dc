"""The generation log kept in the image: every attempt, and every final failure.

``root['generation_log']`` maps an increasing id to a :class:`GenerationRecord`
(prompt, output, code, verdict, timings). Records of a successful miss are
written in the send's own transaction; records of a failed one are written in a
separate follow-up transaction after the abort, with a :class:`FailureRecord`.
``delete`` removes records for real; ``batos log rm`` then packs the image so
the old revisions are gone from the file too.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterable

from persistent import Persistent

if TYPE_CHECKING:
    from batos.image.image import Image

LOG_KEY = "generation_log"


#: what a doesNotUnderstand_ candidate's record adds: its branch of the attempt, how many
#: branches, proposed examples passed ("2/3"), agreement, mean log-probability, and on the
#: first record the Chain-of-Verification proposal's text
CANDIDATE_FIELDS = ("branch", "branches", "examples", "agreement", "mean_logprob", "proposal")


class GenerationRecord(Persistent):
    """One generation attempt: what was asked, what came back, what the guardian said."""

    def __init__(self, **fields: Any) -> None:
        self.time = time.time()
        self.receiver = ""
        self.selector = ""
        self.attempt = 1
        self.persona = ""
        self.model = ""
        self.model_sha256 = ""
        self.adapters: list[Any] = []
        self.prompt = ""
        self.prompt_hash = ""
        self.output = ""
        self.code = ""
        self.verdict = ""          # installed | rejected | error | failed
        self.error = ""
        self.prompt_tokens = 0
        self.prompt_tokens_cached = 0
        self.completion_tokens = 0
        self.seconds = 0.0
        self.prompt_seconds = 0.0
        self.cycle = None
        for key, value in fields.items():
            setattr(self, key, value)

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in (
            "time", "receiver", "selector", "attempt", "persona", "model", "verdict", "error",
            "prompt_tokens", "prompt_tokens_cached", "completion_tokens", "seconds", "code")}
        data["prompt_seconds"] = getattr(self, "prompt_seconds", 0.0)
        data["adapters"] = [list(a) for a in self.adapters]
        for key in CANDIDATE_FIELDS:  # a Tree-of-Thought branch's (absent from older records)
            if key in self.__dict__:
                data[key] = self.__dict__[key]
        if full:
            data.update(prompt=self.prompt, output=self.output, prompt_hash=self.prompt_hash,
                        model_sha256=self.model_sha256)
        return data


class FailureRecord(Persistent):
    """A message no attempt could answer: the message, every attempt's code and error."""

    def __init__(self, receiver: str, selector: str, arguments: list[str],
                 attempts: list[dict[str, str]]) -> None:
        self.time = time.time()
        self.receiver = receiver
        self.selector = selector
        self.arguments = list(arguments)
        self.attempts = list(attempts)

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "receiver": self.receiver, "selector": self.selector,
                "arguments": self.arguments, "attempts": self.attempts}


def _log(image: "Image"):
    from BTrees.IOBTree import IOBTree
    root = image.root
    if LOG_KEY not in root:
        root[LOG_KEY] = IOBTree()
    return root[LOG_KEY]


def append(image: "Image", records: Iterable[Persistent]) -> list[int]:
    """Add records (in the current transaction); returns their ids.

    Every generation is logged, whatever becomes of the statement: if its transaction
    is rolled back (a later error, ``--dry-run``, ``--no-save``) copies of these records
    are written again in a follow-up transaction (:meth:`Image.keep_if_rolled_back`)."""
    log = _log(image)
    ids = []
    next_id = (log.maxKey() + 1) if len(log) else 1
    snapshots = []
    for record in records:
        log[next_id] = record
        ids.append(next_id)
        next_id += 1
        snapshots.append((type(record), _fields(record)))
    keep = getattr(image, "keep_if_rolled_back", None)
    if snapshots and callable(keep):
        keep(lambda im: append(im, [_rebuild(cls, fields) for cls, fields in snapshots]))
    _deposit(image, [log[i] for i in ids])
    return ids


def _deposit(image: "Image", records: list[Any]) -> None:
    """Outcomes leave pheromones in the digital ether (same transaction as the records);
    the ether never stops a record from being logged."""
    try:
        from batos.mind.ether import deposit_outcomes
        deposit_outcomes(image, records)
    except Exception:  # noqa: BLE001
        pass


def _fields(record: Any) -> dict[str, Any]:
    """A record's data as plain values (readable after its transaction is gone)."""
    return {k: (list(v) if isinstance(v, list) else v) for k, v in record.__dict__.items()
            if not k.startswith(("_p_", "_v_"))}


def _rebuild(cls: type, fields: dict[str, Any]) -> Any:
    record = cls.__new__(cls)
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def log_answer(image: "Image", persona: str, selector: str, prompt: str, completion: Any) -> None:
    """Log one prose generation (``ask:``, ``infer:``: no code, verdict ``answered``)."""
    if getattr(image, "read_only", True) or getattr(image, "root", None) is None:
        return
    append(image, [GenerationRecord(
        receiver=persona, selector=selector, persona=persona, verdict="answered",
        model=getattr(completion, "model", ""), model_sha256=getattr(completion, "model_sha256", ""),
        adapters=[list(a) for a in getattr(completion, "adapters", ()) or ()],
        prompt=prompt, output=getattr(completion, "text", ""),
        prompt_tokens=getattr(completion, "prompt_tokens", 0),
        prompt_tokens_cached=getattr(completion, "prompt_tokens_cached", 0),
        completion_tokens=getattr(completion, "completion_tokens", 0),
        seconds=getattr(completion, "seconds", 0.0),
        prompt_seconds=getattr(completion, "prompt_seconds", 0.0))])


def entries(image: "Image", limit: int | None = None) -> list[tuple[int, Any]]:
    """(id, record) pairs, newest first."""
    if LOG_KEY not in image.root:
        return []
    log = image.root[LOG_KEY]
    keys = list(log.keys())[::-1]
    if limit is not None:
        keys = keys[:limit]
    return [(k, log[k]) for k in keys]


def delete(image: "Image", ids: Iterable[int] | None = None) -> int:
    """Delete the given records (all when ``ids`` is None); returns how many."""
    if LOG_KEY not in image.root:
        return 0
    log = image.root[LOG_KEY]
    if ids is None:
        n = len(log)
        log.clear()
        return n
    n = 0
    for i in ids:
        if i in log:
            del log[i]
            n += 1
    return n


def record_line(ident: int, rec: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.time))
    if isinstance(rec, FailureRecord):
        return f"{ident:>4}  {when}  FAILED   {rec.receiver} #{rec.selector}  ({len(rec.attempts)} attempts)"
    return (f"{ident:>4}  {when}  {rec.verdict:<10}{rec.receiver} #{rec.selector}  "
            f"try {rec.attempt}  {rec.persona}  {rec.completion_tokens} tok  {rec.seconds:.2f} s")


def outcomes(image: Any, lookback: int = 1000) -> list[tuple[str, Any]]:
    """Generation outcomes among the newest ``lookback`` records, oldest first:
    ("installed", record) for a generated method installed, ("failed", record) for a
    failure record."""
    out = []
    for _, rec in reversed(entries(image, lookback)):
        if isinstance(rec, FailureRecord):
            out.append(("failed", rec))
        elif getattr(rec, "verdict", "") == "installed" and rec.persona not in ("", "human"):
            out.append(("installed", rec))
    return out
