"""Sentence-aware chunking with overlap, and extractive summaries.

Text is cut into sentences (paragraph breaks, ``.!?`` followed by white space,
blank-line separated code blocks); sentences are packed greedily into chunks of
about ``target`` characters (never more than ``max_size`` unless one sentence is
longer, which is then cut at white space). Each chunk after the first starts
with the last sentences of the previous one, up to ``overlap`` characters, so a
thought that straddles a boundary is whole in at least one chunk.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from itertools import chain, repeat
from operator import mul, truediv
from typing import Iterable, NamedTuple

# A sentence ends at .!? (optionally followed by closing quotes/brackets) and white
# space, or at a blank line. Markdown headings and list items start new sentences.
_BOUNDARY = re.compile(
    r"(?=[.!?\n])(?:"                    # (a quick test before the alternatives)
    r"([.!?][\"')\]]*)\s+(?=\S)"         # end of sentence, then white space
    r"|\n[ \t]*\n\s*"                    # paragraph break
    r"|\n(?=[ \t]*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s)))"  # heading or list item on the next line
)
_WORD = re.compile(r"(?u)\w+")
_ASCII_WORD = re.compile(r"\w+", re.ASCII)
_LONG_WORD = re.compile(r"(?u)\w\w+")

try:
    from collections import _count_elements  # type: ignore[attr-defined]  # C helper
except ImportError:  # pragma: no cover
    def _count_elements(mapping: dict, iterable: Iterable) -> None:
        mapping.update(Counter(iterable))

TARGET = 650
MAX_SIZE = 800
OVERLAP = 150
SUMMARY_SENTENCES = 32  # a summary is drawn from the opening sentences of a long text
_ONE_LETTER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")  # ASCII \w, lower-cased


class Span(NamedTuple):
    """A piece of a text: ``text == source[start:end]`` (stripped of outer white space).
    Its tuple is ``(text, start, end)``: the row a ContextFractal keeps."""

    text: str
    start: int
    end: int


def sentences(text: str) -> list[Span]:
    """The sentences of ``text`` with their offsets (empty pieces dropped)."""
    spans: list[Span] = []
    append, new = spans.append, Span._make
    pos = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end(1) if m.lastindex else m.start()
        piece = text[pos:end]
        stripped = piece.strip()
        if stripped:
            start = pos + len(piece) - len(piece.lstrip())
            append(new((stripped, start, start + len(stripped))))
        pos = m.end()
    piece = text[pos:]
    stripped = piece.strip()
    if stripped:
        start = pos + len(piece) - len(piece.lstrip())
        spans.append(Span(stripped, start, start + len(stripped)))
    return spans


def _split_long(span: Span, max_size: int) -> list[Span]:
    """Cut a sentence longer than ``max_size`` at white space (hard cut if none)."""
    out: list[Span] = []
    text, base = span.text, span.start
    pos = 0
    while len(text) - pos > max_size:
        cut = text.rfind(" ", pos + max_size // 2, pos + max_size)
        if cut <= pos:
            cut = text.rfind("\n", pos + 1, pos + max_size)
        if cut <= pos:
            cut = pos + max_size
        piece = text[pos:cut].strip()
        if piece:
            off = text.index(piece, pos)
            out.append(Span(piece, base + off, base + off + len(piece)))
        pos = cut
    rest = text[pos:].strip()
    if rest:
        off = text.index(rest, pos)
        out.append(Span(rest, base + off, base + off + len(rest)))
    return out


def chunk_text(text: str, target: int = TARGET, max_size: int = MAX_SIZE,
               overlap: int = OVERLAP, sents: list[Span] | None = None) -> list[Span]:
    """Sentence-aware chunks of about ``target`` characters with ``overlap``.

    A text no longer than ``max_size`` is one chunk. Chunk texts are the source
    slices ``text[start:end]``, so sentence separators inside a chunk are kept.
    """
    if not 0 < target <= max_size or overlap < 0 or overlap >= target:
        raise ValueError("need 0 < target <= max_size and 0 <= overlap < target")
    stripped = text.strip()
    if not stripped:
        return []
    if len(stripped) <= max_size:
        start = text.index(stripped)
        return [Span(stripped, start, start + len(stripped))]
    pieces = _pieces(sentences(text) if sents is None else sents, max_size)
    return [Span(text[pieces[i].start:pieces[j - 1].end], pieces[i].start, pieces[j - 1].end)
            for i, j in _pack(pieces, target, max_size, overlap)]


def _pieces(sents: list[Span], max_size: int) -> list[Span]:
    """The sentences, with any longer than ``max_size`` cut."""
    if all(len(s.text) <= max_size for s in sents):
        return sents
    out: list[Span] = []
    for s in sents:
        out.extend(_split_long(s, max_size) if len(s.text) > max_size else (s,))
    return out


def _pack(sents: list[Span], target: int, max_size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of sentences into chunks: ``(first, end)`` sentence index ranges."""
    ranges: list[tuple[int, int]] = []
    i, n = 0, len(sents)
    while i < n:
        j = i + 1
        while j < n and sents[j].end - sents[i].start <= max_size \
                and sents[j - 1].end - sents[i].start < target:
            j += 1
        ranges.append((i, j))
        if j >= n:
            break
        # overlap: step back over trailing sentences that fit in `overlap` chars
        k = j
        while k - 1 > i and sents[j - 1].end - sents[k - 1].start <= overlap:
            k -= 1
        i = k
    return ranges


