"""Product search: BM25 (bm25s) and MiniLM embeddings, fused (hybrid), optionally personalised.

BM25 finds exact words (brands, model names); embeddings find meaning ("cosy lamp" ~ "warm
light"). The fusion is the same z-score weighting used for recommendations: over the whole
catalog (`scores`: offline, and a narrowly filtered search) or over the union of each signal's
best items (`candidates`, the service: the embedding side then reads an HNSW index, not the
whole item matrix), both through training/fusion.py's `weighted` with `weights()`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from shopfusion.training.fusion import candidates, weighted, whole_catalog, zscore
from shopfusion.training.views import ItemVectors, dense_view


class HybridSearch:
    def __init__(self, titles: pd.Series, descriptions: pd.Series, item_emb: np.ndarray | ItemVectors,
                 encode: Callable[[list[str]], np.ndarray], bm25_weight: float = 0.5):
        import bm25s

        self.encode = encode  # query text -> unit vectors in the item embedding space
        # an ItemVectors is shared with the recommender's text model (and its HNSW index)
        self.vectors = item_emb if isinstance(item_emb, ItemVectors) else ItemVectors(item_emb)
        self.bm25_weight = bm25_weight
        corpus = (titles.fillna("") + " " + descriptions.fillna("")).tolist()
        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)

    def bm25_scores(self, queries: list[str]) -> np.ndarray:
        import bm25s

        tokens = bm25s.tokenize(queries, stopwords="en", return_ids=False, show_progress=False)
        n_docs = len(self.vectors.vectors)  # a query of only stopwords has no tokens: no BM25 signal
        return np.stack([self.bm25.get_scores(t) if len(t) else np.zeros(n_docs) for t in tokens]
                        ).astype(np.float32)

    def query_vectors(self, queries: list[str], encoded: np.ndarray | None = None) -> np.ndarray:
        """`encoded` when the caller already has the queries' vectors (the service batches
        them), else the encoder's."""
        return self.encode(queries) if encoded is None else encoded

    def embedding_scores(self, queries: list[str], encoded: np.ndarray | None = None) -> np.ndarray:
        return (self.query_vectors(queries, encoded) @ self.vectors.vectors.T).astype(np.float32)

    def weights(self, personal_weight: float = 0.0, bm25_weight: float | None = None) -> dict[str, float]:
        """Each signal's weight: BM25 vs embeddings (`bm25_weight`, default the configured one),
        plus the personal scores' when given."""
        w = self.bm25_weight if bm25_weight is None else bm25_weight
        return {"bm25": w, "embedding": 1 - w, **({"personal": personal_weight} if personal_weight else {})}

    def scores(self, queries: list[str], personal: np.ndarray | None = None,
               personal_weight: float = 0.0, encoded: np.ndarray | None = None) -> np.ndarray:
        """(queries, items): the weighted z-scores of BM25 and embeddings, plus an optional
        personal score matrix (e.g. the fused recommender for the searching user), over the
        whole catalog."""
        z = {"bm25": zscore(self.bm25_scores(queries)),
             "embedding": zscore(self.embedding_scores(queries, encoded))}
        if personal is not None and personal_weight:
            z["personal"] = zscore(personal)
        return weighted(whole_catalog(z), self.weights(personal_weight if "personal" in z else 0.0))

    def candidates(self, query: str, depth: int, personal: np.ndarray | None = None,
                   personal_weight: float = 0.0, encoded: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """`scores` for one query, only at the union of the best `depth` items by BM25, by
        embeddings and by the personal scores: (items, fused scores)."""
        views = {"bm25": dense_view(self.bm25_scores([query]), depth),
                 "embedding": self.vectors.view(self.query_vectors([query], encoded), depth)}
        if personal is not None and personal_weight:
            views["personal"] = dense_view(personal[None], depth)
        cand = candidates(views, depth)
        ok = cand.valid[0]
        fused = weighted(cand, self.weights(personal_weight if "personal" in views else 0.0))
        return cand.items[0][ok], fused[0][ok]


def judged_queries(judgments: pd.DataFrame) -> tuple[list[str], list[dict[str, float]]]:
    grouped = judgments.groupby("query", sort=True)
    return list(grouped.groups), [dict(zip(g["item_id"], g["relevance"].astype(float)))
                                  for _, g in grouped]


def rankings(scores: np.ndarray, item_ids: pd.Index, k: int) -> list[list[str]]:
    top = np.argsort(-scores, axis=1)[:, :k]
    return [list(item_ids[row]) for row in top]


def evaluate_search(search: HybridSearch, judgments: pd.DataFrame, item_ids: pd.Index,
                    grid=(0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0), k: int = 10) -> dict:
    """Graded NDCG@k of BM25, embeddings and hybrid. The hybrid weight is tuned on half the
    queries (even positions) and reported on the other half, never on what tuned it."""
    from shopfusion.training.metrics import ndcg_graded

    queries, judged = judged_queries(judgments)
    cand = whole_catalog({"bm25": zscore(search.bm25_scores(queries)),
                          "embedding": zscore(search.embedding_scores(queries))})
    tune, report = slice(0, None, 2), slice(1, None, 2)

    def ndcg(bm25_weight: float, part: slice) -> float:
        scores = weighted(cand, search.weights(bm25_weight=bm25_weight))
        return ndcg_graded(rankings(scores[part], item_ids, k), judged[part], k)

    best_w = max(grid, key=lambda w: ndcg(w, tune))
    return {"bm25": ndcg(1.0, report), "embedding": ndcg(0.0, report), "hybrid": ndcg(best_w, report),
            "bm25_weight": best_w, "queries_reported": len(queries[report])}
