"""The catalog's text index: zope.index's Okapi BM25 with compact posting lists,
and bulk indexing.

:class:`CatalogIndex` keeps zope.index's data layout (word id → posting list,
document lengths, each document's word ids) but stores a posting list as one byte
string of int32 ``(doc, count)`` pairs, inline in the word-info BTree, or, when
long, as a :class:`BigPostings` record of its own. A commit then pickles a few
byte strings instead of hundreds of thousands of ints and dicts.
:func:`index_postings` adds many documents at once: it counts the words of the
whole batch, groups them by word with numpy and writes each posting list once,
producing what ``index_doc`` would for each document.
"""
from __future__ import annotations

from array import array
from itertools import chain
import re

try:
    from collections import _count_elements  # type: ignore[attr-defined]  # C helper
except ImportError:  # pragma: no cover
    def _count_elements(mapping: dict, iterable: Iterable) -> None:
        for elem in iterable:
            mapping[elem] = mapping.get(elem, 0) + 1
from typing import Any, Iterable, Sequence

from BTrees.IFBTree import IFBucket
from BTrees.IOBTree import IOBTree
from BTrees.Length import Length
from BTrees.OIBTree import OIBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from zope.index.text.lexicon import CaseNormalizer, Lexicon, Splitter, StopWordRemover
from zope.index.text import widcode
from zope.index.text.baseindex import inverse_doc_frequency
from zope.index.text.okapiindex import OkapiIndex
from zope.index.text.okapiindex import score as _score

from batos.errors import BatosError


_ASCII_WORD = re.compile(r"\w+", re.ASCII)
PAIR = 8      # bytes per (doc, count) pair
BIG = 256     # more pairs than this: a BigPostings record of its own


class CatalogError(BatosError):
    """A catalog operation was given something it cannot use."""


# Wide buckets: BTrees' default leaves (30-120 entries) make a bulk load of ten
# thousand chunks thousands of database records, and each record costs a commit
# about 20 µs on top of its pickle. Bigger leaves cut that, at a few kilobytes more
# written when one document is added later.
LEAF = 250


class WideIOBTree(IOBTree):
    """An IOBTree with :data:`LEAF`-entry buckets."""
    max_leaf_size = LEAF
    max_internal_size = 500


class WideOIBTree(OIBTree):
    """An OIBTree with :data:`LEAF`-entry buckets."""
    max_leaf_size = LEAF
    max_internal_size = 500


class WideOOBTree(OOBTree):
    """An OOBTree with :data:`LEAF`-entry buckets."""
    max_leaf_size = LEAF
    max_internal_size = 500


class CatalogLexicon(Lexicon):
    """zope.index's Lexicon over a wide word → id BTree, without the reverse map
    (id → word): nothing in the catalog asks for a word by its id, and a bulk load
    then stores one entry per new word instead of two. Word ids are the counter's
    next values."""

    def __init__(self, *pipeline: Any) -> None:
        super().__init__(*pipeline)
        self._wids = WideOIBTree()
        self._words = None

    def wids(self) -> list[int]:
        return sorted(self._wids.values())

    def get_word(self, wid: int) -> str:
        """The word with id ``wid`` (a scan: the lexicon keeps no reverse map)."""
        for word, known in self._wids.items():
            if known == wid:
                return word
        raise KeyError(wid)

    def _getWordIdCreate(self, word: str) -> int:
        wid = self._wids.get(word)
        if wid is None:
            wid = self._wids[word] = self._new_wid()
        return wid

    def _new_wid(self) -> int:
        self.wordCount.change(1)
        return self.wordCount()


def _ints(data: bytes) -> array:
    out = array("i")
    out.frombytes(data)
    return out


def encode_pairs(mapping: dict[int, int]) -> bytes:
    """A posting map as int32 ``doc, count, doc, count, ...`` bytes."""
    return array("i", chain.from_iterable(mapping.items())).tobytes()


def pair_list(raw: bytes) -> list[tuple[int, int]]:
    """The ``(doc, count)`` pairs of encoded postings."""
    a = _ints(raw)
    return list(zip(a[0::2], a[1::2]))


