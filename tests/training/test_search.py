"""Hybrid search over the catalog, scored with the generator's graded judgments."""

import numpy as np
import pandas as pd
import pytest

from shopfusion.training.search import HybridSearch, evaluate_search


def word_vectors(texts: list[str], vocab: dict[str, int]) -> np.ndarray:
    """A stand-in encoder (bag of words, unit length): MiniLM itself is tested in tests/features."""
    out = np.zeros((len(texts), len(vocab)), np.float32)
    for r, t in enumerate(texts):
        for w in t.lower().split():
            if w in vocab:
                out[r, vocab[w]] += 1
    return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


@pytest.fixture(scope="module")
def search(small_shop):
    cat = small_shop.catalog
    text = (cat["title"] + " " + cat["description"]).str.lower()
    vocab = {w: i for i, w in enumerate(sorted({w for t in text for w in t.split()}))}
    emb = word_vectors(text.tolist(), vocab)
    return HybridSearch(cat["title"], cat["description"], emb, lambda q: word_vectors(q, vocab))


def test_search_finds_the_named_kind_of_item(search, small_shop):
    scores = search.scores(["wireless headphones"])
    top = small_shop.catalog.iloc[np.argsort(-scores[0])[:5]]
    assert scores.shape == (1, len(small_shop.catalog))
    assert (top["category_path"] == "Electronics/headphones").all()


def test_hybrid_is_judged_with_graded_ndcg(search, small_shop):
    result = evaluate_search(search, small_shop.judgments, pd.Index(small_shop.catalog["item_id"]))
    assert result["queries_reported"] >= 15
    assert 0 < result["bm25"] <= 1 and 0 < result["embedding"] <= 1
    assert result["hybrid"] >= 0.9 * max(result["bm25"], result["embedding"])


def test_personalisation_reorders_results(search, small_shop):
    n = len(small_shop.catalog)
    personal = np.zeros((1, n), np.float32)
    personal[0, 7] = 100.0
    base = search.scores(["kettle"])
    boosted = search.scores(["kettle"], personal=personal, personal_weight=1.0)
    assert base[0].argmax() != 7 and boosted[0].argmax() == 7


def test_a_query_of_only_stopwords_still_ranks(search):
    scores = search.scores(["the and of"])  # no BM25 token left: embeddings alone rank
    assert scores.shape[0] == 1 and np.isfinite(scores).all()


@pytest.mark.parametrize("personal_item", [None, 7])
def test_candidates_rank_like_the_whole_catalog(search, small_shop, personal_item):
    personal = None
    if personal_item is not None:
        personal = np.zeros(len(small_shop.catalog), np.float32)
        personal[personal_item] = 100.0
    for query in small_shop.judgments["query"].drop_duplicates().head(20):
        full = search.scores([query], None if personal is None else personal[None], 0.3)[0]
        items, fused = search.candidates(query, 50, personal, 0.3)
        np.testing.assert_allclose(fused, full[items], rtol=1e-4, atol=1e-4)
        # the same ten best scores (the toy encoder ties many items: compare scores, not ids)
        np.testing.assert_allclose(np.sort(fused)[-10:], np.sort(full)[-10:], rtol=1e-4, atol=1e-4)
