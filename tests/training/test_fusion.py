"""Fusion functions: pure, scale-free, and able to beat their inputs."""

import numpy as np
import pytest

from shopfusion.training.fusion import rank_fusion, top_ranks, tune_weights, weighted, zscore
from shopfusion.training.metrics import next_item_metrics, target_ranks
from shopfusion.training.stacker import Stacker, candidates


def ndcg(scores, targets):
    return next_item_metrics(target_ranks(scores, targets), ks=(10,))["ndcg@10"]


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
        fused = weighted(scores, {"a": 1.0, "b": 1.0})
        np.testing.assert_allclose(fused, zscore(scores["a"]) + zscore(scores["b"]), rtol=1e-6)
        assert ndcg(fused, targets) > 1.2 * max(ndcg(s, targets) for s in scores.values())


@pytest.mark.parametrize("method", ["rrf", "borda"])
def test_rank_fusion_beats_each_model(two_weak_views, method):
    scores, targets = two_weak_views
    fused = rank_fusion(scores, method, depth=50)
    assert ndcg(fused, targets) > 1.2 * max(ndcg(s, targets) for s in scores.values())


def test_rank_fusion_counts_only_top_lists():
    scores = {"m": np.array([[3.0, 2.0, 1.0, 0.0]])}
    np.testing.assert_allclose(rank_fusion(scores, "borda", depth=2), [[2.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(rank_fusion(scores, "rrf", depth=2, k=1), [[1 / 2, 1 / 3, 0, 0]])


def test_top_ranks_are_sorted():
    rng = np.random.default_rng(3)
    s = rng.random((5, 40))
    items, ranks = top_ranks(s, 10)
    np.testing.assert_array_equal(items, np.argsort(-s, axis=1)[:, :10])


def test_tuning_drops_a_useless_model(two_noisy_experts):
    scores, targets = two_noisy_experts
    scores = {**scores, "noise": np.random.default_rng(9).normal(size=scores["b"].shape)}
    weights = tune_weights(scores, lambda s: ndcg(s, targets))
    assert weights["noise"] < min(weights["a"], weights["b"])


def test_stacker_learns_which_model_to_trust(two_noisy_experts):
    scores, targets = two_noisy_experts
    half = len(targets) // 2
    item_feats = np.zeros((scores["a"].shape[1], 1), np.float32)
    # a context feature (history length) tells which expert knows this user
    hist = (np.arange(len(targets)) < half).astype(np.float32)
    train = slice(0, None, 2)
    test = slice(1, None, 2)
    stacker = Stacker(depth=30, n_estimators=100).fit(
        {k: v[train] for k, v in scores.items()}, targets[train], item_feats, hist[train])
    fused = stacker.score({k: v[test] for k, v in scores.items()}, item_feats, hist[test])
    assert ndcg(fused, targets[test]) > max(ndcg(s[test], targets[test]) for s in scores.values())
    cand = candidates([top_ranks(v[test], 30)[0] for v in scores.values()])
    outside = np.ones(fused.shape, bool)
    rows = np.repeat(np.arange(len(cand)), cand.shape[1]).reshape(cand.shape)
    outside[rows[cand >= 0], cand[cand >= 0]] = False
    assert np.isneginf(fused[outside]).all() and np.isfinite(fused[~outside]).all()
