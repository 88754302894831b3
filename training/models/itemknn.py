"""Item-to-item co-occurrence (item-kNN): items that follow or share a session with the
user's recent items. Sparse counts, cosine-normalised, top-k neighbours kept per item."""

from __future__ import annotations

import numpy as np

from shopfusion.training.data import Dataset, Interactions
from shopfusion.training.models.base import Recommender, history_matrix


class ItemKNN(Recommender):
    name = "itemknn"

    def __init__(self, window: int = 3, neighbours: int = 100, history_decay: float = 0.7,
                 direction_weight: float = 2.0):
        self.window = window  # steps apart in a session that still count as co-occurring
        self.neighbours = neighbours
        self.history_decay = history_decay
        self.direction_weight = direction_weight  # a -> b (b after a) counts this much more
        self.sim = None

    def fit(self, train: Interactions, data: Dataset) -> None:
        from scipy import sparse

        order = np.lexsort((train.ts, train.session))
        s, it = train.session[order], train.item[order]
        step = np.r_[True, (s[1:] != s[:-1]) | (it[1:] != it[:-1])]
        s, it = s[step], it[step]
        rows, cols, vals = [], [], []
        for gap in range(1, self.window + 1):
            same = s[gap:] == s[:-gap]
            a, b = it[:-gap][same], it[gap:][same]
            w = 1.0 / gap
            rows += [a, b]
            cols += [b, a]
            vals += [np.full(len(a), w * self.direction_weight), np.full(len(a), w)]
        n = train.n_items
        co = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(n, n))
        co.setdiag(0)
        co.eliminate_zeros()
        norm = np.sqrt(np.asarray(co.sum(axis=1)).ravel() + 1.0)
        self.sim = _top_k(sparse.diags(1 / norm) @ co @ sparse.diags(1 / norm), self.neighbours)

    def sparse_scores(self, history: list[np.ndarray]):
        """(users, n_items) CSR: only items near the history score above zero."""
        return (history_matrix(history, self.sim.shape[0], self.history_decay) @ self.sim).tocsr()

    def score(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        return np.asarray(self.sparse_scores(history).todense(), dtype=np.float32)

    def view(self, users: np.ndarray, history: list[np.ndarray], depth: int):
        from shopfusion.training.views import sparse_view

        return sparse_view(self.sparse_scores(history), depth)


def _top_k(m, k: int):
    """Keep each row's k largest entries."""
    from scipy import sparse

    m = m.tocsr()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        if hi == lo:
            continue
        keep = np.argsort(-m.data[lo:hi])[:k]
        rows.append(np.full(len(keep), r))
        cols.append(m.indices[lo:hi][keep])
        vals.append(m.data[lo:hi][keep])
    if not rows:
        return sparse.csr_matrix(m.shape, dtype=np.float32)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=m.shape, dtype=np.float32)