def chunk_words(text: str, sents: list[Span], target: int = TARGET, max_size: int = MAX_SIZE,
                overlap: int = OVERLAP) -> tuple[list[Span], list[list[str]], list[list[str]]] | None:
    """For an ASCII text longer than ``max_size``: its chunks (as :func:`chunk_text`),
    the words of each chunk and the words of each sentence (lower-cased ``\\w+``, the
    catalog lexicon's split), each sentence read once. Chunks are runs of whole
    sentences with only white space between them, so a chunk's words are its
    sentences' words. None for other texts, or when a sentence had to be cut (a cut
    may fall inside a word)."""
    if len(text.strip()) <= max_size or not text.isascii() \
            or any(len(s.text) > max_size for s in sents):
        return None
    findall, low = _ASCII_WORD.findall, text.lower()
    sent_words = [findall(low, s.start, s.end) for s in sents]
    chunks, chunk_words_ = [], []
    for i, j in _pack(sents, target, max_size, overlap):
        start, end = sents[i].start, sents[j - 1].end
        chunks.append(Span(text[start:end], start, end))
        chunk_words_.append(sent_words[i] if j == i + 1 else
                            list(chain.from_iterable(sent_words[i:j])))
    return chunks, chunk_words_, sent_words


def words(text: str) -> list[str]:
    """Lower-cased words (the same split the catalog's lexicon uses)."""
    return [w.lower() for w in _WORD.findall(text)]


def summarize(text: str, max_chars: int = 400, stopwords: Iterable[str] = (),
              lead_only: bool = False, sents: list[Span] | None = None,
              sent_words: list[list[str]] | None = None) -> str:
    """An extractive summary of at most ``max_chars``: the first sentence, then the
    sentences with the highest mean term weight (tf·idf over the document's
    sentences), in document order; with ``lead_only``, just the leading sentences.
    ``sent_words``: the lower-cased words of each of ``sents``, when already known."""
    if len(text) <= max_chars and "\n\n" not in text:
        return " ".join(text.split())
    every = sentences(text) if sents is None else sents
    limit = SUMMARY_SENTENCES * 2
    # the opening sentences that hold a word; once there are enough of them for a
    # summary and they no longer fit in one, the rest need not be looked at
    search = _WORD.search
    sents = []
    known: list[list[str]] = []
    used = 0
    for k, s in enumerate(every[:limit]):
        if sent_words[k] if sent_words is not None else search(s.text):
            sents.append(s)
            if sent_words is not None:
                known.append(sent_words[k])
            used += len(s.text) + 1
            if used > max_chars + 1 and len(sents) >= SUMMARY_SENTENCES:
                break
    if not sents:
        return text.strip()[:max_chars]
    if len(every) <= limit and used <= max_chars + 1:
        return " ".join(s.text for s in sents)
    if lead_only:
        out = sents[0].text
        for s in sents[1:]:
            if len(out) + 1 + len(s.text) > max_chars:
                break
            out += " " + s.text
        return out if len(out) <= max_chars else out[: max_chars - 1].rstrip() + "…"
    sents = sents[:SUMMARY_SENTENCES]
    stop = set(stopwords)
    if sent_words is not None:  # words of 2+ characters: one-letter words count as stop words
        bags = known[:SUMMARY_SENTENCES]
        stop.update(_ONE_LETTER)
    elif text.isascii():  # lower-casing keeps offsets: words straight from the offsets
        low, findall = text.lower(), _LONG_WORD.findall
        bags = [findall(low, s.start, s.end) for s in sents]  # words of 2+ characters
    else:
        bags = [_LONG_WORD.findall(s.text.lower()) for s in sents]
    tf: dict[str, int] = {}
    df: dict[str, int] = {}
    _count_elements(tf, chain.from_iterable(bags))
    for w in stop:
        tf.pop(w, None)
    uniques = [set(bag).difference(stop) for bag in bags]
    _count_elements(df, chain.from_iterable(uniques))
    n = len(sents)
    # damped term frequency times inverse sentence frequency: repeated boilerplate
    # does not outweigh the words that make a document distinctive
    words_ = list(tf)
    log1p = math.log1p
    idf = map(log1p, map(truediv, repeat(float(n)), map(df.__getitem__, words_)))
    weight = dict(zip(words_, map(mul, map(log1p, tf.values()), idf)))
    weight_of = weight.__getitem__
    scores = []
    seen: set[str] = set()
    for idx, uniq in enumerate(uniques):
        key = sents[idx].text
        if key in seen:  # a repeated sentence is chosen at most once
            continue
        seen.add(key)
        # fsum: exact, so set order (string hashes differ per process) cannot flip a tie
        score = math.fsum(map(weight_of, uniq)) / math.sqrt(len(uniq) + 1)
        if idx == 0:
            score = math.inf  # the opening sentence says what the document is
        scores.append((score, -idx))
    chosen: list[int] = []
    used = 0
    for score, neg in sorted(scores, reverse=True):
        idx = -neg
        size = min(len(sents[idx].text), max_chars)
        if used and used + 1 + size > max_chars:
            continue
        chosen.append(idx)
        used += size + (1 if used else 0)
        if used >= max_chars:
            break
    parts = [sents[i].text for i in sorted(chosen)]
    summary = " ".join(parts)
    return summary if len(summary) <= max_chars else summary[: max_chars - 1].rstrip() + "…"


def title_of(text: str, fallback: str = "") -> str:
    """A document's title: its first Markdown heading, else its first line (≤ 80 chars)."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip()[:80] or fallback
        if line:
            return (line[:77] + "...") if len(line) > 80 else line
    return fallback
