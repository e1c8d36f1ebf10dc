"""Sentence-aware chunking with overlap, and extractive summaries."""
from __future__ import annotations

import pytest

from batos.mind.chunking import chunk_text, sentences, summarize, title_of


def _doc(n: int = 40) -> str:
    return " ".join(f"Sentence {i} is about topic{i % 5} and carries filler words here."
                    for i in range(n))


def test_sentences_split_on_punctuation_paragraphs_and_headings():
    text = 'First one. "Second!" Third?\n\n# Heading\n- item a\n- item b'
    got = [s.text for s in sentences(text)]
    assert got == ["First one.", '"Second!"', "Third?", "# Heading", "- item a", "- item b"]
    for s in sentences(text):
        assert text[s.start:s.end] == s.text


def test_short_text_is_one_chunk():
    spans = chunk_text("  A short note.  ")
    assert [s.text for s in spans] == ["A short note."]
    assert chunk_text("   \n ") == []


def test_chunks_respect_size_sentences_and_overlap():
    text = _doc(60)
    spans = chunk_text(text, target=300, max_size=400, overlap=120)
    assert len(spans) > 3
    for span in spans:
        assert len(span.text) <= 400
        assert span.text == text[span.start:span.end]
        assert span.text.startswith("Sentence ") and span.text.endswith("here.")
    for a, b in zip(spans, spans[1:]):
        assert b.start < a.end, "consecutive chunks overlap"
        overlap = text[b.start:a.end]
        assert overlap.startswith("Sentence ") and overlap.endswith("here.")
        assert len(overlap) <= 120
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_default_chunks_are_500_to_800_chars():
    spans = chunk_text(_doc(200))
    assert all(len(s.text) <= 800 for s in spans)
    assert all(len(s.text) >= 500 for s in spans[:-1])


def test_overlong_sentence_is_cut_at_white_space():
    text = " ".join(["word"] * 600)  # one 2999-char "sentence"
    spans = chunk_text(text, target=300, max_size=400, overlap=50)
    assert all(len(s.text) <= 400 for s in spans)
    assert all(not s.text.startswith(" ") and "wor d" not in s.text for s in spans)
    assert " ".join(s.text for s in spans).count("word") >= 600


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        chunk_text("x", target=100, max_size=50)
    with pytest.raises(ValueError):
        chunk_text("x", target=100, max_size=200, overlap=100)


def test_summary_keeps_first_sentence_and_weighty_ones_within_budget():
    text = ("The frobnicator turns widgets into gadgets. " + "Filler is filler. " * 30 +
            "Gadgets from the frobnicator are sorted by the gadget sorter.")
    summary = summarize(text, max_chars=120)
    assert summary.startswith("The frobnicator turns widgets into gadgets.")
    assert len(summary) <= 120
    assert "gadget sorter" in summary


def test_lead_summary_and_short_text():
    assert summarize("One. Two.") == "One. Two."
    lead = summarize("Alpha beta. " * 100, max_chars=40, lead_only=True)
    assert lead == "Alpha beta. Alpha beta. Alpha beta."


def test_title_of_prefers_heading():
    assert title_of("\n\n# The Title\nbody") == "The Title"
    assert title_of("first line\nsecond") == "first line"
    assert title_of("", "fallback") == "fallback"
