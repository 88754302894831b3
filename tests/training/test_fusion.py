"""Fusion functions: pure, scale-free, and able to beat their inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shopfusion.training.fusion import (
    candidate_target_ranks,
    candidates,
    dense,
    rank_fusion,
    top_items,
    tune_weights,
    weighted,
    zscore,
)
from shopfusion.training.metrics import next_item_metrics, target_ranks
from shopfusion.training.stacker import Stacker
from shopfusion.training.views import dense_view


def ndcg(scores, targets):
    return next_item_metrics(target_ranks(scores, targets), ks=(10,))["ndcg@10"]


def fused(scores, depth, fuse):
    """(users, items) scores of `fuse(candidates)` over each matrix's top-`depth` lists."""
    cand = candidates({n: dense_view(s, depth) for n, s in scores.items()}, depth)
    return dense(cand.items, fuse(cand), next(iter(scores.values())).shape[1])


def two_models(seed: int, knows_a: np.ndarray, knows_b: np.ndarray, signal: float):
    """Two noisy score matrices (400 users x 300 items, wildly different scales) that lift the
    target by `signal` for the users each one knows."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 300, 400)
    a, b = rng.normal(size=(2, 400, 300))
    a[knows_a, targets[knows_a]] += signal
    b[knows_b, targets[knows_b]] += signal
    return {"a": a * 100, "b": b}, targets


@pytest.fixture
def two_noisy_experts():
    """Each model knows the target for a different half of the users."""
    half = np.arange(400) < 200
    return two_models(0, np.flatnonzero(half), np.flatnonzero(~half), 4.0)


@pytest.fixture
def two_weak_views():
    """Both models see every target faintly, through independent noise."""
    return two_models(1, np.arange(400), np.arange(400), 2.5)


def test_weighted_fusion_is_scale_free_and_beats_each_model(two_noisy_experts, two_weak_views):
    for scores, targets in (two_noisy_experts, two_weak_views):
        # every item a candidate: exactly the sum of z-scores over the catalog
        everything = fused(scores, 300, lambda c: weighted(c, {"a": 1.0, "b": 1.0}))
        np.testing.assert_allclose(everything, zscore(scores["a"]) + zscore(scores["b"]),
                                   rtol=1e-5, atol=1e-5)
        top50 = fused(scores, 50, lambda c: weighted(c, {"a": 1.0, "b": 1.0}))
        assert ndcg(top50, targets) > 1.2 * max(ndcg(s, targets) for s in scores.values())


@pytest.mark.parametrize("method", ["rrf", "borda"])
def test_rank_fusion_beats_each_model(two_weak_views, method):
    scores, targets = two_weak_views
    out = fused(scores, 50, lambda c: rank_fusion(c, method))
    assert ndcg(out, targets) > 1.2 * max(ndcg(s, targets) for s in scores.values())


def test_rank_fusion_counts_only_top_lists():
    scores = {"m": np.array([[3.0, 2.0, 1.0, 0.0]])}
    np.testing.assert_allclose(fused(scores, 2, lambda c: rank_fusion(c, "borda")),
                               [[2.0, 1.0, -np.inf, -np.inf]])
    np.testing.assert_allclose(fused(scores, 2, lambda c: rank_fusion(c, "rrf", k=1)),
                               [[1 / 2, 1 / 3, -np.inf, -np.inf]])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(2, 30)),
              elements=st.floats(-5, 5, width=32)),
       arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(2, 30)),
              elements=st.floats(-5, 5, width=32)),
       st.integers(1, 12), st.data())
def test_candidates_rank_every_item_of_every_top_list(a, b, depth, data):
    b = np.resize(b, a.shape)
    views = {"a": dense_view(a, depth), "b": dense_view(b, depth)}
    cand = candidates(views, depth)
    for row in range(a.shape[0]):
        items = cand.items[row][cand.valid[row]]
        tops = {n: views[n].top[row].tolist() for n in views}
        assert set(items.tolist()) == set(tops["a"]) | set(tops["b"])
        for n, top in tops.items():
            want = [top.index(i) if i in top else depth for i in items]
            assert cand.rank[n][row][cand.valid[row]].tolist() == want
    targets = np.array([data.draw(st.integers(0, a.shape[1] - 1)) for _ in range(a.shape[0])])
    scores = weighted(cand, {"a": 1.0, "b": 0.5})
    np.testing.assert_array_equal(candidate_target_ranks(cand, scores, targets, a.shape[1]),
                                  _ranks_or_missing(dense(cand.items, scores, a.shape[1]), targets))


def _ranks_or_missing(full, targets):
    """target_ranks, but n_items for a target outside the candidates (-inf)."""
    ranks = target_ranks(full, targets)
    return np.where(np.isneginf(full[np.arange(len(targets)), targets]), full.shape[1], ranks)


def test_top_items_are_the_best_first():
    rng = np.random.default_rng(3)
    s = rng.random((5, 40))
    np.testing.assert_array_equal(top_items(s, 10), np.argsort(-s, axis=1)[:, :10])


def test_tuning_drops_a_useless_model(two_noisy_experts):
    scores, targets = two_noisy_experts
    scores = {**scores, "noise": np.random.default_rng(9).normal(size=scores["b"].shape)}
    cand = candidates({n: dense_view(s, 50) for n, s in scores.items()}, 50)
    weights = tune_weights(cand, lambda f: ndcg(dense(cand.items, f, 300), targets))
    assert weights["noise"] < min(weights["a"], weights["b"])


@pytest.mark.parametrize("seed", range(4))
def test_tuned_weights_never_score_below_the_best_single_model(seed):
    """Each model alone is a starting point, so the tuned sum is at least as good as it on the
    tuning objective, even beside many weak models that an all-equal start would drown in."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 300, 300)
    scores = {f"weak{i}": rng.normal(size=(300, 300)) for i in range(4)}
    strong = rng.normal(size=(300, 300))
    strong[np.arange(300), targets] += 2.0
    scores["strong"] = strong
    cand = candidates({n: dense_view(s, 50) for n, s in scores.items()}, 50)

    def objective(f):
        return ndcg(dense(cand.items, f, 300), targets)

    weights = tune_weights(cand, objective)
    alone = {n: objective(weighted(cand, {n: 1.0})) for n in scores}
    assert objective(weighted(cand, weights)) >= max(alone.values()) - 1e-12
    assert weights["strong"] >= 8 * max(weights[f"weak{i}"] for i in range(4))


def test_stacker_learns_which_model_to_trust(two_noisy_experts):
    scores, targets = two_noisy_experts
    half = len(targets) // 2
    item_feats = np.zeros((scores["a"].shape[1], 1), np.float32)
    # a context feature (history length) tells which expert knows this user
    hist = (np.arange(len(targets)) < half).astype(np.float32)

    def cand(rows):
        return candidates({k: dense_view(v[rows], 30) for k, v in scores.items()}, 30)

    train, test = slice(0, None, 2), slice(1, None, 2)
    stacker = Stacker(depth=30, n_estimators=100).fit(cand(train), targets[train], item_feats, hist[train])
    test_cand = cand(test)
    out = dense(test_cand.items, stacker.score(test_cand, item_feats, hist[test]), 300)
    assert ndcg(out, targets[test]) > max(ndcg(s[test], targets[test]) for s in scores.values())
    outside = np.ones(out.shape, bool)
    rows = np.broadcast_to(np.arange(len(out))[:, None], test_cand.items.shape)
    outside[rows[test_cand.valid], test_cand.items[test_cand.valid]] = False
    assert np.isneginf(out[outside]).all() and np.isfinite(out[~outside]).all()
