"""Popularity with time decay: the baseline every other result is compared to."""

from __future__ import annotations

import numpy as np

from shopfusion.training.data import Dataset, Interactions
from shopfusion.training.models.base import Recommender

DAY = 86_400.0


class Popularity(Recommender):
    name = "popularity"

    def __init__(self, half_life_days: float = 7.0):
        self.half_life_days = half_life_days
        self.item_score = np.zeros(0, np.float32)

    def fit(self, train: Interactions, data: Dataset) -> None:
        age_days = (train.ts.max() - train.ts) / DAY
        w = train.weight * 0.5 ** (age_days / self.half_life_days)
        self.item_score = np.bincount(train.item, weights=w, minlength=train.n_items).astype(np.float32)
        self._order = None

    def score(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.item_score, (len(users), len(self.item_score))).copy()

    def view(self, users: np.ndarray, history: list[np.ndarray], depth: int):
        """The same for everyone: statistics and ranking computed once."""
        from shopfusion.training.views import View

        if getattr(self, "_order", None) is None:
            self._order = np.argsort(-self.item_score, kind="stable")
        n = len(users)
        return View(np.full(n, self.item_score.mean(dtype=np.float64)),
                    np.full(n, self.item_score.std(dtype=np.float64)),
                    np.broadcast_to(self._order[:depth], (n, min(depth, len(self._order)))),
                    lambda items: self.item_score[items])
