"""The knowledge catalog: the ``catalog`` prototype, BM25 search, fractal zoom,
atomic indexing, persistence, grounding and genesis ingest_and_display_yourself."""
from __future__ import annotations

import pytest

import batos
from batos.errors import BatosError
from batos.mind import fractal as fractal_mod
from batos.mind.catalog import catalog_of, engine, grounding
from batos.mind.fractal import SUMMARY, Catalog
from batos.mind.textindex import BigPostings, CatalogIndex, index_postings
from zope.index.text.lexicon import CaseNormalizer, Lexicon, Splitter, StopWordRemover

LONG = " ".join(
    f"Paragraph {i} explains how the living image keeps prototypes and their slots. "
    f"Every statement runs as one transaction that commits whole or not at all. "
    f"Topic {i % 4} adds detail about {['savepoints', 'lexicons', 'cloning', 'delegation'][i % 4]}."
    for i in range(30))




@pytest.fixture
def catalog(image):
    return image.globals["catalog"]


def test_awakening_makes_the_catalog_prototype(image, catalog):
    assert catalog.parents() == [image.globals["traits"]]
    for selector in ("index:text:", "index:text:metadata:", "search:", "search:k:",
                     "unindex:", "documents", "size", "summaryOf:", "zoom:", "forgetAll"):
        assert catalog.responds_to(selector), selector
    assert isinstance(engine(catalog), Catalog)
    assert image.globals["genesis"].responds_to("ingest_and_display_yourself")
    assert catalog.send("size") == 0 and catalog.send("documents") == []


def test_index_search_unindex(image, catalog):
    assert catalog.send("index:text:", "apples", "Apples grow on trees in the orchard.") == 1
    assert catalog.send("index:text:", "boats", "Boats float on the river water.") == 1
    hits = catalog.send("search:", "river")
    assert [h["doc"] for h in hits] == ["boats"]
    assert set(hits[0]) == {"doc", "chunk", "level", "score", "text", "id"}
    assert hits[0]["text"] == "Boats float on the river water." and hits[0]["score"] > 0
    assert catalog.send("documents") == ["apples", "boats"]
    assert catalog.send("unindex:", "boats") == 1
    assert catalog.send("search:", "river") == []
    assert catalog.send("documents") == ["apples"] and catalog.send("size") == 1
    assert len(engine(catalog)) == 1
    assert catalog.send("unindex:", "boats") == 0
    index = engine(catalog).text_index
    assert index.documentCount() == 1
    assert all(d2f for d2f in index._wordinfo.values())


def test_any_word_matches_so_a_missing_word_hides_nothing(catalog):
    catalog.send("index:text:", "a", "The orchard has apple trees.")
    catalog.send("index:text:", "b", "The harbour has fishing boats.")
    assert [h["doc"] for h in catalog.send("search:", "apple zeppelin quasar")] == ["a"]
    assert {h["doc"] for h in catalog.send("search:", "apple boats")} == {"a", "b"}
    assert catalog.send("search:", "zeppelin") == []
    assert catalog.send("search:", "the and of") == []  # stop words only


def test_ranking_prefers_rare_and_repeated_terms(catalog):
    catalog.send("index:text:", "common", "The system stores data. The system runs code.")
    catalog.send("index:text:", "rare", "The system is a frobnicator.")
    catalog.send("index:text:", "twice", "A frobnicator, then another frobnicator, the end.")
    catalog.send("index:text:", "noise", "The system system system logs.")
    hits = catalog.send("search:", "system frobnicator")
    docs = [h["doc"] for h in hits]
    assert docs.index("twice") < docs.index("common")
    assert docs[0] in ("rare", "twice")  # the rare word outweighs the common one
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len(catalog.send("search:k:", "system frobnicator", 2)) == 2


