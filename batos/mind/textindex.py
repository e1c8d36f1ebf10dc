"""The catalog's text index: zope.index's Okapi BM25 with compact posting lists,
and bulk indexing.

:class:`CatalogIndex` keeps zope.index's data layout (word id → posting map,
document lengths, each document's word ids) but stores posting maps as
:class:`Postings` (a dict pickled as two int arrays, inline in the word-info BTree)
or, when long, :class:`BigPostings` (a record of its own), so a commit pickles a few
byte strings instead of hundreds of thousands of ints. :func:`index_postings` adds
many documents at once: it counts the words of the whole batch and writes each
posting list once, producing what ``index_doc`` would for each document.
"""
from __future__ import annotations

from array import array
import re
from itertools import repeat

try:
    from collections import _count_elements  # type: ignore[attr-defined]  # C helper
except ImportError:  # pragma: no cover
    def _count_elements(mapping: dict, iterable: Iterable) -> None:
        for elem in iterable:
            mapping[elem] = mapping.get(elem, 0) + 1
from typing import Any, Iterable, Sequence

from BTrees.IFBTree import IFBucket
from BTrees.Length import Length
from persistent import Persistent
from zope.index.text.lexicon import CaseNormalizer, Lexicon, Splitter, StopWordRemover
from zope.index.text import widcode
from zope.index.text.baseindex import inverse_doc_frequency
from zope.index.text.okapiindex import OkapiIndex
from zope.index.text.okapiindex import score as _score

from batos.errors import BatosError


_ASCII_WORD = re.compile(r"\w+", re.ASCII)


class CatalogError(BatosError):
    """A catalog operation was given something it cannot use."""


def _codes(data: dict[int, int]) -> tuple[bytes, bytes]:
    return array("i", data.keys()).tobytes(), array("i", data.values()).tobytes()


def _ints(data: bytes) -> array:
    out = array("i")
    out.frombytes(data)
    return out


class _PostingsOps:
    """The mapping protocol zope.index uses on a posting list, over ``self.data``."""

    data: dict[int, int]

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __getitem__(self, key: int) -> int:
        return self.data[key]

    def __setitem__(self, key: int, value: int) -> None:
        self.data[key] = value
        self._touch()

    def __delitem__(self, key: int) -> None:
        del self.data[key]
        self._touch()

    def get(self, key: int, default: Any = None) -> Any:
        return self.data.get(key, default)

    def update(self, other: Any) -> None:
        self.data.update(other)
        self._touch()

    def keys(self) -> Any:
        return self.data.keys()

    def items(self) -> Any:
        return self.data.items()

    def _touch(self) -> None:
        pass


def _load_postings(keys: bytes, values: bytes) -> "Postings":
    return Postings(raw=(keys, values))


class Postings(_PostingsOps):
    """A posting list (index id → word count) kept inline in the word-info BTree,
    pickled as two int arrays and decoded only when used (loading a bucket of word
    infos decodes none of them). Whoever changes it stores it again in the BTree."""

    __slots__ = ("_data", "_raw")

    def __init__(self, data: Any = None, raw: tuple[bytes, bytes] | None = None) -> None:
        self._data = None if raw is not None else dict(data or {})
        self._raw = raw

    @property
    def data(self) -> dict[int, int]:  # type: ignore[override]
        d = self._data
        if d is None:
            keys, values = self._raw  # type: ignore[misc]
            d = self._data = dict(zip(_ints(keys), _ints(values)))
            self._raw = None
        return d

    def __len__(self) -> int:
        if self._data is None:
            return len(self._raw[0]) // 4  # type: ignore[index]
        return len(self._data)

    def __reduce__(self) -> tuple[Any, ...]:
        return _load_postings, (self._raw if self._data is None else _codes(self._data))

    def __repr__(self) -> str:
        return f"<Postings of {len(self)}>"


class BigPostings(_PostingsOps, Persistent):
    """A long posting list: its own database record, pickled as two int arrays."""

    def __init__(self, data: Any = None) -> None:
        self.data = dict(data or {})

    def __getstate__(self) -> tuple[bytes, bytes]:
        return _codes(self.data)

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self.__dict__["data"] = dict(zip(_ints(state[0]), _ints(state[1])))

    def _touch(self) -> None:
        self._p_changed = True


