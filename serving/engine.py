"""Answers from one packaged bundle: fused recommendations, similar items, hybrid search.

Pure Python + numpy/torch, no web framework, so the service and the tests share it. Fusion runs
over candidates (each model's top list, from an HNSW index for large catalogs) with exact
per-user score statistics: the same functions the offline evaluation ran (training/fusion.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.bundle import ITEMS, verify
from shopfusion.config import ServeConfig
from shopfusion.serving.answers import AnswerCache
from shopfusion.training.fusion import candidates, ranks_in, weighted

FALLBACK = "popularity"  # the last resort: needs no user data and cannot time out in practice
RANK_DEPTH = 100  # a model "contributed" an item when the item is in its top RANK_DEPTH
COLD_DEPTH = 20  # best never-interacted items kept per request, enough after bans and repeats


class UnknownItem(KeyError):
    """An item id the packaged catalog does not contain."""


@dataclass
class Scored:
    """One request's fused candidates (catalog positions and scores), each model's best
    items (best first: the response's per-model contributions read them), the best
    never-interacted items by text, and the models dropped with why."""

    items: np.ndarray
    fused: np.ndarray
    tops: dict[str, np.ndarray]
    dropped: dict[str, str]
    cold: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class Ranking:
    items: list[str]
    scores: list[float]
    contributions: list[dict[str, int]]  # per item: each contributing model's rank of it (1-based)
    models: list[str]  # models that contributed to this answer
    dropped: dict[str, str] = field(default_factory=dict)  # model -> why it was left out
    cold_start: bool = False
    based_on: list[str] = field(default_factory=list)  # the newest history items it used

    @property
    def degraded(self) -> bool:
        return bool(self.dropped)


class Engine:
    def __init__(self, bundle: Path, cfg: ServeConfig):
        from shopfusion.training.fuser import Fuser
        from shopfusion.training.registry import model_class
        from shopfusion.training.stacker import item_features

        self.cfg = cfg
        self.manifest = verify(bundle)  # a corrupt or tampered bundle never serves
        self.items = pd.read_parquet(bundle / ITEMS)
        self.item_index = pd.Index(self.items["item_id"].astype(str))
        self.item_ids = self.item_index.to_numpy(dtype=object)  # position -> id, without pandas
        self.user_index = pd.Index(pd.read_parquet(bundle / "users.parquet")["user_id"])
        self.fuser = Fuser.load(bundle / "fusion")  # method, weights, depths, stacker: all of fusion
        self.fuser.stacker.predict_threads = 1  # a few hundred rows: thread start-up costs more
        self.models = {name: model_class(name)().load(bundle / "models" / name / "model.pt")
                       for name in self.fuser.models}
        counts = self.items["train_count"].to_numpy()
        self.item_feats = item_features(counts, self.items["age_days"].to_numpy())
        self.category = self.items["category_path"].astype(str).to_numpy(dtype=str)  # for np.char
        self.price = self.items["price"].astype(float).to_numpy()
        text = bundle / "item_text.npy"
        self.item_text = np.load(text) if text.exists() else None
        self.cold_positions = np.flatnonzero(counts == 0)
        self._index_catalog()
        bought = pd.read_parquet(bundle / "purchases.parquet")
        self.purchased = {u: set(self.item_index.get_indexer(g)) for u, g in
                          bought.groupby("user_id")["item_id"]}
        self._search, self._search_lock, self.search_ready = None, threading.Lock(), threading.Event()
        self.answers = AnswerCache(**cfg.answer_cache)  # this engine's: a reload starts empty
        self._warm_up()

    def _index_catalog(self) -> None:
        """The text vectors of never-interacted items (cold slots), and HNSW indexes where the
        catalog is large enough for them to pay (item statistics come with the warm-up)."""
        from shopfusion.training.models.base import Factored
        from shopfusion.training.views import ItemVectors

        text = self.models.get("text")
        self.text_vectors = (text.vectors if text is not None else
                             ItemVectors(self.item_text) if self.item_text is not None else None)
        self.cold_text = (ItemVectors(self.text_vectors.vectors[self.cold_positions])
                          if self.text_vectors is not None and len(self.cold_positions) else None)
        every = [m.vectors for m in self.models.values() if isinstance(m, Factored)]
        every += [v for v in (self.text_vectors, self.cold_text) if v is not None and v not in every]
        ann = self.cfg.ann
        for vectors in every:
            if len(vectors.vectors) >= ann["min_items"]:
                vectors.build_index(ann["m"], ann["ef_construction"], ann["ef_search"])

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @cached_property
    def data_end(self) -> pd.Timestamp:
        """The newest event the bundle was trained on: feedback joins data that ends here."""
        return pd.Timestamp(self.manifest["data_end"])

    @cached_property
    def item_attrs(self) -> dict[str, tuple[str, str]]:
        """item -> (category_path, brand): what the real-time push refreshes favourites from."""
        return dict(zip(self.item_index, zip(self.category, self.items["brand"].astype(str))))

    @cached_property
    def popularity_order(self) -> np.ndarray:
        """Every item, most popular first: fills an answer when the candidates run out."""
        return self.models[FALLBACK].view(np.array([-1]), [], len(self.item_index)).top[0]

    def _warm_up(self) -> None:
        """First calls build caches (item statistics, torch kernels): pay them at load."""
        self.recommend("warm-up-user", [self.item_index[0]], k=1)

    # --- indices ---------------------------------------------------------------------------
    def known_items(self, item_ids: list[str]) -> np.ndarray:
        idx = self.item_index.get_indexer(list(item_ids))
        return idx[idx >= 0]

    def item_position(self, item_id: str) -> int:
        pos = self.item_index.get_indexer([item_id])[0]
        if pos < 0:
            raise UnknownItem(item_id)
        return int(pos)

    # --- recommend -------------------------------------------------------------------------
    def model_views(self, user_ids: list[str], histories: list[np.ndarray], depth: int
                    ) -> tuple[dict, dict[str, str]]:
        """Each model's view of these users (training/views.py); a model that fails or
        overruns its budget (per call, whatever the batch size) is dropped for these requests
        with the reason."""
        users = self.user_index.get_indexer(user_ids)
        views, dropped = {}, {}
        for name, model in self.models.items():
            t0 = time.perf_counter()
            try:
                view = model.view(users, histories, depth)
            except Exception as exc:  # any model failure degrades the answer, never fails it
                dropped[name] = f"error: {type(exc).__name__}: {exc}"
                continue
            ms = (time.perf_counter() - t0) * 1000
            if ms > self.cfg.model_budget_ms and name != FALLBACK:
                dropped[name] = f"over budget: {ms:.0f} ms > {self.cfg.model_budget_ms:.0f} ms"
            elif not all(np.isfinite(a).all() for a in (view.mean, view.std, view.query)
                         if a is not None):
                dropped[name] = "non-finite scores"
            else:
                views[name] = view
        return views, dropped

    def fused_scores(self, user_id: str, history: np.ndarray) -> Scored:
        return self.fused_scores_batch([(user_id, history)])[0]

    def fused_scores_batch(self, requests: list[tuple[str, np.ndarray]]) -> list[Scored]:
        """fused_scores for several (user, history) at once: the models score them together."""
        depth = self.fuser.view_depth(RANK_DEPTH)
        warm = [i for i, (_, history) in enumerate(requests) if len(history)]
        out = [None] * len(requests)
        if len(warm) < len(requests):  # cold start: nothing personal to go on
            pop = self.models[FALLBACK].view(np.array([-1]), [], depth)
            for i in set(range(len(requests))) - set(warm):
                out[i] = Scored(pop.top[0], pop.z(pop.top)[0], {FALLBACK: pop.top[0]}, {})
        if not warm:
            return out
        histories = [requests[i][1] for i in warm]
        views, dropped = self.model_views([requests[i][0] for i in warm], histories, depth)
        # a degraded request (a model dropped) is fused by weights over the models left
        lengths = np.array([len(h) for h in histories], np.float32)
        cand, fused = self.fuser.score(views, self.item_feats, lengths, "weighted" if dropped else None)
        cold = self._best_cold(views.get("text"), len(warm))
        for row, i in enumerate(warm):
            ok = cand.valid[row]
            out[i] = Scored(cand.items[row][ok], fused[row][ok],  # copies: a row may be cached
                            {n: v.top[row].copy() for n, v in views.items()}, dropped, cold[row].copy())
        return out

    def _best_cold(self, text, n_users: int) -> np.ndarray:
        """(users, <=COLD_DEPTH) never-interacted items closest to each text profile."""
        if text is None or self.cold_text is None or not self.cfg.cold_item_slots:
            return np.zeros((n_users, 0), np.int64)
        found = self.cold_text.search(text.query, COLD_DEPTH)
        return np.where(found >= 0, self.cold_positions[np.maximum(found, 0)], -1)

    def recommend(self, user_id: str, history_ids: list[str], k: int = 10,
                  exclude_purchased: bool = True, exclude: list[str] = ()) -> Ranking:
        """Top-k for a user whose recent items (oldest first) are `history_ids` (the service
        batches requests and keeps answers: serving/runtime.py)."""
        history = self.known_items(history_ids)
        scored = self.fused_scores(user_id, history)
        return self.ranking(user_id, history, scored, k, exclude_purchased, exclude)

    def ranking(self, user_id: str, history: np.ndarray, scored: Scored, k: int,
                exclude_purchased: bool = True, exclude: list[str] = ()) -> Ranking:
        """The answer from fused candidates: bans (purchases read now), top-k, contributions."""
        banned = set(self.known_items(exclude).tolist()) if len(exclude) else set()
        if exclude_purchased:
            banned |= self.purchased.get(user_id, set())
        top, scores = self._top(scored, banned, k)
        ranks = {n: ranks_in(best[None, :RANK_DEPTH], top[None], RANK_DEPTH)[0]
                 for n, best in scored.tops.items()}
        return Ranking(
            items=self.item_ids[top].tolist(), scores=scores,
            contributions=[{n: int(r[j]) + 1 for n, r in ranks.items() if r[j] < RANK_DEPTH}
                           for j in range(len(top))],
            models=list(scored.tops), dropped=scored.dropped, cold_start=len(history) == 0,
            based_on=self.item_ids[history[-5:]][::-1].tolist())

    def _top(self, scored: Scored, banned: set, k: int) -> tuple[np.ndarray, list[float]]:
        """The k best unbanned candidates, with up to `cold_item_slots` of the last places given
        to the best never-interacted items by text (fusion alone never surfaces them), then
        the most popular items if the candidates run out. Items placed by these two rules carry
        the lowest fused score shown."""
        keep = ~np.isin(scored.items, list(banned))
        order = np.argsort(-scored.fused[keep], kind="stable")[:k]
        top, scores = scored.items[keep][order].tolist(), scored.fused[keep][order].tolist()
        cold = [i for i in scored.cold.tolist() if i >= 0 and i not in banned and i not in top]
        picks = cold[: min(self.cfg.cold_item_slots, k)]
        top = top[: k - len(picks)] + picks
        if len(top) < k:
            shown = banned | set(top)
            popular = self.popularity_order[: k + len(shown)].tolist()
            top += [i for i in popular if i not in shown][: k - len(top)]
        floor = min(scores[: k - len(picks)], default=0.0)
        return np.array(top, np.int64), (scores[: k - len(picks)] + [floor] * k)[: len(top)]

    # --- similar ---------------------------------------------------------------------------
    def similar(self, item_id: str, k: int = 10) -> tuple[list[str], list[float]]:
        """Items bought/viewed around this one (item-kNN), blended with text similarity; an item
        with no interactions yet is still reachable through its text."""
        pos = self.item_position(item_id)
        views, weights = {}, {}
        if "itemknn" in self.models:
            views["itemknn"] = self.models["itemknn"].view(np.array([-1]), [np.array([pos])], RANK_DEPTH)
            weights["itemknn"] = 1 - self.cfg.similar_text_weight
        if self.text_vectors is not None:
            views["text"] = self.text_vectors.view(self.text_vectors.vectors[pos][None], RANK_DEPTH)
            weights["text"] = self.cfg.similar_text_weight
        if not views:
            raise UnknownItem(f"{item_id}: no similarity model in this bundle")
        cand = candidates(views, RANK_DEPTH)
        fused = np.where(cand.items == pos, -np.inf, weighted(cand, weights))[0]
        order = np.argsort(-fused, kind="stable")[:k]
        order = order[np.isfinite(fused[order])]
        return list(self.item_index[cand.items[0][order]]), fused[order].tolist()

    # --- search ----------------------------------------------------------------------------
    def warm_search(self) -> None:
        """Build the search index (BM25, the MiniLM query encoder) and run one query: seconds,
        which a starting service spends beside serving recommendations (`search_ready`)."""
        try:
            self.search("warm up", 1)
        finally:
            self.search_ready.set()

    @property
    def search_index(self):
        with self._search_lock:  # built once, whichever thread asks first
            if self._search is None:
                from shopfusion.features.text import encode
                from shopfusion.training.search import HybridSearch

                def no_text(queries):  # a bundle without item text: BM25 alone ranks
                    return np.zeros((len(queries), 1), np.float32)

                emb, encoder = ((self.text_vectors, encode) if self.text_vectors is not None else
                                (no_text(self.items), no_text))
                self._search = HybridSearch(self.items["title"].astype(str),
                                            self.items["description"].astype(str), emb, encoder,
                                            self.cfg.search_bm25_weight)
        return self._search

    def encode_queries(self, queries: list[str]) -> np.ndarray:
        """(queries, dim) text vectors: the search's costly step, worth batching (MiniLM:
        ~11 ms for one query alone, ~3 ms each in a batch of 8, one core)."""
        return self.search_index.encode(queries)

    def search(self, query: str, k: int = 10, personal: np.ndarray | None = None,
               category: str | None = None, min_price: float | None = None,
               max_price: float | None = None, encoded: np.ndarray | None = None
               ) -> tuple[list[str], list[float]]:
        """Hybrid search over the best items of each signal; when filters leave fewer than k
        of those, over the whole catalog (a narrow filter must still find its matches).
        `encoded`: the query's (1, dim) vector from `encode_queries`, if already computed."""
        pw = self.cfg.search_personal_weight
        items, scores = self.search_index.candidates(query, max(RANK_DEPTH, k), personal, pw, encoded)
        keep = self._passes(items, category, min_price, max_price)
        if keep.sum() < k and not keep.all():
            scores = self.search_index.scores([query], personal[None] if personal is not None else None,
                                              pw, encoded)[0]
            items = np.arange(len(scores))
            keep = self._passes(items, category, min_price, max_price)
        items, scores = items[keep], scores[keep].astype(np.float64)
        order = np.argsort(-scores, kind="stable")[:k]
        return list(self.item_index[items[order]]), scores[order].tolist()

    def _passes(self, items: np.ndarray, category: str | None, min_price: float | None,
                max_price: float | None) -> np.ndarray:
        keep = np.ones(len(items), bool)
        if category:
            keep &= np.char.startswith(self.category[items], category)
        if min_price is not None:
            keep &= self.price[items] >= min_price
        if max_price is not None:
            keep &= self.price[items] <= max_price
        return keep

