"""The ``catalog`` prototype: the image's knowledge catalog, and grounding for prompts.

``awaken_catalog`` (an awakening step) creates the global ``catalog``: a prototype
whose ``index`` slot holds a persistent :class:`~batos.mind.fractal.Catalog` and whose
methods are primitives defined here::

    catalog index: 'notes' text: '...'            "→ number of chunks"
    catalog index: 'notes' text: '...' metadata: aDictionary
    catalog search: 'how do transactions work'    "→ top 5 result dictionaries"
    catalog search: 'transactions' k: 10
    catalog unindex: 'notes'    catalog documents    catalog size
    catalog summaryOf: 'notes'  catalog zoom: 'notes'

Indexing is atomic inside the send's transaction: it runs under a savepoint and a
failure rolls every chunk back. :func:`grounding` answers the chunks most relevant to
a query for the doesNotUnderstand_ prompt, and never fails.
"""
from __future__ import annotations

import fnmatch
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from batos.image.method import primitive
from batos.image.proto import Proto, selector_to_name
from batos.mind.fractal import Catalog, CatalogError, hit_dict

if TYPE_CHECKING:
    from batos.image.image import Image

P = "batos.mind.catalog:"
SLOT = "index"

CATALOG_PRIMITIVES: list[tuple[str, str, str]] = [
    ("index:text:", "index_text", "index a document; answers its number of chunks"),
    ("index:text:metadata:", "index_text_metadata",
     "index a document with a metadata dictionary; answers its number of chunks"),
    ("search:", "search", "the 5 best chunks for a natural-language query (any word matches)"),
    ("search:k:", "search_k", "the k best chunks for a natural-language query"),
    ("unindex:", "unindex", "forget a document; answers the number of chunks removed"),
    ("documents", "documents", "the ids of the indexed documents"),
    ("size", "size", "the number of indexed chunks"),
    ("summaryOf:", "summary_of", "the extractive summary of a document"),
    ("zoom:", "zoom", "from a document's summary down to its chunks, in order"),
    ("forgetAll", "forget_all", "replace the catalog with an empty one; answers the receiver"),
]

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv",
             ".mypy_cache", ".pytest_cache", ".tox", "build", "dist"}
MAX_FILE_BYTES = 4_000_000
#: files skipped by their extension alone (no need to read them to know)
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".pdf", ".zip", ".gz",
                   ".tgz", ".bz2", ".xz", ".zst", ".7z", ".tar", ".so", ".o", ".a", ".dylib",
                   ".dll", ".exe", ".pyc", ".whl", ".gguf", ".bin", ".fs", ".index", ".lock",
                   ".sqlite", ".db", ".woff", ".woff2", ".ttf", ".mp3", ".mp4", ".wav"}


# --- the awakening step ------------------------------------------------------------

def awaken_catalog(image: "Image") -> None:
    """Create the ``catalog`` prototype and give ``genesis`` ingest_and_display_yourself."""
    g = image.root["globals"]
    existing = g.get("catalog")
    if existing is not None:
        # an image that already binds `catalog`: refresh the methods of ours, and never
        # replace an object of the user's
        if isinstance(existing, Proto) and isinstance(existing.get_slot(SLOT, None), Catalog):
            install_methods(existing)
        _install_genesis_method(g)
        return
    catalog = Proto("catalog")
    traits = g.get("traits")
    if traits is not None:
        catalog.set_slot("traits*", traits)
    catalog.set_slot("description", "the image's knowledge catalog: documents as summaries "
                                    "over chunks, searched with BM25 (any word matches)")
    catalog.set_slot(SLOT, Catalog())
    install_methods(catalog)
    g["catalog"] = catalog
    _install_genesis_method(g)


def _install_genesis_method(g: Any) -> None:
    genesis = g.get("genesis")
    if genesis is not None:
        genesis.set_slot("ingest_and_display_yourself",
                         primitive("ingest_and_display_yourself", P + "ingest_and_display_yourself",
                                   "ingest the project's README and docs, then describe "
                                   "yourself from their summaries"))


def install_methods(catalog: Proto) -> None:
    """(Re)install the catalog primitives on ``catalog``."""
    for selector, fn, doc in CATALOG_PRIMITIVES:
        catalog.set_slot(selector_to_name(selector), primitive(selector, P + fn, doc))


# --- finding the engine --------------------------------------------------------------

def engine(receiver: Any) -> Catalog:
    """The :class:`Catalog` behind a catalog prototype (or a clone of it)."""
    found = receiver.lookup(SLOT) if isinstance(receiver, Proto) else None
    value = found[1] if found else None
    if not isinstance(value, Catalog):
        raise CatalogError(f"{receiver!r} has no knowledge catalog in its {SLOT!r} slot")
    return value.check()


def catalog_of(image: "Image") -> Catalog | None:
    """The image's catalog engine, or None when the image has none."""
    proto = image.root["globals"].get("catalog")
    if not isinstance(proto, Proto):
        return None
    found = proto.lookup(SLOT)
    return found[1] if found and isinstance(found[1], Catalog) else None


