"""One configuration path: every setting batos reads, and the one order that answers it.

    command-line flag  →  image options  →  environment  →  default

* **flag**: a value the caller was handed (``setting(name, flag=...)``: a function
  argument that came from a command-line option), else one set for the duration of a
  command with :func:`overriding` (``batos send --persona``, ``batos run --timeout``,
  the tests' ``use_backend``/``use_persona`` blocks).
* **image options**: the open image's ``image.options`` mapping, passed in as a plain
  mapping (this module imports nothing from batos but ``errors``: every layer uses it).
  Per open, never stored; the REPL's ``--persona`` and ``:persona`` set it for the session.
* **environment**: ``$BATOS_...`` (the table's ``env`` column).
* **default**: the table's, or the caller's ``default=`` when the image itself supplies
  one (the ``pLLM persona`` slot, a persona's ``temperature`` slot).

A ``None`` at a level means "not set there"; the first level with a value answers and
the value is converted by the setting's kind (so ``--timeout 0`` means "no limit").
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from batos.errors import BatosError

__all__ = ["Setting", "SETTINGS", "setting", "resolve", "overriding", "flags", "table_markdown"]


def _int(text: Any) -> int:
    return int(str(text).strip()) if isinstance(text, str) else int(text)


def _float(text: Any) -> float:
    return float(str(text).strip()) if isinstance(text, str) else float(text)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "off", "no", "false")
    return bool(value)


def _upper(value: Any) -> str:
    return str(value).strip().upper()


def _text(value: Any) -> str:
    return str(value)


def _seconds(value: Any) -> float | None:
    """Seconds; 0 (or less) means no limit."""
    number = _float(value)
    return number if number > 0 else None


def _megabytes(value: Any) -> int | None:
    """Megabytes; 0 (or less) means no cap."""
    number = int(_float(value))
    return number if number > 0 else None


def _positive(value: Any) -> int:
    return max(1, _int(value))


def _object(value: Any) -> Any:
    return value


_KINDS: dict[str, Callable[[Any], Any]] = {
    "str": _text, "name": _upper, "int": _int, "count": _positive, "float": _float,
    "bool": _bool, "seconds": _seconds, "megabytes": _megabytes, "object": _object}


@dataclass(frozen=True)
class Setting:
    """One row of the table: its name, environment variable, kind, default and doc."""

    name: str
    env: str | None
    kind: str
    default: Any
    doc: str

    def convert(self, value: Any, where: str) -> Any:
        try:
            return _KINDS[self.kind](value)
        except (TypeError, ValueError):
            raise BatosError(f"{where} must be {_KIND_WORDS[self.kind]}, not {value!r}") from None


_KIND_WORDS = {"str": "text", "name": "a name", "int": "an integer", "count": "an integer",
               "float": "a number", "bool": "on or off", "seconds": "a number of seconds",
               "megabytes": "a number of megabytes", "object": "an object"}


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("model", "BATOS_MODEL", "str", None,
            "model path or registered name (default: `batos model use`'s, else the embedded one)"),
    Setting("url", "BATOS_LLM_URL", "str", None,
            "a llama.cpp server to generate with instead of the in-process model"),
    Setting("backend", None, "object", None,
            "a backend object (tests, scripts: `image.options['backend'] = FakeBackend(...)`)"),
    Setting("llm", "BATOS_LLM", "bool", True,
            "off: no generation (a miss raises MessageNotUnderstood) unless a backend is given"),
    Setting("persona", "BATOS_PERSONA", "name", None,
            "who writes missing methods (default: the image's `pLLM persona`, BRICK)"),
    Setting("retries", "BATOS_RETRIES", "int", 2,
            "attempts after the first when a generated method fails"),
    Setting("max_tokens", "BATOS_MAX_TOKENS", "count", 384,
            "tokens a method may take (infer: default: the persona's max_tokens slot, 256)"),
    Setting("temperature", "BATOS_TEMPERATURE", "float", 0.0,
            "sampling temperature of a first attempt (infer: default: the persona's slot)"),
    Setting("retry_temperature", "BATOS_RETRY_TEMPERATURE", "float", 0.7,
            "sampling temperature of the attempts after a failed one"),
    Setting("seed", "BATOS_SEED", "int", 0, "sampling seed of infer:, ask: and the router"),
    Setting("threads", "BATOS_LLM_THREADS", "count", None,
            "CPU threads of the in-process model (default: the cores this process may use)"),
    Setting("llm_timeout", "BATOS_LLM_TIMEOUT", "float", 600.0,
            "seconds an HTTP backend request may take"),
    Setting("timeout", "BATOS_TIMEOUT", "seconds", 5.0,
            "seconds a statement may run, model time not counted (0: no limit)"),
    Setting("memory_mb", "BATOS_MEMORY_MB", "megabytes", 512,
            "memory a statement may grow by, in MB (0: no cap)"),
    Setting("max_record_mb", "BATOS_MAX_RECORD_MB", "float", 64.0,
            "the largest record a commit may write, in MB (blobs are not capped)"),
    Setting("ask_max_turns", "BATOS_ASK_MAX_TURNS", "count", 4,
            "turns an ask: dialogue may take (default: the receiver's slot, else 4)"),
    Setting("ask_seconds", "BATOS_ASK_SECONDS", "float", 60.0,
            "seconds an ask: dialogue may take (default: the receiver's slot, else 60)"),
    Setting("stream", "BATOS_STREAM", "str", "",
            "1: stream generated text to stderr; 0: never; unset: when stderr is a terminal"),
    Setting("kv_files", "BATOS_KV_FILES", "count", 12,
            "prefix KV state files kept on disk per folder"),
    Setting("lora_warm", "BATOS_LORA_WARM", "count", 4,
            "LoRA adapters kept loaded by the in-process model"),
    Setting("prefix_states", "BATOS_PREFIX_STATES", "int", 4,
            "prefix KV states kept in memory per model (one per adapter set)"),
    Setting("candidates", "BATOS_CANDIDATES", "count", 3,
            "Tree-of-Thought candidates a miss decodes together (1: single-shot)"),
    Setting("branch_min_p", "BATOS_BRANCH_MIN_P", "float", 0.05,
            "a first attempt's sampled candidates skip tokens under this fraction of the "
            "likeliest one's probability (they fork where the model is unsure)"),
    Setting("cove", "BATOS_COVE", "bool", True,
            "Chain-of-Verification: the model proposes examples when the candidates differ"),
    Setting("cove_lines", "BATOS_COVE_LINES", "count", 1,
            "examples Chain-of-Verification asks for (1: the send's own answer only)"),
    Setting("family_methods", "BATOS_FAMILY_METHODS", "bool", True,
            "a generated method goes to the prototype the receiver was cloned from"),
    Setting("cem_weights", "BATOS_CEM_WEIGHTS", "str", "0.25,0.25,0.25,0.25",
            "weights of the entropy metric's parts: cognitive, solution, structural, relevance"),
    Setting("ether_half_life", "BATOS_ETHER_HALF_LIFE", "seconds", 3600.0,
            "seconds in which a pheromone in the digital ether loses half its intensity"),
    Setting("heartbeat_budget", "BATOS_HEARTBEAT_BUDGET", "float", 10.0,
            "CPU minutes per hour the heartbeat may spend"),
)}

_MISSING: Any = object()
_flags: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "batos_setting_flags", default={})


def _row(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise KeyError(f"no setting {name!r} (batos.settings.SETTINGS)") from None


def resolve(name: str, *, flag: Any = None, options: Mapping[str, Any] | None = None,
            default: Any = _MISSING, environ: Mapping[str, str] | None = None) -> tuple[Any, str]:
    """``(value, where)`` for setting ``name``: where is ``"flag"``, ``"options"``,
    ``"$BATOS_..."`` or ``"default"`` (the first level holding a value answers)."""
    row = _row(name)
    if flag is None:
        flag = _flags.get().get(name)
    if flag is not None:
        return row.convert(flag, f"the {name} flag"), "flag"
    value = options.get(name) if options is not None else None
    if value is not None:
        return row.convert(value, f"image option {name!r}"), "options"
    if row.env:
        raw = (os.environ if environ is None else environ).get(row.env)
        if raw is not None and raw.strip() != "":
            return row.convert(raw, f"${row.env}"), f"${row.env}"
    value = row.default if default is _MISSING else default
    return (row.convert(value, f"the default {name}") if value is not None else None), "default"


def setting(name: str, *, flag: Any = None, options: Mapping[str, Any] | None = None,
            default: Any = _MISSING) -> Any:
    """The value of setting ``name``: command-line flag → image options → environment →
    default (see the module doc; ``options`` is ``image.options`` or None)."""
    return resolve(name, flag=flag, options=options, default=default)[0]


@contextlib.contextmanager
def overriding(**values: Any) -> Iterator[None]:
    """Set flag-level values for the block (``None`` values are skipped): the command
    line's options, and the tests' backend and persona choices."""
    for name in values:
        _row(name)
    merged = {**_flags.get(), **{k: v for k, v in values.items() if v is not None}}
    token = _flags.set(merged)
    try:
        yield
    finally:
        _flags.reset(token)


def flags() -> dict[str, Any]:
    """The flag-level values set by enclosing :func:`overriding` blocks."""
    return dict(_flags.get())


def table_markdown() -> str:
    """The settings table as Markdown (docs/ARCHITECTURE.md holds a copy; a test compares)."""
    lines = ["| setting | environment | kind | default | meaning |",
             "| --- | --- | --- | --- | --- |"]
    for row in SETTINGS.values():
        default = "" if row.default is None else f"`{row.default!r}`"
        env = f"`{row.env}`" if row.env else ""
        lines.append(f"| `{row.name}` | {env} | {row.kind} | {default} | {row.doc} |")
    return "\n".join(lines)
