"""The contract every recommender keeps: fit on interactions, score the whole catalog."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from shopfusion.training.data import Dataset, Interactions


class Recommender(ABC):
    name: str = "base"

    @abstractmethod
    def fit(self, train: Interactions, data: Dataset) -> None:
        """Learn from `train` only (the data set gives catalog side information)."""

    @abstractmethod
    def score(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        """(len(users), n_items) float32 scores; `history` is each user's recent items."""

    def view(self, users: np.ndarray, history: list[np.ndarray], depth: int):
        """What fusion reads of the scores (training/views.py); by default from the full matrix."""
        from shopfusion.training.views import dense_view

        return dense_view(self.score(users, history), depth)

    def state(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def save(self, path: Path) -> None:
        import torch

        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state(), path)

    def load(self, path: Path) -> Recommender:
        import torch

        # onto the CPU: an artifact trained on a GPU box must load where serving has none;
        # scoring moves the module to the local device on first use
        vars(self).update(torch.load(path, map_location="cpu", weights_only=False))
        return self


class Factored(Recommender):
    """score = query . item vector. Fusion then gets exact score statistics and top lists
    (HNSW for large catalogs) without the (users, n_items) matrix. Fit once per instance: the
    item statistics are cached on first use."""

    @abstractmethod
    def queries(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        """(len(users), D) float32."""

    @abstractmethod
    def item_matrix(self) -> np.ndarray:
        """(n_items, D)."""

    @property
    def vectors(self):
        if getattr(self, "_vectors", None) is None:
            from shopfusion.training.views import ItemVectors

            self._vectors = ItemVectors(self.item_matrix())
        return self._vectors

    def score(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        return self.queries(users, history) @ self.vectors.vectors.T

    def view(self, users: np.ndarray, history: list[np.ndarray], depth: int):
        return self.vectors.view(self.queries(users, history), depth)


def history_matrix(history: list[np.ndarray], n_items: int, decay: float):
    """Sparse (users, items) matrix: most recent item weight 1, then decay, decay^2, ..."""
    from scipy import sparse

    rows = np.repeat(np.arange(len(history)), [len(h) for h in history])
    cols = np.concatenate(history) if history else np.zeros(0, np.int64)
    ages = np.concatenate([np.arange(len(h))[::-1] for h in history]) if history else cols
    # float32 like the item matrices it multiplies: float64 would upcast a copy of them per call
    return sparse.csr_matrix(((decay ** ages.astype(np.float64)).astype(np.float32), (rows, cols)),
                             shape=(len(history), n_items))
