"""Text-semantic recommender: items close, in MiniLM space, to what the user just looked at.

Reaches cold-start items that no behavioural model has seen; the embeddings come from the
feature store's `item_text` table.
"""

from __future__ import annotations

import numpy as np

from shopfusion.training.data import Dataset, Interactions
from shopfusion.training.models.base import Factored, history_matrix


class TextRecommender(Factored):
    name = "text"

    def __init__(self, history_decay: float = 0.7):
        self.history_decay = history_decay
        self.emb = None

    def fit(self, train: Interactions, data: Dataset) -> None:
        self._vectors = None  # item statistics of an earlier fit
        if data.item_text is None:
            raise ValueError("text model needs item text embeddings (data/features/item_text.parquet)")
        self.emb = data.item_text

    def queries(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        profile = np.asarray(history_matrix(history, len(self.emb), self.history_decay) @ self.emb,
                             dtype=np.float32)  # float64 here would copy the catalog per call
        return profile / (np.linalg.norm(profile, axis=1, keepdims=True) + 1e-9)

    def item_matrix(self) -> np.ndarray:
        return self.emb
