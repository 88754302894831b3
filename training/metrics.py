"""Ranking metrics over full rankings (every catalog item is a candidate).

One relevant item per user (next-item protocol) or graded judgments (search). Cross-checked
against ranx in tests.
"""

from __future__ import annotations

import numpy as np

KS = (5, 10, 20, 50)


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among all items (ties count against the target)."""
    target_score = scores[np.arange(len(targets)), targets]
    return (scores > target_score[:, None]).sum(axis=1) + (
        (scores == target_score[:, None]).sum(axis=1) - 1)


def ndcg_per_user(ranks: np.ndarray, k: int) -> np.ndarray:
    """Each user's NDCG@k with one relevant item at 0-based `ranks`."""
    return np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)


def next_item_metrics(ranks: np.ndarray, topk_items: np.ndarray | None = None,
                      n_items: int | None = None, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """Recall@K (= HR@K with one target), NDCG@K, MRR; catalog coverage of the top-10 lists."""
    out: dict[str, float] = {}
    if len(ranks) == 0:
        return out
    for k in ks:
        hit = ranks < k
        out[f"recall@{k}"] = float(hit.mean())
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(ndcg_per_user(ranks, k).mean())
    out["mrr"] = float((1.0 / (ranks + 1.0)).mean())
    if topk_items is not None and n_items:
        out["coverage@10"] = float(len(np.unique(topk_items[:, :10])) / n_items)
    out["users"] = float(len(ranks))
    return out


def sample_negatives(seen: list[np.ndarray], n_items: int, n_negatives: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Per user, `n_negatives` distinct items drawn uniformly from those the user never
    interacted with (their `seen` items include the target): the sampled protocol of the
    papers, drawn once so every model and fusion method is ranked against the same items."""
    out = np.empty((len(seen), n_negatives), np.int64)
    for row, items in enumerate(seen):
        if n_items - len(np.unique(items)) < n_negatives:
            raise ValueError(f"a user has fewer than {n_negatives} never-interacted items")
        picked = np.empty(0, np.int64)
        while len(picked) < n_negatives:  # rejection: seen items are few beside the catalog
            draw = rng.integers(0, n_items, 2 * n_negatives)
            draw = draw[~np.isin(draw, items)]
            picked = np.concatenate([picked, draw])
            _, first = np.unique(picked, return_index=True)
            picked = picked[np.sort(first)]
        out[row] = picked[:n_negatives]
    return out


def sampled_ranks(scores: np.ndarray, targets: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """0-based rank of each target among itself and its row of `negatives` (a tie counts
    against the target)."""
    target_score = scores[np.arange(len(targets)), targets]
    return (np.take_along_axis(scores, negatives, 1) >= target_score[:, None]).sum(axis=1)


def ndcg_graded(ranked: list[list[str]], judged: list[dict[str, float]], k: int = 10) -> float:
    """Mean graded NDCG@k with linear gains (Järvelin & Kekäläinen; ranx's and trec_eval's
    'ndcg')."""
    values = []
    for run, rels in zip(ranked, judged):
        gains = np.array([float(rels.get(d, 0.0)) for d in run[:k]])
        dcg = float((gains / np.log2(np.arange(2, len(gains) + 2))).sum())
        ideal = np.sort(np.array([float(r) for r in rels.values()]))[::-1][:k]
        idcg = float((ideal / np.log2(np.arange(2, len(ideal) + 2))).sum())
        values.append(dcg / idcg if idcg > 0 else 0.0)
    return float(np.mean(values)) if values else 0.0
