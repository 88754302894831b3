"""Our ranking metrics equal ranx's (to 1e-6) on random full rankings."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from shopfusion.training.metrics import (
    ndcg_graded,
    next_item_metrics,
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


def test_sampled_ranks_never_exceed_the_sample():
    rng = np.random.default_rng(1)
    scores = rng.random((50, 200))
    targets = rng.integers(0, 200, 50)
    ranks = sampled_ranks(scores, targets, 100, rng)
    assert ranks.min() >= 0 and ranks.max() <= 100
    assert (ranks <= target_ranks(scores, targets)).all()
