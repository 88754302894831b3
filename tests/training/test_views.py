"""Each model's view (what fusion reads) agrees with its full score matrix, and HNSW finds
what exact search finds."""

import numpy as np
import pytest

from shopfusion.training.views import ItemVectors
from tests.training.conftest import MODELS


@pytest.mark.parametrize("name", MODELS)
def test_view_matches_the_full_scores(fitted, split, name):
    users, history = split.users[:40], split.history[:40]
    scores = fitted[name].score(users, history)
    view = fitted[name].view(users, history, 30)
    np.testing.assert_allclose(view.mean, scores.mean(1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(view.std, scores.std(1), rtol=1e-3, atol=1e-5)
    listed = view.top >= 0
    top_scores = np.take_along_axis(scores, np.maximum(view.top, 0), 1)
    thirtieth = np.sort(scores, 1)[:, -30]
    # best first, and nothing left out scores above the list (ties aside)
    assert (np.diff(np.where(listed, top_scores, -np.inf), axis=1) <= 1e-5).all()
    assert (top_scores[listed] >= np.repeat(thirtieth, listed.sum(1)) - 1e-5).all()
    if name == "itemknn":  # a sparse top list holds only positive scores
        assert (top_scores[listed] > 0).all() and (listed.sum(1) == np.minimum((scores > 0).sum(1), 30)).all()
    else:
        assert listed.all()
    probe = np.random.default_rng(0).integers(0, scores.shape[1], (40, 25))
    np.testing.assert_allclose(view.at(probe), np.take_along_axis(scores, probe, 1), rtol=1e-4, atol=1e-5)
    z = (scores - scores.mean(1, keepdims=True)) / (scores.std(1, keepdims=True) + 1e-9)
    np.testing.assert_allclose(view.z(probe), np.take_along_axis(z, probe, 1), rtol=1e-3, atol=1e-3)


def test_hnsw_finds_what_exact_search_finds():
    rng = np.random.default_rng(1)
    vectors = ItemVectors(rng.normal(size=(5000, 16)).astype(np.float32))
    queries = rng.normal(size=(50, 16)).astype(np.float32)
    exact = vectors.search(queries, 20)
    vectors.build_index(m=32, ef_construction=80, ef_search=128)
    approx = vectors.search(queries, 20)
    recall = np.mean([len(set(a) & set(e)) / 20 for a, e in zip(approx, exact)])
    assert recall > 0.9, recall
    np.testing.assert_array_equal(vectors.search(queries, 20, exact=True), exact)
