"""One model's scores for a batch of users, without the (users, n_items) score matrix.

Fusion needs three things of each model: each user's mean and standard deviation over the
whole catalog (for z-scores), the best `depth` items, and the exact scores of a few hundred
candidates. A factored model (score = query . item vector) gives the first exactly from its
item matrix's mean and covariance, the second from a nearest-neighbour index (HNSW, faiss) or
a brute-force pass, the third from the candidates' vectors: a 100k-item catalog is then not
read per request. The offline evaluation fuses through the same views (exact top lists), so
the figures it reports are computed the way the service computes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from shopfusion.training.fusion import top_items

SEARCH_CHUNK = 512  # users per brute-force pass: 512 x 100k float32 scores = 200 MB


@dataclass
class View:
    mean: np.ndarray  # (B,) each user's mean score over the catalog
    std: np.ndarray  # (B,) and standard deviation
    top: np.ndarray  # (B, depth) best items, best first; -1 pads a shorter list
    at: Callable[[np.ndarray], np.ndarray]  # (B, C) item positions -> (B, C) scores
    query: np.ndarray | None = None  # (B, D) for factored models: other item sets can be searched

    def z(self, items: np.ndarray) -> np.ndarray:
        """z-scores at (B, C) item positions (pads, -1, read item 0: mask them)."""
        return (self.at(np.maximum(items, 0)) - self.mean[:, None]) / (self.std[:, None] + 1e-9)


def dense_view(scores: np.ndarray, depth: int) -> View:
    """From a full score matrix (models without a factored form)."""
    return View(scores.mean(1, dtype=np.float64), scores.std(1, dtype=np.float64),
                top_items(scores, depth), lambda items: np.take_along_axis(scores, items, 1))


def sparse_view(scores, depth: int) -> View:
    """From a sparse (B, n_items) CSR matrix whose missing entries are zeros (item-kNN):
    the statistics count the zeros, the top list holds only positive scores."""
    n = scores.shape[1]
    total = np.asarray(scores.sum(axis=1), np.float64).ravel()
    squares = np.asarray(scores.multiply(scores).sum(axis=1), np.float64).ravel()
    mean = total / n
    top = np.full((scores.shape[0], depth), -1, np.int64)
    for r in range(scores.shape[0]):
        lo, hi = scores.indptr[r], scores.indptr[r + 1]
        best = np.argsort(-scores.data[lo:hi], kind="stable")[:depth]
        best = best[scores.data[lo:hi][best] > 0]
        top[r, : len(best)] = scores.indices[lo:hi][best]

    def at(items: np.ndarray) -> np.ndarray:
        rows = np.broadcast_to(np.arange(items.shape[0])[:, None], items.shape)
        return np.asarray(scores[rows.ravel(), items.ravel()], np.float32).reshape(items.shape)

    return View(mean, np.sqrt(np.maximum(squares / n - mean**2, 0)), top, at)


class ItemVectors:
    """An item matrix and what fusion needs of it, computed once: the mean and covariance of
    its rows (exact per-user score statistics, since a score is linear in the item vector) and
    optionally an HNSW index for the top list."""

    def __init__(self, vectors: np.ndarray):
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = None

    @cached_property
    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the rows (float64), on first use: a matrix that is only
        searched (the cold-item index, offline search) never pays for them."""
        v = self.vectors.astype(np.float64)
        mean = v.mean(0)
        centred = v - mean
        return mean, centred.T @ centred / len(v)

    def build_index(self, m: int, ef_construction: int, ef_search: int) -> None:
        """HNSW over inner product, built on every core (searches keep the caller's thread
        setting); its recall against exact search is in benchmarks/RESULTS.md."""
        import os

        import faiss

        index = faiss.IndexHNSWFlat(self.vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        try:
            index.add(self.vectors)
        finally:
            faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = ef_search
        self.index = index

    def search(self, queries: np.ndarray, depth: int, exact: bool = False) -> np.ndarray:
        """(B, depth) best items per query, best first (-1 pads)."""
        depth = min(depth, len(self.vectors))
        if self.index is not None and not exact:
            return self.index.search(queries, depth)[1].astype(np.int64)
        return np.concatenate([top_items(queries[i: i + SEARCH_CHUNK] @ self.vectors.T, depth)
                               for i in range(0, len(queries), SEARCH_CHUNK)] or
                              [np.zeros((0, depth), np.int64)])

    def view(self, queries: np.ndarray, depth: int) -> View:
        q = np.ascontiguousarray(queries, dtype=np.float32)
        q64 = q.astype(np.float64)
        mean, cov = self.moments
        var = ((q64 @ cov) * q64).sum(1)  # BLAS; einsum over (B, D, D) is ~5x slower
        return View(q64 @ mean, np.sqrt(np.maximum(var, 0)), self.search(q, depth),
                    lambda items: (self.vectors[items] @ q[:, :, None])[..., 0], q)