class DocLengths(Persistent):
    """Index id → document length (in words), one int array in one record.

    Replaces zope.index's IFBTree of lengths: a cold query loads 4 bytes per
    indexed chunk in one read instead of many buckets, and scoring indexes the
    array directly. Absent ids hold -1.
    """

    def __init__(self) -> None:
        self.lengths = array("i")
        self.count = 0

    def __getstate__(self) -> tuple[bytes, int]:
        return self.lengths.tobytes(), self.count

    def __setstate__(self, state: tuple[bytes, int]) -> None:
        self.__dict__["lengths"] = _ints(state[0])
        self.__dict__["count"] = state[1]

    def __len__(self) -> int:
        return self.count

    def __contains__(self, docid: object) -> bool:
        return isinstance(docid, int) and 0 <= docid < len(self.lengths) \
            and self.lengths[docid] >= 0

    def __getitem__(self, docid: int) -> int:
        if docid not in self:
            raise KeyError(docid)
        return self.lengths[docid]

    def __setitem__(self, docid: int, length: int) -> None:
        self.update({docid: length})

    def __delitem__(self, docid: int) -> None:
        if docid not in self:
            raise KeyError(docid)
        self.lengths[docid] = -1
        self.count -= 1
        self._p_changed = True

    def update(self, items: dict[int, int]) -> None:
        lengths = self.lengths
        top = max(items, default=-1)
        if top >= len(lengths):
            lengths.extend([-1] * (top + 1 - len(lengths)))
        added = 0
        for docid, length in items.items():
            if docid < 0 or length < 0:
                raise ValueError("index ids and lengths are non-negative")
            added += lengths[docid] < 0
            lengths[docid] = length
        self.count += added
        self._p_changed = True

    def items(self) -> list[tuple[int, int]]:
        return [(d, n) for d, n in enumerate(self.lengths) if n >= 0]


SMALL = 4     # up to this many postings: a plain dict
BIG = 256     # more than this many: a BigPostings record of its own


def postings_for(data: dict[int, int]) -> Any:
    """The container for a posting list of this size."""
    n = len(data)
    if n <= SMALL:
        return data if type(data) is dict else dict(data.items())
    if n <= BIG:
        return data if type(data) is Postings else Postings(data.items())
    return data if type(data) is BigPostings else BigPostings(data.items())


class CatalogIndex(OkapiIndex):
    """Okapi BM25 over a lexicon, with compact posting lists (:class:`Postings`,
    :class:`BigPostings`) and document lengths in one array (:class:`DocLengths`)."""

    def clear(self) -> None:
        OkapiIndex.clear(self)
        self._docweight = DocLengths()

    def _search_wids(self, wids: list[int]) -> list[tuple[Any, int]]:
        """Per word, an IFBucket of BM25 scores (zope.index's C scorer, reading the
        document lengths straight from their array)."""
        if not wids:
            return []
        n = float(self.documentCount())
        meandoclen = self._totaldoclen() / n
        lengths = self._docweight.lengths
        out = []
        for wid in wids:
            d2f = self._wordinfo[wid]
            idf = inverse_doc_frequency(len(d2f), n)
            result = IFBucket()
            if _score is not None:
                _score(result, list(d2f.items()), lengths, idf, meandoclen)
            else:  # pragma: no cover - pure-Python zope.index
                k1, b = self.K1, self.B
                for docid, f in d2f.items():
                    lw = (1.0 - b) + b * lengths[docid] / meandoclen
                    result[docid] = f * (k1 + 1.0) / (f + k1 * lw) * idf
            out.append((result, 1))
        return out

    def _add_wordinfo(self, wid: int, f: int, docid: int) -> None:
        d2s = self._wordinfo.get(wid)
        if d2s is None:
            d2s = {}
            self.wordCount.change(1)
        d2s[docid] = f
        new = postings_for(d2s)
        if new is not d2s or not isinstance(d2s, BigPostings):
            self._wordinfo[wid] = new  # an inline list is stored again with its bucket

    def _mass_add_wordinfo(self, wid2weight: dict[int, int], docid: int) -> None:
        for wid, weight in wid2weight.items():
            self._add_wordinfo(wid, weight, docid)

    def index_doc(self, docid: int, text: str) -> int:
        """Index (or re-index) one document; answers its number of words."""
        if docid in self._docwords:
            self.unindex_doc(docid)
        index_postings(self, [(docid, text)])
        return self._docweight[docid]

    def get_words(self, docid: int) -> list[int]:
        """The distinct word ids of an indexed document (all that unindexing needs)."""
        data = self._docwords[docid]
        return widcode.decode(data) if isinstance(data, str) else list(_ints(data))

    def search_phrase(self, phrase: str) -> Any:
        raise CatalogError("phrase search is not supported by the catalog's index")

    def _del_wordinfo(self, wid: int, docid: int) -> None:
        d2s = self._wordinfo[wid]
        del d2s[docid]
        if not d2s:
            del self._wordinfo[wid]
            self.wordCount.change(-1)
        else:
            new = postings_for(d2s)
            if new is not d2s or not isinstance(d2s, BigPostings):
                self._wordinfo[wid] = new


