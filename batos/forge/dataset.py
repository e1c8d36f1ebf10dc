"""The golden dataset: the image's own verified work as training examples (issue 15.1).

Sources, strongest first (a later near-duplicate of an earlier example is dropped):

* ``correction`` -- the accepted half of a human correction (``fix:hint:``, ``:edit``:
  a ``rejected`` record by ``human`` followed by an installed version);
* ``contract`` -- a generated method that passed its contract's examples;
* ``kept`` -- a generated method installed after doesNotUnderstand_'s checks and never
  corrected afterwards;
* ``human`` -- Python methods written by hand (author ``human``) on named objects;
* ``answer`` -- prose answers (``ask:``, ``infer:``) of ROBIN, BABS, ALFRED.

Each example is a chat prompt exactly as the persona sees it at inference (the logged
prompt of a generation; for a hand-written method the same covenant, worked examples,
codex and brief, rendered with the model's chat template and pre-filled up to the
``def`` line) and the answer the model should write after it. Every code example is
audited by the guardian again: a method it rejects never enters the dataset.
"""
from __future__ import annotations

import ast
import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

SOURCES = ("correction", "contract", "kept", "human", "answer")
ENOUGH = 20          # examples a persona needs before training is worth it
NEAR = 0.92          # code similarity (same selector) above which two examples are one
FENCE_END = "\n```"


@dataclass
class Example:
    """One training example (``prompt`` then ``answer``) and where it came from."""

    persona: str
    source: str
    prompt: str
    answer: str
    selector: str = ""
    receiver: str = ""
    record: int | None = None

    @property
    def key(self) -> str:
        return hashlib.sha256((self.prompt + "\0" + self.answer).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Dataset:
    """The examples of one or all personas, with what was left out and why."""

    examples: list[Example] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """{persona: {source: n}}."""
        out: dict[str, dict[str, int]] = {}
        for ex in self.examples:
            out.setdefault(ex.persona, {}).setdefault(ex.source, 0)
            out[ex.persona][ex.source] += 1
        return out

    def of(self, persona: str) -> "Dataset":
        return Dataset([e for e in self.examples if e.persona.upper() == persona.upper()],
                       dict(self.dropped))

    def sha256(self) -> str:
        h = hashlib.sha256()
        for ex in self.examples:
            h.update(ex.key.encode())
        return h.hexdigest()

    def split(self, holdout: float = 0.2) -> tuple[list[Example], list[Example]]:
        """(train, held out): a fixed split by each example's hash (none held out below
        10 examples)."""
        if len(self.examples) < 10:
            return list(self.examples), []
        cut = int(holdout * 1000)
        held = [e for e in self.examples if int(e.key[:8], 16) % 1000 < cut]
        return [e for e in self.examples if e not in held], held

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256(), "counts": self.counts(), "dropped": self.dropped,
                "enough": ENOUGH, "examples": [e.to_json() for e in self.examples]}

    def write_jsonl(self, path: Any, examples: Iterable[Example] | None = None) -> int:
        rows = list(self.examples if examples is None else examples)
        with open(path, "w", encoding="utf-8") as fh:
            for ex in rows:
                fh.write(json.dumps(ex.to_json(), ensure_ascii=False) + "\n")
        return len(rows)


def read_jsonl(path: Any) -> Dataset:
    with open(path, encoding="utf-8") as fh:
        return Dataset([Example(**json.loads(line)) for line in fh if line.strip()])


# --- checks ---------------------------------------------------------------------------

def audit_code(code: str, selector: str) -> bool:
    """Whether the guardian accepts ``code`` (a method's ``def``) today."""
    from batos.guardian import audit
    try:
        return bool(audit(code, selector=selector or None).accepted)
    except Exception:  # noqa: BLE001 - an audit that cannot run is a rejection
        return False


def rejected_examples(examples: Iterable[Example]) -> list[Example]:
    """The code examples the guardian rejects (their prompt's ``def`` line + answer)."""
    bad = []
    for ex in examples:
        if ex.source == "answer":
            continue
        if not audit_code(method_source(ex), ex.selector):
            bad.append(ex)
    return bad


def method_source(ex: Example) -> str:
    """The whole method of a code example: the prompt's pre-filled ``def`` line plus the
    answer's body."""
    head = ex.prompt.rsplit("```python\n", 1)[-1]
    return head + ex.answer.split("```", 1)[0]


def _norm(code: str) -> str:
    try:
        return ast.dump(ast.parse(code))
    except SyntaxError:
        return " ".join(code.split())


def dedupe(examples: Iterable[Example], dropped: dict[str, int]) -> list[Example]:
    """Drop duplicates and near-duplicates (same persona and selector, code alike)."""
    kept: list[Example] = []
    seen: dict[tuple[str, str], list[str]] = {}
    for ex in examples:
        body = _norm(method_source(ex)) if ex.source != "answer" else ex.prompt + ex.answer
        group = seen.setdefault((ex.persona, ex.selector), [])
        if any(b == body or difflib.SequenceMatcher(None, b, body).ratio() >= NEAR
               for b in group):
            dropped["duplicate"] = dropped.get("duplicate", 0) + 1
            continue
        group.append(body)
        kept.append(ex)
    return kept


# --- building it from an image ---------------------------------------------------------

def _answer_of(prompt: str, code: str) -> str | None:
    """The answer that follows a pre-filled ``def`` line: the body and the closing fence
    (None when the prompt does not end with that ``def`` line)."""
    first, _, body = code.partition("\n")
    if not prompt.endswith(first.rstrip() + "\n") or not body.strip():
        return None
    return body.rstrip("\n") + FENCE_END


