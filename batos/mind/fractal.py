"""The fractal memory: documents as summaries over chunks, in a persistent BM25 catalog.

A :class:`Catalog` (one persistent object in the image) keeps

* ``lexicon`` — a zope.index :class:`Lexicon` (Splitter, CaseNormalizer, StopWordRemover);
* ``text_index`` — a :class:`~batos.mind.textindex.CatalogIndex` (Okapi BM25) over every
  chunk and every document summary, each under an int *index id*;
* ``fractals`` — OOBTree: document id → the document's first index id;
* ``owners`` — IOBTree: first index id → the document's :class:`ContextFractal` (title,
  summary, chunks) as a compact record tuple;
* ``summary_ids`` — the index ids that are document summaries.

A document's chunks have consecutive index ids starting at its ``first_id``; a
document of several chunks has an indexed summary right after them. Queries are
natural language: a chunk matches ANY word of the query and ranks by BM25, so a
missing word lowers a score but never hides a chunk.

ContextFractals are immutable values stored as tuples inside the ``owners`` BTree's
buckets (about 250 documents per database record) rather than one record per document
or per chunk: a commit of ten thousand chunks writes hundreds of records, not tens of
thousands, and fetching a hit loads one bucket. Re-indexing a document replaces its
fractal.
"""
from __future__ import annotations

import gc
import heapq
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator, Sequence

from BTrees.IFBTree import IFTreeSet
from BTrees.IFBTree import difference as if_difference
from BTrees.Length import Length
from persistent import Persistent
from zope.index.text.lexicon import CaseNormalizer, Splitter, StopWordRemover
from zope.index.text.setops import mass_weightedUnion

from batos.mind.chunking import (MAX_SIZE, OVERLAP, TARGET, chunk_text, chunk_words, sentences,
                                 summarize, title_of)
from batos.mind.textindex import (CatalogError, CatalogIndex, CatalogLexicon, WideIOBTree,
                                  WideOOBTree, index_postings, query_word_ids)

SUMMARY = "summary"
CHUNK = "chunk"
PREVIEW = 240

__all__ = ["Catalog", "CatalogError", "Chunk", "ContextFractal", "SUMMARY", "CHUNK",
           "hit_dict"]


class Chunk:
    """One indexed piece of a document: a chunk (level ``chunk``) or its summary (level
    ``summary``), with its offsets in the source text and its index id."""

    __slots__ = ("doc_id", "index", "text", "level", "start", "end", "id")

    def __init__(self, doc_id: str, index: int, text: str, level: str = CHUNK,
                 start: int = 0, end: int = 0, id: int = 0) -> None:
        self.doc_id, self.index, self.text, self.level = doc_id, index, text, level
        self.start, self.end, self.id = start, end, id

    @property
    def metadata(self) -> dict[str, Any]:
        """Where this chunk sits: its level and offsets in the document."""
        return {"level": self.level, "start": self.start, "end": self.end}

    def describe(self) -> dict[str, Any]:
        """A plain description (for printing and JSON)."""
        return {"doc": self.doc_id, "chunk": self.index, "level": self.level,
                "start": self.start, "end": self.end, "text": self.text, "id": self.id}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chunk) and self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash((self.doc_id, self.index, self.level, self.id))

    def __repr__(self) -> str:
        return f"<Chunk {self.doc_id}#{self.index} {self.level} {len(self.text)} chars>"


def _load_fractal(doc_id: str, first_id: int, rows: Any, size: int | None = None,
                  summary: str | None = None, metadata: dict[str, Any] | None = None,
                  title: str | None = None) -> "ContextFractal":
    """Unpickle a ContextFractal of the first catalog layout (stored as an object)."""
    return ContextFractal.from_record(first_id, (doc_id, rows, size, summary, metadata, title))