def index_postings(index: CatalogIndex, docs: Sequence[tuple[int, str]]) -> None:
    """Add ``(docid, text)`` pairs to ``index`` in bulk.

    Produces exactly what ``index.index_doc`` would for each pair (same lexicon
    words and word ids, posting maps and lengths; the word list of a document is
    kept as its distinct word ids), but counts the words of the whole batch first,
    gives word ids once per distinct word and writes each posting list once.
    """
    lexicon = index._lexicon
    standard = _standard_pipeline(lexicon)
    stop = StopWordRemover.dict
    findall, findall_ascii, lower = Splitter.rx.findall, _ASCII_WORD.findall, str.lower
    docwords_tree = index._docwords
    # one flat posting list for the whole batch: (term, doc, count) in three columns
    terms: list[Any] = []
    doc_col: list[int] = []
    freq_col: list[int] = []
    spans: list[tuple[int, int, int]] = []
    docweight: dict[int, int] = {}
    total = 0
    for docid, text in docs:
        if docid in docwords_tree or docid in docweight:
            raise CatalogError(f"index doc id {docid} is already indexed")
        if standard:
            # on ASCII text, lower-casing first and an ASCII \w split give the same words
            raw = findall_ascii(text.lower()) if text.isascii() else list(map(lower, findall(text)))
        else:  # a custom pipeline: zope.index's own (slower) path to word ids
            raw = lexicon.sourceToWordIds(text)
        counts: dict[Any, int] = {}
        _count_elements(counts, raw)
        n = len(raw)
        if standard:
            for word in [w for w in counts if w in stop]:
                n -= counts.pop(word)
        start = len(terms)
        terms.extend(counts)
        freq_col.extend(counts.values())
        doc_col.extend(repeat(docid, len(counts)))
        spans.append((docid, start, len(terms)))
        docweight[docid] = n
        total += n
    if standard:  # word ids in order of first appearance, as the lexicon gives them
        get = _word_ids(lexicon, dict.fromkeys(terms)).__getitem__
        wids = list(map(get, terms))
    else:
        wids = terms
    docwords = {d: array("i", wids[i:j]).tobytes() for d, i, j in spans}
    _merge_postings(index, _group(wids, doc_col, freq_col))
    index._docweight.update(docweight)
    docwords_tree.update(docwords)
    index.documentCount.change(len(docweight))
    index._change_doc_len(total)


def _group(wids: list[int], docs: list[int], freqs: list[int]) -> dict[int, dict[int, int]]:
    """Word id → {doc: count} from three parallel columns."""
    out: dict[int, dict[int, int]] = {}
    get = out.get
    for wid, doc, f in zip(wids, docs, freqs):
        p = get(wid)
        if p is None:
            out[wid] = {doc: f}
        else:
            p[doc] = f
    return out


def _word_ids(lexicon: Lexicon, words: Iterable[str]) -> dict[str, int]:
    """Word ids for ``words``, new words numbered in order as the lexicon would."""
    wids_tree = lexicon._wids
    known = wids_tree.get
    counter = lexicon.wordCount
    if not isinstance(counter, Length):
        counter = lexicon.wordCount = Length(len(wids_tree))
    out: dict[str, int] = {}
    new_words: dict[str, int] = {}
    new_ids: dict[int, str] = {}
    taken = lexicon._words
    for word in words:
        wid = known(word)
        if wid is None:
            counter.change(1)
            wid = counter()
            while wid in taken:
                counter.change(1)
                wid = counter()
            new_words[word] = wid
            new_ids[wid] = word
        out[word] = wid
    if new_words:
        wids_tree.update(new_words)
        taken.update(new_ids)
    return out


def _merge_postings(index: CatalogIndex, postings: dict[int, dict[int, int]]) -> None:
    wordinfo = index._wordinfo
    new_words = 0
    updates: dict[int, Any] = {}
    for wid, docs in postings.items():
        old = wordinfo.get(wid)
        if old is None:
            new_words += 1
            merged: Any = postings_for(docs)
        elif isinstance(old, BigPostings):
            old.update(docs)
            merged = old
        else:
            old.update(docs)
            merged = postings_for(old)
        updates[wid] = merged
    wordinfo.update(updates)  # re-assigning a dict value marks its bucket changed
    index.wordCount.change(new_words)


def _standard_pipeline(lexicon: Lexicon) -> bool:
    kinds = [type(e) for e in lexicon._pipeline]
    return kinds == [Splitter, CaseNormalizer, StopWordRemover]
