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
from collections import Counter
from typing import Any, Sequence

from BTrees.IFBTree import IFBTree
from BTrees.Length import Length
from persistent import Persistent
from zope.index.text.lexicon import CaseNormalizer, Lexicon, Splitter, StopWordRemover
from zope.index.text import widcode
from zope.index.text.okapiindex import OkapiIndex

from batos.errors import BatosError


class CatalogError(BatosError):
    """A catalog operation was given something it cannot use."""


class BigIFBTree(IFBTree):
    """An IFBTree with large buckets: document lengths load in a few records."""

    max_leaf_size = 4096
    max_internal_size = 1024


def _codes(data: dict[int, int]) -> tuple[bytes, bytes]:
    return array("i", data.keys()).tobytes(), array("i", data.values()).tobytes()


def _ints(data: bytes) -> array:
    out = array("i")
    out.frombytes(data)
    return out


def _load_postings(keys: bytes, values: bytes) -> "Postings":
    return Postings(zip(_ints(keys), _ints(values)))


class Postings(dict):
    """A posting list (index id → word count) kept inline in the word-info BTree and
    pickled as two int arrays, not item by item."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _load_postings, _codes(self)


class BigPostings(Persistent):
    """A long posting list: its own database record, pickled as two int arrays."""

    def __init__(self, data: dict[int, int] | None = None) -> None:
        self.data = dict(data or {})

    def __getstate__(self) -> tuple[bytes, bytes]:
        return _codes(self.data)

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        self.__dict__["data"] = dict(_load_postings(*state))

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __getitem__(self, key: int) -> int:
        return self.data[key]

    def __setitem__(self, key: int, value: int) -> None:
        self.data[key] = value
        self._p_changed = True

    def __delitem__(self, key: int) -> None:
        del self.data[key]
        self._p_changed = True

    def get(self, key: int, default: Any = None) -> Any:
        return self.data.get(key, default)

    def update(self, other: Any) -> None:
        self.data.update(other)
        self._p_changed = True

    def keys(self) -> Any:
        return self.data.keys()

    def items(self) -> Any:
        return self.data.items()


SMALL = 4     # up to this many postings: a plain dict
BIG = 256     # more than this many: a BigPostings record of its own


def postings_for(data: dict[int, int]) -> Any:
    """The container for a posting list of this size."""
    n = len(data)
    if n <= SMALL:
        return data if type(data) is dict else dict(data)
    if n <= BIG:
        return data if type(data) is Postings else Postings(data)
    return BigPostings(data)


class CatalogIndex(OkapiIndex):
    """Okapi BM25 over a lexicon, with compact posting lists (:class:`Postings`,
    :class:`BigPostings`) and large-bucket document lengths."""

    def clear(self) -> None:
        OkapiIndex.clear(self)
        self._docweight = BigIFBTree()

    def _add_wordinfo(self, wid: int, f: int, docid: int) -> None:
        d2s = self._wordinfo.get(wid)
        if d2s is None:
            d2s = {}
            self.wordCount.change(1)
        d2s[docid] = f
        if not isinstance(d2s, BigPostings):
            d2s = postings_for(d2s)
        self._wordinfo[wid] = d2s

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
        elif not isinstance(d2s, BigPostings):
            self._wordinfo[wid] = postings_for(d2s)


def index_postings(index: CatalogIndex, docs: Sequence[tuple[int, str]]) -> None:
    """Add ``(docid, text)`` pairs to ``index`` in bulk.

    Produces exactly what ``index.index_doc`` would for each pair (same lexicon
    words, posting maps, lengths and encoded word lists), but counts every word of
    the batch first and writes each posting list once.
    """
    lexicon = index._lexicon
    stop = StopWordRemover.dict
    findall = Splitter.rx.findall
    standard = _standard_pipeline(lexicon)
    wids_tree = lexicon._wids
    known = wids_tree.get
    cache: dict[str, int] = {}
    new_words: dict[str, int] = {}
    postings: dict[int, dict[int, int]] = {}
    docweight: dict[int, int] = {}
    docwords: dict[int, bytes] = {}
    counter = lexicon.wordCount
    if not isinstance(counter, Length):
        counter = lexicon.wordCount = Length(len(wids_tree))
    total = 0
    lower = str.lower
    for docid, text in docs:
        if docid in index._docwords:
            raise CatalogError(f"index doc id {docid} is already indexed")
        if not standard:  # a custom pipeline: zope.index's own (slower) path
            wids = lexicon.sourceToWordIds(text)
            words = ()
        else:
            words = [w for w in map(lower, findall(text)) if w not in stop]
        for word in words:
            if word not in cache:
                wid = known(word)
                if wid is None:
                    counter.change(1)
                    wid = counter()
                    while wid in lexicon._words:
                        counter.change(1)
                        wid = counter()
                    new_words[word] = wid
                    lexicon._words[wid] = word
                cache[word] = wid
        if standard:
            wids = list(map(cache.__getitem__, words))
        freqs = Counter(wids)
        for wid, f in freqs.items():
            p = postings.get(wid)
            if p is None:
                postings[wid] = {docid: f}
            else:
                p[docid] = f
        docweight[docid] = len(wids)
        docwords[docid] = array("i", freqs).tobytes()
        total += len(wids)
    if new_words:
        wids_tree.update(new_words)
    _merge_postings(index, postings)
    index._docweight.update(docweight)
    index._docwords.update(docwords)
    index.documentCount.change(len(docweight))
    index._change_doc_len(total)


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