class ContextFractal:
    """A document as memory holds it: its summary over its chunks, in order.

    Immutable. Chunk ``i`` has index id ``first_id + i``; a document of several
    chunks has an indexed summary with id ``first_id + len(rows)``; a one-chunk
    document is its own summary (its lead sentences, computed when asked).
    """

    __slots__ = ("doc_id", "rows", "first_id", "_summary", "_metadata", "size", "_title")

    def __init__(self, doc_id: str, rows: Sequence[tuple[str, int, int]], first_id: int,
                 summary: str | None, metadata: dict[str, Any] | None, size: int,
                 title: str | None = None) -> None:
        self.doc_id = doc_id
        self.rows = tuple(rows)
        self.first_id = first_id
        self._summary = summary
        self._metadata = dict(metadata) if metadata else None
        self.size = size
        self._title = title

    def record(self) -> tuple[Any, ...]:
        """The compact tuple the catalog stores: ``(doc_id, rows[, size, summary,
        metadata, title])``; ``rows`` is the text of a one-chunk document that spans
        all of it, else a flat ``(text, start, end, ...)`` tuple. Few objects per
        document make big commits fast; the first id is the record's key."""
        rows = self.rows
        if len(rows) == 1 and rows[0][1] == 0 and rows[0][2] == len(rows[0][0]):
            packed: Any = rows[0][0]
            size = None if self.size == len(packed) else self.size
        else:
            packed = tuple(x for row in rows for x in row)
            size = self.size
        out = [self.doc_id, packed, size, self._summary, self._metadata, self._title]
        while len(out) > 2 and out[-1] is None:
            out.pop()
        return tuple(out)

    @classmethod
    def from_record(cls, first_id: int, record: Any) -> "ContextFractal":
        """The fractal of a stored record (a fractal of the first layout is itself)."""
        if isinstance(record, ContextFractal):
            return record
        doc_id, rows, size, summary, metadata, title = (*record, None, None, None, None)[:6]
        if isinstance(rows, str):
            size = len(rows) if size is None else size
            rows = ((rows, 0, len(rows)),)
        else:
            rows = tuple(zip(rows[0::3], rows[1::3], rows[2::3]))
        return cls(doc_id, rows, first_id, summary, metadata, size or 0, title)

    @property
    def title(self) -> str:
        """The document's title: given in its metadata, else its first heading or line."""
        if self._title:
            return self._title
        return title_of(self.rows[0][0], self.doc_id) if self.rows else self.doc_id

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._metadata or {})

    @property
    def summary(self) -> str:
        """The document's extractive summary."""
        if self._summary is not None:
            return self._summary
        return summarize(self.rows[0][0], lead_only=True) if self.rows else ""

    @property
    def summary_id(self) -> int | None:
        """The index id of the indexed summary (None for a one-chunk document)."""
        return self.first_id + len(self.rows) if self._summary is not None else None

    @property
    def chunk_ids(self) -> range:
        return range(self.first_id, self.first_id + len(self.rows))

    def index_ids(self) -> range:
        """Every index id this document owns (its chunks, then its summary if any)."""
        return range(self.first_id,
                     self.first_id + len(self.rows) + (self._summary is not None))

    def chunk(self, i: int) -> Chunk:
        """Chunk ``i``; ``len(rows)`` is the summary of a multi-chunk document."""
        if i == len(self.rows) and self._summary is not None:
            return Chunk(self.doc_id, 0, self._summary, SUMMARY, 0, self.size,
                         self.first_id + i)
        text, start, end = self.rows[i]
        return Chunk(self.doc_id, i, text, CHUNK, start, end, self.first_id + i)

    @property
    def chunks(self) -> list[Chunk]:
        return [self.chunk(i) for i in range(len(self.rows))]

    def describe(self) -> dict[str, Any]:
        """A plain description (for printing and JSON)."""
        return {"doc": self.doc_id, "title": self.title, "summary": self.summary,
                "chunks": len(self.rows), "chars": self.size, "metadata": self.metadata}

    def __repr__(self) -> str:
        return f"<ContextFractal {self.doc_id} ({len(self.rows)} chunks)>"