@contextmanager
def atomic(obj: Any) -> Iterator[None]:
    """Run a block under a savepoint of ``obj``'s transaction: on any exception every
    change made in the block is rolled back (the transaction itself goes on)."""
    jar = getattr(obj, "_p_jar", None)
    if jar is None:
        yield
        return
    savepoint = jar.transaction_manager.get().savepoint()
    try:
        yield
    except BaseException:
        savepoint.rollback()
        raise


def _index(receiver: Any, doc_id: Any, text: Any, metadata: Any = None) -> int:
    cat = engine(receiver)
    if metadata is not None and not hasattr(metadata, "items"):
        raise CatalogError(f"metadata is a dictionary, not {type(metadata).__name__}")
    meta = {str(k): v for k, v in metadata.items()} if metadata is not None else None
    if meta:
        from batos.guardian import check_storable
        check_storable(meta)
    with atomic(cat):
        fractal = cat.add(_text(doc_id), _text(text), meta)
    return len(fractal.rows)


def _text(value: Any) -> str:
    """A string argument (BST strings and symbols are ``str``; bytes are decoded)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise CatalogError(f"expected a string, not {type(value).__name__}")


def _k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogError(f"k is a positive integer, not {value!r}")
    return value


# --- primitives (fn(self, *args)) ------------------------------------------------------

def index_text(self: Any, doc_id: Any, text: Any) -> int:
    return _index(self, doc_id, text)


def index_text_metadata(self: Any, doc_id: Any, text: Any, metadata: Any) -> int:
    return _index(self, doc_id, text, metadata)


def search(self: Any, query: Any) -> list[dict[str, Any]]:
    return engine(self).search(_text(query), 5)


def search_k(self: Any, query: Any, k: Any) -> list[dict[str, Any]]:
    return engine(self).search(_text(query), _k(k))


def unindex(self: Any, doc_id: Any) -> int:
    cat = engine(self)
    with atomic(cat):
        return cat.remove(_text(doc_id))


def documents(self: Any) -> list[str]:
    return engine(self).documents()


def size(self: Any) -> int:
    return engine(self).size()


def summary_of(self: Any, doc_id: Any) -> str:
    return engine(self).fractal(_text(doc_id)).summary


def zoom(self: Any, doc_id: Any) -> list[dict[str, Any]]:
    return [c.describe() for c in engine(self).zoom(_text(doc_id))]


def forget_all(self: Any) -> Any:
    self.set_slot(SLOT, Catalog())
    return self


# --- grounding for prompts ---------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def query_words(query: str) -> str:
    """A query with selectors opened up: ``displayYourself at:put:`` → words."""
    text = _CAMEL.sub(" ", query)
    return re.sub(r"[_:#*]+", " ", text)


def grounding(image: Any, query: str, k: int = 3) -> list[dict[str, Any]]:
    """The ``k`` chunks most relevant to ``query`` (e.g. a selector and its receiver's
    description), each as ``{doc, chunk, level, score, text}`` with the full chunk
    text; ``[]`` when the image has no catalog, it is empty, or anything fails."""
    try:
        cat = catalog_of(image)
        if cat is None or k <= 0 or not cat.check().size():
            return []
        text = f"{query} {query_words(query)}"
        return [hit_dict(chunk, score, preview=10_000) for chunk, score in cat.hits(text, k)]
    except Exception:  # grounding is a help, never a failure of the send
        return []


# --- ingesting files ------------------------------------------------------------------------

def find_files(paths: Iterable[str | Path], pattern: str | None = None) -> list[Path]:
    """The files named in ``paths``, with directories walked (hidden and build folders
    skipped). ``pattern`` (a glob on the file name or relative path) filters walked
    files; without it, every file is a candidate (README, LICENSE and other files
    without an extension too): :func:`read_document` then tells text by content."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise CatalogError(f"no such file or directory: {path}")
        if path.is_file():
            candidates: Iterable[Path] = [path]
        else:
            candidates = _walk(path, pattern)
        for file in candidates:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


def _walk(root: Path, pattern: str | None) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            file = Path(dirpath) / name
            if name.startswith("."):
                continue
            if pattern:
                rel = file.relative_to(root).as_posix()
                if not (fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern)):
                    continue
            yield file


#: control bytes text files do not hold (tab, newlines, form feed, ESC are fine)
_CONTROL = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27))