def test_fractal_summary_and_zoom(catalog, image):
    n = catalog.send("index:text:", "design", LONG)
    assert n >= 4
    cat = engine(catalog)
    frac = cat.fractal("design")
    assert frac.summary_id is not None and len(frac.summary) <= 400
    assert catalog.send("summaryOf:", "design") == frac.summary
    assert frac.summary.startswith("Paragraph 0 explains")
    chunks = catalog.send("zoom:", "design")
    assert [c["chunk"] for c in chunks] == list(range(n))
    assert all(LONG[c["start"]:c["end"]] == c["text"] for c in chunks)
    assert all(500 <= len(c["text"]) <= 800 for c in chunks[:-1])
    assert chunks[0]["start"] == 0 and chunks[-1]["end"] == len(LONG)
    summaries = cat.search("living image prototypes transaction", k=3, level=SUMMARY)
    assert [h["level"] for h in summaries] == ["summary"] and summaries[0]["doc"] == "design"
    assert all(h["level"] == "chunk" for h in cat.search("savepoints", k=10, level="chunk"))
    with pytest.raises(BatosError):
        catalog.send("zoom:", "nope")
    with pytest.raises(BatosError):
        cat.search("x", level="paragraph")


def test_metadata_and_replacing_a_document(catalog):
    n = catalog.send("index:text:metadata:", "notes", "Old words about zebras.",
                     {"title": "Field notes", "source": "me"})
    assert n == 1
    cat = engine(catalog)
    assert cat.fractal("notes").title == "Field notes"
    assert cat.fractal("notes").metadata == {"title": "Field notes", "source": "me"}
    catalog.send("index:text:", "notes", "New words about giraffes.")
    assert catalog.send("search:", "zebras") == []
    assert [h["doc"] for h in catalog.send("search:", "giraffes")] == ["notes"]
    assert catalog.send("size") == 1 and cat.fractal("notes").title == "New words about giraffes."
    assert len(cat) == 1
    with pytest.raises(BatosError):
        catalog.send("index:text:metadata:", "x", "text", 42)
    with pytest.raises(BatosError):
        catalog.send("index:text:", "", "text")