class Catalog(Persistent):
    """The persistent knowledge catalog (see the module docstring)."""

    VERSION = 1  # the data layout; older layouts are refused, never misread

    def __init__(self, target: int = TARGET, max_size: int = MAX_SIZE,
                 overlap: int = OVERLAP) -> None:
        self.lexicon = CatalogLexicon(Splitter(), CaseNormalizer(), StopWordRemover())
        self.text_index = CatalogIndex(self.lexicon)
        self.fractals = WideOOBTree()
        self.owners = WideIOBTree()
        self.summary_ids = IFTreeSet()
        self.chunk_count = Length(0)
        self.doc_count = Length(0)
        self.next_id = 1
        self.target, self.max_size, self.overlap = target, max_size, overlap
        self.version = self.VERSION

    def check(self) -> "Catalog":
        """Answer self, or raise CatalogError when the layout is not this batos's."""
        if self.__dict__.get("version", getattr(self, "version", 0)) != self.VERSION:
            raise CatalogError("this image's catalog has an older, incompatible layout (from a "
                               "development build); send `catalog forgetAll` for an empty one "
                               "and ingest the documents again")
        return self

    # -- sizes ---------------------------------------------------------------------------
    def size(self) -> int:
        """The number of chunks (summaries not counted)."""
        return self.chunk_count()

    def __len__(self) -> int:
        """The number of documents (kept in a counter: no BTree walk)."""
        return self.doc_count()

    def documents(self) -> list[str]:
        """The ids of the indexed documents, sorted."""
        return list(self.fractals.keys())

    def fractal(self, doc_id: str) -> ContextFractal:
        """The :class:`ContextFractal` of ``doc_id`` (CatalogError if unknown)."""
        first = self.fractals.get(str(doc_id))
        if first is None:
            raise CatalogError(f"no document {doc_id!r} in the catalog")
        return self._owner(first)

    def _owner(self, first: int) -> ContextFractal:
        return ContextFractal.from_record(first, self.owners[first])

    # -- indexing ------------------------------------------------------------------------
    def add(self, doc_id: str, text: str, metadata: dict[str, Any] | None = None) -> ContextFractal:
        """Index one document (replacing an earlier one with the same id)."""
        self.add_many([(doc_id, text, metadata)])
        return self.fractal(doc_id)

    def add_many(self, docs: Iterable[tuple[str, str, dict[str, Any] | None]],
                 progress: Callable[[int], None] | None = None) -> int:
        """Chunk, summarize and index documents in one bulk pass; a document whose id
        is already indexed is replaced. Answers the number of chunks indexed.

        Not atomic by itself: run it inside a transaction or a savepoint (see
        :func:`batos.mind.catalog.atomic`). ``progress(1)`` is called per document.
        """
        # a bulk load allocates many small objects that all live on: the cyclic
        # collector's passes over them would find nothing to free
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            return self._add_many(docs, progress)
        finally:
            if gc_was_on:
                gc.enable()

    def _add_many(self, docs: Iterable[tuple[str, str, dict[str, Any] | None]],
                  progress: Callable[[int], None] | None) -> int:
        pending: list[tuple[int, str]] = []
        records: dict[int, tuple[Any, ...]] = {}
        firsts: dict[str, int] = {}
        new_summaries: list[int] = []
        next_id = self.next_id
        n_chunks = 0
        stop = StopWordRemover.dict
        target, max_size, overlap = self.target, self.max_size, self.overlap
        fractals = self.fractals
        for doc_id, text, metadata in docs:
            doc_id = _check_doc(doc_id, text)
            if doc_id in firsts:
                raise CatalogError(f"document {doc_id!r} given twice in one batch")
            if doc_id in fractals:
                self.remove(doc_id)
            if not metadata and len(text) <= max_size and text and text.strip() is text:
                # the usual document: one chunk that is all of its text
                pending.append((next_id, text))
                records[next_id] = (doc_id, text)
                firsts[doc_id] = next_id
                next_id += 1
                n_chunks += 1
                if progress is not None:
                    progress(1)
                continue
            sents = sent_words = split = None
            if len(text) > max_size:
                sents = sentences(text)
                split = chunk_words(text, sents, target, max_size, overlap)
            if split is not None:  # each sentence read once
                rows, words, sent_words = split
            else:
                rows = chunk_text(text, target, max_size, overlap, sents=sents)
                words = [row[0] for row in rows]  # rows are (text, start, end)
            first = next_id
            next_id += len(rows)
            pending.extend(zip(range(first, next_id), words))
            summary = None
            if not rows:
                next_id += 1  # an empty document still owns an id (it indexes nothing)
            elif len(rows) > 1:  # a one-chunk document is its own summary
                summary = summarize(text, stopwords=stop, sents=sents, sent_words=sent_words)
                pending.append((next_id, summary))
                new_summaries.append(next_id)
                next_id += 1
            meta = dict(metadata) if metadata else None
            title = str(meta["title"]) if meta and meta.get("title") else None
            records[first] = ContextFractal(doc_id, rows, first, summary, meta, len(text),
                                            title).record()
            firsts[doc_id] = first
            n_chunks += len(rows)
            if progress is not None:
                progress(1)
        if next_id >= 2**31:
            raise CatalogError("the catalog ran out of 32-bit index ids; rebuild it")
        fractals.update(firsts)
        self.owners.update(records)
        if new_summaries:
            self.summary_ids.update(new_summaries)
        self.next_id = next_id
        self.chunk_count.change(n_chunks)
        self.doc_count.change(len(firsts))
        index_postings(self.text_index, pending)
        return n_chunks

    def remove(self, doc_id: str) -> int:
        """Unindex a document and its chunks; answers the number of chunks removed."""
        first = self.fractals.get(str(doc_id))
        if first is None:
            return 0
        fractal = self._owner(first)
        index = self.text_index
        for cid in fractal.index_ids():
            index.unindex_doc(cid)
        if fractal.summary_id is not None:
            self.summary_ids.remove(fractal.summary_id)
        del self.owners[first]
        del self.fractals[fractal.doc_id]
        self.chunk_count.change(-len(fractal.rows))
        self.doc_count.change(-1)
        return len(fractal.rows)

    # -- searching -------------------------------------------------------------------------
    def scores(self, query: str, level: str | None = None) -> Any:
        """Index id → BM25 score for every chunk matching ANY word of ``query``."""
        if level not in (None, CHUNK, SUMMARY):
            raise CatalogError(f"level is 'summary' or 'chunk', not {level!r}")
        index = self.text_index
        info = index._wordinfo
        distinct = query_word_ids(self.lexicon, str(query))   # plurals folded
        wids = [w for w in distinct if w in info]
        if not wids:
            return {}
        found = index._search_wids(wids)
        scores = found[0][0] if len(found) == 1 else mass_weightedUnion(found)
        if level == CHUNK and self.summary_ids:
            scores = if_difference(scores, self.summary_ids)
        elif level == SUMMARY:    # a one-chunk document is its own summary
            keep, owners = self.summary_ids, self.owners
            scores = {d: s for d, s in scores.items()
                      if d in keep or (d in owners and self._own_summary(d))}
        return scores

    def _own_summary(self, first: int) -> bool:
        """Whether the document starting at index id ``first`` is one chunk (no summary)."""
        fractal = self._owner(first)
        return fractal.summary_id is None and len(fractal.rows) == 1

    def search(self, query: str, k: int = 5, level: str | None = None) -> list[dict[str, Any]]:
        """The ``k`` best chunks (and summaries, unless ``level`` says which) for
        ``query``, best first, as plain dicts: doc, chunk, level, score, text (a
        preview), id."""
        return [hit_dict(chunk, score) for chunk, score in self.hits(query, k, level)]

    def hits(self, query: str, k: int = 5, level: str | None = None
             ) -> list[tuple[Chunk, float]]:
        """The ``k`` best ``(Chunk, score)`` pairs for ``query``, best first."""
        if k <= 0:
            return []
        scores = self.scores(query, level)
        if not scores:
            return []
        top = heapq.nlargest(k, scores.items(), key=itemgetter(1))
        return [(self.chunk(cid), score) for cid, score in top]

    def chunk(self, cid: int) -> Chunk:
        """The chunk (or summary) with index id ``cid`` (KeyError if none)."""
        try:
            first = self.owners.maxKey(cid)
        except ValueError:
            raise KeyError(cid) from None
        fractal = self._owner(first)
        if cid - first >= len(fractal.index_ids()):
            raise KeyError(cid)
        return fractal.chunk(cid - first)

    def zoom(self, doc_id: str) -> list[Chunk]:
        """From a document (its summary) down to its chunks, in order."""
        return self.fractal(doc_id).chunks

    def iter_chunks(self) -> Iterator[Chunk]:
        """Every chunk and summary, by document."""
        for first, record in self.owners.items():
            fractal = ContextFractal.from_record(first, record)
            for i in range(len(fractal.index_ids())):
                yield fractal.chunk(i)


def hit_dict(chunk: Chunk, score: float, preview: int = PREVIEW) -> dict[str, Any]:
    """A search result as a plain dict."""
    text = chunk.text
    if len(text) > preview:
        text = text[: preview - 1].rstrip() + "…"
    return {"doc": chunk.doc_id, "chunk": chunk.index, "level": chunk.level,
            "score": round(float(score), 4), "text": text, "id": chunk.id}


def _check_doc(doc_id: Any, text: Any) -> str:
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise CatalogError(f"a document id is a non-empty string, not {doc_id!r}")
    if not isinstance(text, str):
        raise CatalogError(f"the text of {doc_id!r} must be a string, not {type(text).__name__}")
    return doc_id
