"""Our ranking metrics equal ranx's (to 1e-6) on random full rankings; the sampled protocol is
pinned on a hand-computed case."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from shopfusion.training.metrics import (
    ndcg_graded,
    next_item_metrics,
    sample_negatives,
    sampled_ranks,
    target_ranks,
)


def ranx_scores(scores: np.ndarray, targets: np.ndarray, metrics: list[str]) -> dict:
    from ranx import Qrels, Run, evaluate

    qrels = Qrels({f"q{u}": {f"d{t}": 1} for u, t in enumerate(targets)})
    run = Run({f"q{u}": {f"d{i}": float(s) for i, s in enumerate(row)} for u, row in enumerate(scores)})
    return evaluate(qrels, run, metrics)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n_users=st.integers(1, 30), n_items=st.integers(2, 60))
def test_next_item_metrics_match_ranx(seed, n_users, n_items):
    rng = np.random.default_rng(seed)
    scores = rng.permutation(n_users * n_items).reshape(n_users, n_items).astype(float)  # no ties
    targets = rng.integers(0, n_items, n_users)
    ours = next_item_metrics(target_ranks(scores, targets), ks=(5, 10))
    theirs = ranx_scores(scores, targets, ["ndcg@5", "ndcg@10", "recall@10", "hit_rate@10", "mrr"])
    assert ours["ndcg@5"] == pytest.approx(theirs["ndcg@5"], abs=1e-6)
    assert ours["ndcg@10"] == pytest.approx(theirs["ndcg@10"], abs=1e-6)
    assert ours["recall@10"] == pytest.approx(theirs["recall@10"], abs=1e-6)
    assert ours["hr@10"] == pytest.approx(theirs["hit_rate@10"], abs=1e-6)
    assert ours["mrr"] == pytest.approx(theirs["mrr"], abs=1e-6)


def test_graded_ndcg_matches_ranx():
    from ranx import Qrels, Run, evaluate

    rng = np.random.default_rng(0)
    judged = [{f"d{i}": int(rng.integers(0, 4)) for i in rng.choice(30, 12, replace=False)}
              for _ in range(15)]
    ranked = [[f"d{i}" for i in rng.permutation(30)] for _ in range(15)]
    qrels = Qrels({f"q{q}": {d: r for d, r in j.items() if r > 0} for q, j in enumerate(judged)})
    run = Run({f"q{q}": {d: float(30 - p) for p, d in enumerate(r)} for q, r in enumerate(ranked)})
    expected = evaluate(qrels, run, "ndcg@10")
    assert ndcg_graded(ranked, judged, 10) == pytest.approx(expected, abs=1e-6)


def test_ties_count_against_the_target():
    scores = np.zeros((1, 5))
    assert target_ranks(scores, np.array([2]))[0] == 4


def test_sampled_metric_on_a_hand_computed_case():
    # 2 users, 6 items; user 0's target (item 1) beats negative 4 but not 2: rank 1, NDCG 1/log2(3);
    # user 1's target (item 5) ties negative 3 (ties count against it) and beats 0: rank 1 too.
    scores = np.array([[0.0, 0.5, 0.9, 0.0, 0.1, 0.0],
                       [0.2, 0.0, 0.0, 0.7, 0.0, 0.7]])
    negatives = np.array([[2, 4], [3, 0]])
    ranks = sampled_ranks(scores, np.array([1, 5]), negatives)
    assert ranks.tolist() == [1, 1]
    assert next_item_metrics(ranks, ks=(1, 2))["ndcg@2"] == pytest.approx(1 / np.log2(3))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(120, 400))
def test_negatives_are_distinct_and_never_interacted(seed, n_items):
    rng = np.random.default_rng(seed)
    seen = [rng.choice(n_items, rng.integers(1, 20), replace=False) for _ in range(30)]
    negatives = sample_negatives(seen, n_items, 100, np.random.default_rng(seed))
    assert negatives.shape == (30, 100)
    for row, items in zip(negatives, seen):
        assert len(np.unique(row)) == 100 and not np.isin(row, items).any()
        assert row.min() >= 0 and row.max() < n_items


def test_negatives_are_uniform_over_the_unseen_items():
    seen = [np.array([0, 1])] * 2000
    counts = np.bincount(sample_negatives(seen, 202, 100, np.random.default_rng(0)).ravel(), minlength=202)
    assert counts[:2].sum() == 0
    expected = 2000 * 100 / 200
    assert abs(counts[2:] - expected).max() < 5 * np.sqrt(expected)  # ~1000 +- 32 each


def test_sampled_ranks_never_exceed_the_sample():
    rng = np.random.default_rng(1)
    scores = rng.random((50, 200))
    targets = rng.integers(0, 200, 50)
    negatives = sample_negatives([np.array([t]) for t in targets], 200, 100, rng)
    ranks = sampled_ranks(scores, targets, negatives)
    assert ranks.min() >= 0 and ranks.max() <= 100
    assert (ranks <= target_ranks(scores, targets)).all()