def _load_postings(keys: bytes, values: bytes) -> dict[int, int]:
    """Unpickle an inline posting list of the first catalog layout (two arrays)."""
    return dict(zip(_ints(keys), _ints(values)))


class BigPostings(Persistent):
    """A long posting list: its own database record, one byte string of pairs."""

    def __init__(self, raw: bytes = b"") -> None:
        self.raw = raw

    def __getstate__(self) -> bytes:
        return self.raw

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple):  # first layout: (doc ids, counts) arrays
            state = encode_pairs(_load_postings(*state))
        self.__dict__["raw"] = state

    def __len__(self) -> int:
        return len(self.raw) // PAIR

    def extend(self, raw: bytes) -> None:
        """Append pairs for documents not in the list yet."""
        self.raw += raw

    def items(self) -> list[tuple[int, int]]:
        return pair_list(self.raw)


def posting_raw(value: Any) -> bytes:
    """The encoded pairs of a word-info value (bytes, BigPostings or an old dict)."""
    if type(value) is bytes:
        return value
    if isinstance(value, BigPostings):
        return value.raw
    return encode_pairs(dict(value.items()))


def posting_count(value: Any) -> int:
    """How many documents a word-info value lists."""
    return len(value) // PAIR if type(value) is bytes else len(value)


def postings_value(raw: bytes) -> Any:
    """The word-info value for encoded pairs: inline bytes, or a BigPostings record."""
    return raw if len(raw) <= BIG * PAIR else BigPostings(raw)


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


class CatalogIndex(OkapiIndex):
    """Okapi BM25 over a lexicon, with posting lists as encoded pairs (inline bytes
    or :class:`BigPostings`) and document lengths in one array (:class:`DocLengths`)."""

    def clear(self) -> None:
        OkapiIndex.clear(self)
        self._wordinfo = WideIOBTree()
        self._docwords = WideIOBTree()
        self._docweight = DocLengths()

    def postings(self, wid: int) -> dict[int, int]:
        """Document → count for word ``wid`` (empty for an unknown word)."""
        value = self._wordinfo.get(wid)
        return {} if value is None else dict(pair_list(posting_raw(value)))

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
            pairs = pair_list(posting_raw(self._wordinfo[wid]))
            idf = inverse_doc_frequency(len(pairs), n)
            result = IFBucket()
            if _score is not None:
                _score(result, pairs, lengths, idf, meandoclen)
            else:  # pragma: no cover - pure-Python zope.index
                k1, b = self.K1, self.B
                for docid, f in pairs:
                    lw = (1.0 - b) + b * lengths[docid] / meandoclen
                    result[docid] = f * (k1 + 1.0) / (f + k1 * lw) * idf
            out.append((result, 1))
        return out

    def query_weight(self, terms: Iterable[str]) -> float:
        """zope.index's upper bound on a query's score, for these posting lists."""
        wids: list[int] = []
        for term in terms:
            wids.extend(self._lexicon.termToWordIds(term))
        n = float(self.documentCount())
        total = 0.0
        for wid in self._remove_oov_wids(wids):
            idf = inverse_doc_frequency(posting_count(self._wordinfo[wid]), n)
            total += idf * (self.K1 + 1.0)
        return total

    def _add_wordinfo(self, wid: int, f: int, docid: int) -> None:
        value = self._wordinfo.get(wid)
        if value is None:
            self.wordCount.change(1)
            pairs: dict[int, int] = {}
        else:
            pairs = dict(pair_list(posting_raw(value)))
        pairs[docid] = f
        self._store(wid, value, encode_pairs(pairs))

    def _mass_add_wordinfo(self, wid2weight: dict[int, int], docid: int) -> None:
        for wid, weight in wid2weight.items():
            self._add_wordinfo(wid, weight, docid)

    def _del_wordinfo(self, wid: int, docid: int) -> None:
        value = self._wordinfo[wid]
        pairs = dict(pair_list(posting_raw(value)))
        del pairs[docid]
        if not pairs:
            del self._wordinfo[wid]
            self.wordCount.change(-1)
        else:
            self._store(wid, value, encode_pairs(pairs))

    def _store(self, wid: int, old: Any, raw: bytes) -> None:
        """Store ``raw`` for ``wid``: a big list stays in (or moves to) its own record."""
        if isinstance(old, BigPostings) and len(raw) > BIG * PAIR:
            old.raw = raw
        else:
            self._wordinfo[wid] = postings_value(raw)

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