def not_text_reason(data: bytes, suffix: str = "") -> str | None:
    """Why ``data`` (a file's first bytes) is not text, or None when it is: NUL bytes,
    control bytes, or bytes that are not UTF-8 text."""
    if suffix.lower() in BINARY_SUFFIXES:
        return f"binary ({suffix} file)"
    if b"\0" in data:
        return "binary (NUL bytes)"
    if not data:
        return None
    controls = len(data) - len(data.translate(None, _CONTROL))
    if controls > max(2, len(data) // 100):
        return "binary (control bytes)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut_char = exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
        if not cut_char and sum(b >= 0x80 for b in data) > len(data) * 3 // 10:
            return "binary (not UTF-8 text)"
    return None


def read_document_why(path: Path) -> tuple[tuple[str, str, dict[str, Any]] | None, str]:
    """``(document, "")`` for a text file, else ``(None, why it was skipped)``."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, f"too large ({size / 1e6:.1f} MB; at most {MAX_FILE_BYTES / 1e6:g} MB)"
        with path.open("rb") as fh:
            head = fh.read(8192)
            why = not_text_reason(head, path.suffix)
            if why:
                return None, why
            data = head + fh.read()
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    return _document(path, data), ""


def read_document(path: Path) -> tuple[str, str, dict[str, Any]] | None:
    """``(doc id, text, metadata)`` for a text file; None for binary or huge files."""
    return read_document_why(path)[0]


def _document(path: Path, data: bytes) -> tuple[str, str, dict[str, Any]]:
    text = data.decode("utf-8", "replace")
    suffix = path.suffix.lower()
    kind = "markdown" if suffix in (".md", ".markdown", ".rst") else \
        "text" if suffix in (".txt", "") else "code"
    return doc_id_for(path), text, {"path": str(path.resolve()), "kind": kind}


def doc_id_for(path: Path) -> str:
    """A file's document id: its path relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def ingest_files(cat: Catalog, files: Iterable[Path],
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Index text files into ``cat`` in one bulk pass; answers counts, and ``skipped``:
    ``{"path", "reason"}`` for each file that was not text."""
    docs: list[tuple[str, str, dict[str, Any]]] = []
    skipped: list[dict[str, str]] = []
    for file in files:
        doc, why = read_document_why(file)
        if doc is None:
            skipped.append({"path": str(file), "reason": why})
            if progress is not None:
                progress(1)
            continue
        docs.append(doc)
    before = cat.size()
    chunks = cat.add_many(docs, progress=progress)
    return {"files": len(docs), "chunks": chunks,
            "skipped": skipped, "documents": len(cat), "catalog_chunks": cat.size(),
            "added_chunks": cat.size() - before}


# --- genesis ingest_and_display_yourself ---------------------------------------------------

def project_docs(image_dir: Path | None) -> list[Path]:
    """README.md and docs/*.md next to the image, else in the working directory."""
    roots = [r for r in (image_dir, Path.cwd()) if r is not None]
    for root in roots:
        files = [root / "README.md"] if (root / "README.md").is_file() else []
        files += sorted((root / "docs").glob("*.md")) if (root / "docs").is_dir() else []
        if files:
            return files
    return []


def ingest_and_display_yourself(self: Any) -> str:
    """Ingest the project's README and docs into the catalog and describe the receiver
    from what memory then holds (document summaries ranked by relevance to it)."""
    jar = getattr(self, "_p_jar", None)
    if jar is None:
        raise CatalogError("ingest_and_display_yourself needs an object stored in an image")
    proto = jar.root()["globals"].get("catalog")
    cat = engine(proto) if isinstance(proto, Proto) else None
    if cat is None:
        raise CatalogError("this image has no catalog")
    image_dir = None
    try:
        image_dir = Path(jar.db().storage.getName()).resolve().parent
    except Exception:
        pass
    files = project_docs(image_dir)
    with atomic(cat):
        if files:
            ingest_files(cat, files)
    return describe_from_memory(self, cat, [doc_id_for(f) for f in files])


def describe_from_memory(receiver: Any, cat: Catalog, docs: list[str], limit: int = 4) -> str:
    """A self-description composed from the summaries of ``docs`` (best matching the
    receiver's own description first)."""
    name = receiver.__dict__.get("_name") or "this object"
    own = receiver.lookup("description")
    own_text = str(own[1]) if own else ""
    lines = [f"I am {name}" + (f", {own_text}." if own_text else ".")]
    if not docs:
        lines.append("My memory holds no project README.md or docs/*.md yet; put them next "
                     "to the image or in the working directory and ask again.")
        return "\n".join(lines)
    ranked: list[str] = []
    for hit in cat.search(f"{name} {own_text} image object", k=limit * 3):
        if hit["doc"] in docs and hit["doc"] not in ranked:
            ranked.append(hit["doc"])
    ranked += [d for d in docs if d not in ranked]
    lines.append(f"From the {len(docs)} document(s) in my memory:")
    for doc in ranked[:limit]:
        fractal = cat.fractal(doc)
        lines.append(f"- {fractal.title} ({doc}): {fractal.summary}")
    return "\n".join(lines)


#: the functions a primitive Method may name (batos.image.method.resolve_primitive)
PRIMITIVES: frozenset[str] = frozenset({'ingest_and_display_yourself', 'index_text', 'index_text_metadata', 'search', 'search_k', 'unindex', 'documents', 'size', 'summary_of', 'zoom', 'forget_all'})