def test_indexing_is_atomic_a_failure_rolls_every_chunk_back(image, catalog, monkeypatch):
    catalog.send("index:text:", "keep", "Keep this sentence about lighthouses.")
    catalog.send("index:text:", "old", "The old version mentions walruses.")
    image.commit("setup")
    real = fractal_mod.index_postings

    def half_then_fail(index, docs):
        real(index, docs[: len(docs) // 2])  # half the chunks reach the index ...
        raise RuntimeError("disk on fire")   # ... then indexing dies

    catalog.send("index:text:", "other", "Another document about puffins.")
    monkeypatch.setattr(fractal_mod, "index_postings", half_then_fail)
    for doc_id in ("broken", "old"):  # a new document, and a replacement of an old one
        with pytest.raises(RuntimeError):
            catalog.send("index:text:", doc_id, LONG + " Unique word quokkaquokka.")
    monkeypatch.setattr(fractal_mod, "index_postings", real)
    image.commit("the transaction goes on after the caught failures")

    image.close()
    image = batos.open_image(image.path, read_only=True)
    catalog = image.globals["catalog"]
    cat = engine(catalog)
    assert catalog.send("documents") == ["keep", "old", "other"]
    assert catalog.send("size") == 3
    assert cat.lexicon.get_wid("quokkaquokka") == 0
    assert cat.text_index.documentCount() == 3
    assert len(cat) == 3 and cat.next_id == 4
    assert [h["doc"] for h in catalog.send("search:", "walruses")] == ["old"]
    assert catalog.send("search:", "savepoints delegation") == []
    assert [h["doc"] for h in catalog.send("search:", "puffins")] == ["other"]
    image.close()


def test_failure_without_a_catch_leaves_the_image_as_it_was(image, catalog, monkeypatch):
    catalog.send("index:text:", "keep", "Keep this sentence about lighthouses.")
    image.commit("setup")

    def fail(index, docs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fractal_mod, "index_postings", fail)
    with pytest.raises(RuntimeError):
        image.execute(lambda: catalog.send("index:text:", "x", LONG), note="index x")
    assert catalog.send("documents") == ["keep"]


def test_catalog_persists_across_reopen(tmp_path):
    path = tmp_path / "p.fs"
    with batos.open_image(path) as im:
        cat = im.globals["catalog"]
        cat.send("index:text:", "design", LONG)
        cat.send("index:text:", "short", "Delegation through parent slots.")
        before = cat.send("search:", "delegation savepoints")
        im.commit("index")
    with batos.open_image(path, read_only=True) as im:
        cat = im.globals["catalog"]
        assert cat.send("search:", "delegation savepoints") == before
        assert cat.send("documents") == ["design", "short"]
        assert len(cat.send("zoom:", "design")) == engine(cat).fractal("design").rows.__len__()
    with batos.open_image(path) as im:
        cat = im.globals["catalog"]
        cat.send("unindex:", "design")
        im.commit("unindex")
    with batos.open_image(path, read_only=True) as im:
        assert [h["doc"] for h in im.globals["catalog"].send("search:", "delegation")] == ["short"]


def test_long_posting_lists_get_their_own_records_and_survive_reopen(tmp_path):
    path = tmp_path / "big.fs"
    with batos.open_image(path) as im:
        cat = catalog_of(im)
        cat.add_many([(f"d{i}", f"common word number {i} and marker{i % 3}", None)
                      for i in range(600)])
        wid = cat.lexicon.get_wid("common")
        assert isinstance(cat.text_index._wordinfo[wid], BigPostings)
        for i in range(0, 600, 2):
            cat.remove(f"d{i}")
        im.commit("big")
    with batos.open_image(path) as im:
        cat = catalog_of(im)
        assert len(cat) == 300 and cat.size() == 300
        wid = cat.lexicon.get_wid("common")
        assert len(cat.text_index._wordinfo[wid]) == 300
        hits = cat.search("marker1 number", k=3)
        assert len(hits) == 3 and all(h["doc"][1:].isdigit() for h in hits)


def test_bulk_indexing_builds_what_index_doc_builds():
    from zope.index.text.lexicon import CaseNormalizer, Lexicon, Splitter, StopWordRemover
    from zope.index.text.okapiindex import OkapiIndex
    texts = [LONG, "Émile's café: naïve Straße, 42 things!", "the and of", "", "x " * 300]
    one = OkapiIndex(Lexicon(Splitter(), CaseNormalizer(), StopWordRemover()))
    for i, t in enumerate(texts, 1):
        one.index_doc(i, t)
    bulk = CatalogIndex(Lexicon(Splitter(), CaseNormalizer(), StopWordRemover()))
    index_postings(bulk, list(enumerate(texts[:2], 1)))
    index_postings(bulk, list(enumerate(texts[2:], 3)))
    assert dict(bulk._lexicon._wids.items()) == dict(one._lexicon._wids.items())
    assert {w: bulk.postings(w) for w in bulk._wordinfo.keys()} == \
        {w: dict(p.items()) for w, p in one._wordinfo.items()}
    assert dict(bulk._docweight.items()) == dict(one._docweight.items())
    assert bulk.documentCount() == one.documentCount() == 5
    assert bulk._totaldoclen() == one._totaldoclen()
    for i in range(1, 6):
        assert sorted(bulk.get_words(i)) == sorted(set(one.get_words(i)))
    assert dict(bulk.search("café things").items()) == dict(one.search("café things").items())
    single = CatalogIndex(Lexicon(Splitter(), CaseNormalizer(), StopWordRemover()))
    for i, t in enumerate(texts, 1):  # the one-document path is the bulk path
        single.index_doc(i, t)
    single.index_doc(2, texts[1])      # re-indexing replaces
    assert {w: single.postings(w) for w in single._wordinfo.keys()} == \
        {w: dict(p.items()) for w, p in one._wordinfo.items()}
    single.unindex_doc(1)
    assert single.documentCount() == 4 and not single.search("paragraph")


def test_bst_sends_reach_the_primitives(image):
    assert image.evaluate("catalog index: 'a' text: 'Hello world of prototypes.'") == 1
    hits = image.evaluate("catalog search: 'prototypes'")
    assert hits[0]["doc"] == "a"
    assert image.evaluate("catalog size") == 1


def test_grounding_never_fails(image, catalog, tmp_path):
    assert grounding(image, "displayYourself", 3) == []  # empty catalog
    assert grounding(None, "anything") == []
    catalog.send("index:text:", "notes", "To display yourself, print your description.")
    catalog.send("index:text:", "other", "Unrelated text about boats.")
    found = grounding(image, "genesis displayYourself", 3)
    assert found and found[0]["doc"] == "notes"
    assert found[0]["text"] == "To display yourself, print your description."
    assert grounding(image, "at:put:", 0) == []
    del image.globals["catalog"]
    assert grounding(image, "displayYourself") == []


def test_genesis_ingest_and_display_yourself(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "README.md").write_text(
        "# batos\n\nA live object world you talk to in Smalltalk syntax. "
        "The world is one persistent image file.\n")
    (project / "docs" / "memory.md").write_text(
        "# Fractal memory\n\nThe catalog remembers documents as summaries over chunks.\n")
    monkeypatch.chdir(project)
    with batos.open_image(tmp_path / "g.fs") as im:
        text = im.globals["genesis"].send("ingest_and_display_yourself")
        im.commit("ingest")
        assert text.startswith("I am genesis")
        assert "Smalltalk syntax" in text and "Fractal memory" in text
        assert catalog_of(im).documents() == ["README.md", "docs/memory.md"]
    monkeypatch.chdir(tmp_path)
    with batos.open_image(tmp_path / "empty" / "e.fs") as im:
        text = im.globals["genesis"].send("ingest_and_display_yourself")
        assert "no project README.md" in text


def test_an_older_image_gains_the_catalog_and_a_users_catalog_is_kept(tmp_path):
    path = tmp_path / "old.fs"
    with batos.open_image(path) as im:  # make it look like an image from before the catalog
        del im.root["globals"]["catalog"]
        im.root["awakening"].remove("catalog")
        im.commit("older")
    with batos.open_image(path) as im:
        assert "catalog" in im.root["awakening"]
        assert im.globals["catalog"].send("index:text:", "a", "Upgraded images remember.") == 1
        im.commit("use it")
        del im.root["globals"]["catalog"]
        im.globals["catalog"] = "my own catalog"  # a user's object of that name
        im.root["awakening"].remove("catalog")
        im.commit("user binds catalog")
    with batos.open_image(path) as im:
        assert im.globals["catalog"] == "my own catalog"
        assert catalog_of(im) is None and grounding(im, "remember") == []


def test_fractals_keep_everything_across_reopen(tmp_path):
    path = tmp_path / "f.fs"
    texts = {"one": "Just one chunk.", "padded": "   Padded one chunk.   ",
             "long": LONG, "empty": ""}
    with batos.open_image(path) as im:
        cat = catalog_of(im)
        seen = []
        for doc, text in texts.items():
            cat.add_many([(doc, text, {"title": f"T-{doc}", "n": 1})], progress=seen.append)
        assert seen == [1, 1, 1, 1]
        before = {d: cat.fractal(d).describe() for d in texts}
        chunks = {d: [c.describe() for c in cat.zoom(d)] for d in texts}
        im.commit("fractals")
    with batos.open_image(path, read_only=True) as im:
        cat = catalog_of(im)
        assert {d: cat.fractal(d).describe() for d in texts} == before
        assert {d: [c.describe() for c in cat.zoom(d)] for d in texts} == chunks
        assert before["empty"]["chunks"] == 0 and cat.size() == 2 + before["long"]["chunks"]
        assert [c.doc_id for c in cat.iter_chunks()].count("long") == before["long"]["chunks"] + 1
        first = cat.fractal("padded").first_id
        assert cat.chunk(first).text == "Padded one chunk."
        with pytest.raises(KeyError):
            cat.chunk(cat.next_id + 5)
        with pytest.raises(KeyError):
            cat.chunk(cat.fractal("empty").first_id)


def test_arguments_must_be_strings(catalog):
    with pytest.raises(BatosError):
        catalog.send("index:text:", 42, "text")
    with pytest.raises(BatosError):
        catalog.send("search:k:", "text", "five")
    from batos.lang.values import Symbol
    assert catalog.send("index:text:", Symbol("sym"), "Symbols are strings.") == 1
    assert catalog.send("documents") == ["sym"]


def test_a_catalog_of_another_layout_is_refused_not_misread(image, catalog):
    engine(catalog).version = 0  # as if made by an incompatible build
    with pytest.raises(BatosError, match="incompatible layout"):
        catalog.send("search:", "anything")
    assert grounding(image, "anything") == []
    assert catalog.send("forgetAll") is catalog
    catalog.send("index:text:", "a", "Fresh start.")
    assert [h["doc"] for h in catalog.send("search:", "fresh")] == ["a"]


def test_catalog_lexicon_numbers_words_without_a_reverse_map():
    from batos.mind.textindex import CatalogLexicon
    from zope.index.text.lexicon import CaseNormalizer, Splitter, StopWordRemover
    lex = CatalogLexicon(Splitter(), CaseNormalizer(), StopWordRemover())
    index = CatalogIndex(lex)
    index_postings(index, [(1, "alpha beta"), (2, "beta gamma")])
    assert lex.sourceToWordIds("gamma delta") == [3, 4]  # zope's one-word path goes on counting
    assert lex.get_wid("delta") == 4 and lex.get_word(4) == "delta" and lex.wids() == [1, 2, 3, 4]
    with pytest.raises(KeyError):
        lex.get_word(99)
    assert index.postings(2) == {1: 1, 2: 1}


def test_first_layout_values_still_read():
    """An image written by the first catalog layout (dict and two-array posting
    lists, fractals stored as objects) answers queries and can be updated."""
    from batos.mind.fractal import ContextFractal
    from batos.mind.textindex import encode_pairs
    cat = Catalog()
    cat.add_many([("a", "apples and pears", None), ("b", "pears and plums", None)])
    info, lex = cat.text_index._wordinfo, cat.lexicon
    pears = lex.get_wid("pears")
    info[pears] = {1: 1, 2: 1}                                  # an old small posting dict
    big = BigPostings()
    big.__setstate__((encode_pairs({1: 1})[:4], encode_pairs({1: 1})[4:]))  # old array pair
    info[lex.get_wid("apples")] = big
    cat.owners[1] = ContextFractal("a", [("apples and pears", 0, 16)], 1, None, None, 16)
    assert {h["doc"] for h in cat.search("pears")} == {"a", "b"}
    assert [h["doc"] for h in cat.search("apples")] == ["a"]
    assert cat.fractal("a").rows == (("apples and pears", 0, 16),)
    assert cat.remove("a") == 1 and [h["doc"] for h in cat.search("pears")] == ["b"]


def test_bulk_indexing_refuses_ids_already_indexed_or_given_twice():
    index = CatalogIndex(Lexicon(Splitter(), CaseNormalizer(), StopWordRemover()))
    index_postings(index, [(1, "alpha"), (2, "beta")])
    with pytest.raises(BatosError, match=r"already indexed"):
        index_postings(index, [(3, "gamma"), (2, "delta")])
    with pytest.raises(BatosError, match=r"given twice"):
        index_postings(index, [(4, "gamma"), (4, "delta")])
    assert index.documentCount() == 2