def index_postings(index: CatalogIndex, docs: Sequence[tuple[int, str | list[str]]]) -> None:
    """Add ``(docid, text)`` pairs to ``index`` in bulk. A text may be given already
    split: a list of its lower-cased words as the standard pipeline splits them.

    Produces exactly what ``index.index_doc`` would for each pair (same lexicon
    words and word ids, posting lists and lengths; the word list of a document is
    kept as its distinct word ids), but counts the words of the whole batch first,
    gives word ids once per distinct word and writes each posting list once.
    """
    import numpy as np  # only bulk indexing needs it (it is llama-cpp-python's too)

    lexicon = index._lexicon
    standard = _standard_pipeline(lexicon)
    findall, findall_ascii, lower = Splitter.rx.findall, _ASCII_WORD.findall, str.lower
    docwords_tree = index._docwords
    # the batch's words in one flat column; numpy then counts and groups them
    tokens: list[Any] = []
    lens: list[int] = []
    ids: dict[int, None] = {}
    for docid, text in docs:
        if docid in ids:
            raise CatalogError(f"index doc id {docid} is given twice")
        if type(text) is list:  # already split (see chunking.chunk_words)
            if not standard:
                raise CatalogError("words given for a lexicon with a custom pipeline")
            raw = text
        elif standard:
            # on ASCII text, lower-casing first and an ASCII \w split give the same words
            raw = findall_ascii(text.lower()) if text.isascii() else list(map(lower, findall(text)))
        else:  # a custom pipeline: zope.index's own (slower) path to word ids
            raw = lexicon.sourceToWordIds(text)
        tokens.extend(raw)
        lens.append(len(raw))
        ids[docid] = None
    if not ids:
        return
    low, high = min(ids), max(ids)
    if docwords_tree.keys(low, high) and any(d in docwords_tree for d in ids):
        raise CatalogError("index doc ids %s are already indexed"
                           % sorted(d for d in ids if d in docwords_tree)[:5])
    if standard:  # word ids in order of first appearance, as the lexicon gives them
        vocab = dict.fromkeys(tokens)
        stopped = [w for w in StopWordRemover.dict if w in vocab]
        for word in stopped:
            del vocab[word]
        wid_of, fresh = _word_ids(lexicon, list(vocab))
        wid_of.update(dict.fromkeys(stopped, 0))  # 0: never a word id
        wid_col = np.fromiter(map(wid_of.__getitem__, tokens), dtype=np.int64,
                              count=len(tokens))
    else:
        wid_col = np.array(tokens, dtype=np.int64)
        fresh = range(0)
    doc_ids = np.array(list(ids), dtype=np.int64)
    pos_col = np.repeat(np.arange(len(doc_ids), dtype=np.int64), lens)
    keep = wid_col != 0
    wid_col, pos_col = wid_col[keep], pos_col[keep]
    lengths = np.bincount(pos_col, minlength=len(doc_ids))
    # distinct (document, word) pairs with their counts, sorted by document then word
    pairs, counts = np.unique((pos_col << 32) | wid_col, return_counts=True)
    pair_pos, pair_wid = pairs >> 32, pairs & 0xFFFFFFFF
    bounds = np.searchsorted(pair_pos, np.arange(len(doc_ids) + 1)).tolist()
    wid_bytes = pair_wid.astype(np.int32).tobytes()
    docwords = {d: wid_bytes[4 * bounds[i]:4 * bounds[i + 1]] for i, d in enumerate(ids)}
    if len(pairs):
        _merge_postings(index, pair_wid, doc_ids[pair_pos], counts, fresh)
    index._docweight.update(dict(zip(ids, lengths.tolist())))
    docwords_tree.update(docwords)
    index.documentCount.change(len(ids))
    index._change_doc_len(int(lengths.sum()))


