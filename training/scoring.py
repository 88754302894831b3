"""Fit the models once, then score the evaluated users in chunks: no (users, items) matrix of
all users has to fit in memory (30k users x 25k items is 3 GB per model and per fusion method).
What the metrics need of each scorer (target ranks, top-10 lists, ranks among the sampled
negatives) is kept per user and gathered across chunks; the figures are those of one pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from shopfusion.config import TrainConfig
from shopfusion.progress import track
from shopfusion.training.data import Dataset, Split
from shopfusion.training.fusion import top_items
from shopfusion.training.metrics import ndcg_per_user, next_item_metrics, sampled_ranks, target_ranks
from shopfusion.training.registry import build_model


@dataclass
class Fitted:
    """The models fit before a split's cut, their fit times and (early stopping) epochs kept."""

    models: dict
    fit_seconds: dict[str, float]
    epochs: dict[str, int]
    warm: list[str] = field(default_factory=list)  # the models that continued an earlier fit


def fit_models(names: list[str], split: Split, data: Dataset, cfg: TrainConfig, stop=None,
               warm: dict | None = None) -> Fitted:
    """Fit each model on the split's training events (`stop`: early stopping for torch models;
    `warm`: earlier fits of some of them to continue, training/warm.py)."""
    out = Fitted({}, {}, {})
    for name in track(names, f"fitting ({split.name})"):
        model = build_model(name, cfg)
        if stop is not None and hasattr(model, "early_stopping"):
            model.early_stopping(stop)
        if warm and name in warm and hasattr(model, "warm_start"):
            model.warm_start(warm[name])
        t0 = time.perf_counter()
        model.fit(split.train, data)
        out.fit_seconds[name] = time.perf_counter() - t0
        if stop is not None and getattr(model, "epochs_used", None) is not None:
            out.epochs[name] = model.epochs_used
        out.models[name] = model
        if getattr(model, "warm_from", False):
            out.warm.append(name)
    return out


@dataclass
class Chunk:
    rows: np.ndarray  # positions in the split's user list
    scores: dict[str, np.ndarray]  # model -> (rows, n_items)
    views: dict  # model -> its view (what fusion reads)


def chunk_rows(n_items: int, cfg: TrainConfig) -> int:
    """Users scored at once: about eval_chunk_cells scores per model."""
    return max(1, cfg.eval_chunk_cells // max(n_items, 1))


def score_chunks(fitted: Fitted, split: Split, depth: int, rows_per_chunk: int) -> Iterator[Chunk]:
    """Every model's scores and views, `rows_per_chunk` evaluated users at a time."""
    for start in range(0, len(split.users), rows_per_chunk):
        rows = np.arange(start, min(len(split.users), start + rows_per_chunk))
        users, history = split.users[rows], [split.history[r] for r in rows]
        yield Chunk(rows, {n: m.score(users, history) for n, m in fitted.models.items()},
                    {n: m.view(users, history, depth) for n, m in fitted.models.items()})


@dataclass
class Ranked:
    """One scorer's per-user results over the evaluated users, gathered chunk by chunk."""

    ranks: list[np.ndarray] = field(default_factory=list)  # the target's full-catalog rank
    top: list[np.ndarray] = field(default_factory=list)  # top-10 items
    sampled: list[np.ndarray] = field(default_factory=list)  # rank among the sampled negatives

    def add(self, scores: np.ndarray, targets: np.ndarray, negatives: np.ndarray) -> None:
        self.ranks.append(target_ranks(scores, targets))
        self.top.append(top_items(scores, 10))
        self.sampled.append(sampled_ranks(scores, targets, negatives))

    @property
    def all_ranks(self) -> np.ndarray:
        return np.concatenate(self.ranks) if self.ranks else np.zeros(0, np.int64)

    def ndcg10_per_user(self) -> np.ndarray:
        return ndcg_per_user(self.all_ranks, 10)

    def metrics(self, n_items: int, n_negatives: int, slices: dict[str, np.ndarray]) -> dict:
        """Recall/HR/NDCG@K, MRR and coverage (full ranking), HR/NDCG@10 among the sampled
        negatives, and NDCG@10 on each slice of users (a boolean mask)."""
        ranks = self.all_ranks
        top = np.concatenate(self.top) if self.top else np.zeros((0, 10), np.int64)
        out = next_item_metrics(ranks, top, n_items)
        if self.sampled:
            out.update({f"sampled{n_negatives}_{k}": v for k, v in next_item_metrics(
                np.concatenate(self.sampled), ks=(10,)).items() if k in ("hr@10", "ndcg@10")})
        for name, mask in slices.items():
            if mask.any():
                out[f"{name}_ndcg@10"] = float(ndcg_per_user(ranks[mask], 10).mean())
                out[f"{name}_users"] = float(mask.sum())
        return out