def build(image: Any, persona: str | None = None, *, template: Any = "model") -> Dataset:
    """The golden dataset of ``image`` (one persona's when named). ``template``: the chat
    template hand-written methods are rendered with ("model": the base model's)."""
    from batos.mind import genlog
    from batos.mind.personas import code_persona_name
    dropped: dict[str, int] = {}
    coder = code_persona_name(image).upper()
    records = sorted(genlog.entries(image), key=lambda kv: kv[0])
    corrected: dict[tuple[str, str], int] = {}   # (receiver, selector) -> last rejection id
    for ident, rec in records:
        if getattr(rec, "verdict", "") == "rejected" and getattr(rec, "persona", "") == "human":
            corrected[(rec.receiver, rec.selector)] = ident
    found: dict[str, list[Example]] = {s: [] for s in SOURCES}
    humans: list[tuple[int, Any]] = []
    for ident, rec in records:
        verdict, who = getattr(rec, "verdict", ""), str(getattr(rec, "persona", ""))
        if verdict == "answered" and who.upper() != coder and rec.prompt and rec.output.strip():
            found["answer"].append(Example(who.upper(), "answer", rec.prompt,
                                           rec.output.strip(), rec.selector, rec.receiver, ident))
            continue
        if verdict != "installed" or not getattr(rec, "code", ""):
            continue
        last_fix = corrected.get((rec.receiver, rec.selector))
        if last_fix is not None and last_fix > ident:
            dropped["corrected later"] = dropped.get("corrected later", 0) + 1
            continue
        is_fix = last_fix is not None and last_fix < ident
        if who == "human":
            humans.append((ident, rec))
            continue
        answer = _answer_of(rec.prompt or "", rec.code)
        if answer is None:
            dropped["no prompt"] = dropped.get("no prompt", 0) + 1
            continue
        source = ("correction" if is_fix else
                  "contract" if "Examples it must satisfy" in rec.prompt else "kept")
        found[source].append(Example(who.upper(), source, rec.prompt, answer, rec.selector,
                                     rec.receiver, ident))
    found["human"] = _human_examples(image, coder, humans, corrected, template, dropped)
    ordered = [ex for s in SOURCES for ex in found[s]]
    bad = {id(e) for e in rejected_examples(ordered)}
    if bad:
        dropped["guardian rejected"] = len(bad)
    ordered = [e for e in ordered if id(e) not in bad]
    data = Dataset(dedupe(ordered, dropped), dropped)
    return data.of(persona) if persona else data


def _human_examples(image: Any, coder: str, logged: list[tuple[int, Any]],
                    corrected: dict[tuple[str, str], int], template: Any,
                    dropped: dict[str, int]) -> list[Example]:
    """Hand-written Python methods of named objects (the hand edits in the log, then
    every other ``author: human`` method), as prompts the code persona would see."""
    from batos.image.proto import Proto
    from batos.mind.personas import find_persona, system_prompt_of
    try:
        persona_prompt = system_prompt_of(find_persona(image, coder))
    except Exception:  # noqa: BLE001
        persona_prompt = None
    render = _renderer(template)
    edits = {(rec.receiver, rec.selector): ident for ident, rec in logged}
    out: list[Example] = []
    for name, obj in sorted(image.root["globals"].items()):
        if not isinstance(obj, Proto) or name in ("traits", "pLLM", "Object"):
            continue
        for row in obj.slots(inherited=False):
            method = row.value
            if row.kind != "method" or getattr(method, "language", "") != "python":
                continue
            if (method.provenance or {}).get("author") != "human":
                continue
            selector = method.selector
            ident = edits.get((obj._display(), selector))
            example = _prompt_for(image, obj, selector, method.source, persona_prompt, render)
            if example is None:
                dropped["no prompt"] = dropped.get("no prompt", 0) + 1
                continue
            prompt, answer = example
            source = "correction" if (obj._display(), selector) in corrected else "human"
            out.append(Example(coder, source, prompt, answer, selector, obj._display(), ident))
    return out


def _renderer(template: Any) -> Any:
    from batos.llm.chat import render_chat
    chat: tuple[Any, str, str] = (None, "", "")
    if template == "model":
        from batos.mind.adapters import base_model
        model = base_model()
        if model:
            from batos.llm.models import chat_template_of
            chat = chat_template_of(model)
    elif template is not None:
        chat = (template, "", "")

    def render(messages: list[dict[str, str]]) -> str:
        return render_chat(messages, chat[0], bos_token=chat[1], eos_token=chat[2])
    return render


def _prompt_for(image: Any, obj: Any, selector: str, source: str, persona_prompt: str | None,
                render: Any) -> tuple[str, str] | None:
    """(prompt, answer) for a hand-written method, as doesNotUnderstand_ would have asked
    for it (arguments from its contract's first example when there is one)."""
    from batos.image.message import Message
    from batos.lang.contracts import arity, table_of
    from batos.mind.dnu import decompose
    from batos.mind.prompts import build_messages
    table = table_of(image, obj)
    contract = table.by_selector.get(selector) if table is not None else None
    args = list(contract.examples[0].args) if contract is not None and contract.examples \
        else [None] * arity(selector)
    brief = decompose(image, obj, Message(obj, selector, args))
    brief.understood = [s for s in brief.understood if s != selector]
    if contract is not None:  # as doesNotUnderstand_ shows them (dnu.DNUCycle.decompose)
        brief.examples = [e.describe(selector) for e in contract.examples]
    first, _, body = source.strip("\n").partition("\n")
    if not first.startswith("def ") or not body.strip():
        return None
    prompt = render(build_messages(brief, persona_prompt)) + f"```python\n{first.rstrip()}\n"
    return prompt, body.rstrip("\n") + FENCE_END


__all__ = ["Example", "Dataset", "build", "read_jsonl", "rejected_examples", "audit_code",
           "method_source", "dedupe", "SOURCES", "ENOUGH"]