def _merge_postings(index: CatalogIndex, wids: Any, docs: Any, freqs: Any,
                    fresh: range) -> None:
    """Add the (word, doc, count) columns to the word infos: grouped by word (a
    stable sort keeps documents in order), each word's pairs are one byte slice.
    Words with ids in ``fresh`` have no posting list yet."""
    import numpy as np
    order = np.argsort(wids, kind="stable")
    pairs = np.empty((len(order), 2), dtype=np.int32)
    pairs[:, 0] = docs[order]
    pairs[:, 1] = freqs[order]  # (numpy casts the int64 columns)
    raw = pairs.tobytes()
    sorted_wids = wids[order]
    cuts = (np.flatnonzero(sorted_wids[1:] != sorted_wids[:-1]) + 1).tolist()
    starts, ends = [0, *cuts], [*cuts, len(order)]
    wordinfo = index._wordinfo
    get = wordinfo.get
    new_words = 0
    updates: dict[int, Any] = {}
    for wid, i, j in zip(sorted_wids[starts].tolist(), starts, ends):
        new = raw[PAIR * i:PAIR * j]
        old = None if wid in fresh else get(wid)
        if old is None:
            new_words += 1
            updates[wid] = postings_value(new)
        elif isinstance(old, BigPostings):
            old.extend(new)  # the batch's documents are not indexed yet
        else:
            updates[wid] = postings_value(posting_raw(old) + new)
    wordinfo.update(updates)
    index.wordCount.change(new_words)


def _word_ids(lexicon: Lexicon, words: Sequence[str]) -> tuple[dict[str, int], range]:
    """Word ids for distinct ``words``, new words numbered in order as the lexicon
    would (the next free ids, skipping any already taken); and a range of ids that
    are all new (no posting list can have them yet)."""
    wids_tree = lexicon._wids
    counter = lexicon.wordCount
    if not isinstance(counter, Length):
        counter = lexicon.wordCount = Length(len(wids_tree))
    out = dict(zip(words, map(wids_tree.get, words)))
    new_words = [w for w, wid in out.items() if wid is None]
    if not new_words:
        return out, range(0)
    taken = lexicon._words  # None: a CatalogLexicon, numbered by its counter alone
    first = counter() + 1
    if taken is None or not taken.keys(first, first + len(new_words) - 1):  # the usual case
        fresh = range(first, first + len(new_words))
        numbered = dict(zip(new_words, fresh))
        counter.change(len(new_words))
    else:
        fresh = range(0)
        numbered = {}
        for word in new_words:
            counter.change(1)
            while counter() in taken:
                counter.change(1)
            numbered[word] = counter()
    out.update(numbered)
    wids_tree.update(numbered)
    if taken is not None:
        taken.update({wid: w for w, wid in numbered.items()})
    return out, fresh

def plural_forms(word: str) -> set[str]:
    """``word`` with the English singular and plural forms it may take: ``pancake`` ↔
    ``pancakes``, ``berry`` ↔ ``berries``, ``box`` ↔ ``boxes``. A query looks up each
    form; only those some document holds match. Words of two letters and
    non-words stay as they are."""
    forms = {word}
    if len(word) < 3 or not word.isalpha():
        return forms
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4 and word[-3] in "sxzh":
        forms.add(word[:-2])
    if word.endswith("s") and len(word) > 3 and not word.endswith(("ss", "us", "is")):
        forms.add(word[:-1])
    if word.endswith("y") and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    if word.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(word + "es")
    elif not word.endswith("s"):
        forms.add(word + "s")
    return forms


def query_word_ids(lexicon: Lexicon, query: str) -> set[int]:
    """The word ids a query matches: each of its words (through the lexicon's own
    pipeline, as documents were indexed) in singular and plural forms.

    Folding happens here, at query time, so the pipeline pickled in an image stays
    what it was and catalogs indexed before still answer ``pancake`` for
    ``Pancakes``."""
    words = [str(query)]
    for element in lexicon._pipeline:
        words = element.process(words)
    forms = sorted(set().union(*(plural_forms(w) for w in words))) if words else []
    return {w for w in lexicon.termToWordIds(" ".join(forms)) if w} if forms else set()


def _standard_pipeline(lexicon: Lexicon) -> bool:
    kinds = [type(e) for e in lexicon._pipeline]
    return kinds == [Splitter, CaseNormalizer, StopWordRemover]
