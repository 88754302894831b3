"""Answers from one packaged bundle: fused recommendations, similar items, hybrid search.

Pure Python + numpy/torch, no web framework, so the service and the tests share it. Every model
scores the whole catalog (vectorized); fusion is the same code the offline evaluation ran.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.config import ServeConfig
from shopfusion.serving.batching import MicroBatcher
from shopfusion.training.fusion import top_items, weighted, zscore

FALLBACK = "popularity"  # the last resort: needs no user data and cannot time out in practice
RANK_DEPTH = 100  # a model "contributed" an item when the item is in its top RANK_DEPTH


class UnknownItem(KeyError):
    """An item id the packaged catalog does not contain."""


@dataclass
class Scored:
    """One request's fused (n_items,) scores, the per-model (1, n_items) scores used, each
    model's best items (best first, ranked once per batch: the stacker and the response's
    contributions share them), and the models dropped with why."""

    fused: np.ndarray
    scores: dict[str, np.ndarray]
    tops: dict[str, np.ndarray]
    dropped: dict[str, str]


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
        from shopfusion.training.evaluate import model_classes, stacker_item_features

        self.cfg = cfg
        self.manifest = json.loads((bundle / "manifest.json").read_text())
        self.items = pd.read_parquet(bundle / "items.parquet")
        self.item_index = pd.Index(self.items["item_id"].astype(str))
        self.user_index = pd.Index(pd.read_parquet(bundle / "users.parquet")["user_id"])
        classes = model_classes()
        self.models = {name: classes[name]().load(bundle / "models" / name / "model.pt")
                       for name in self.manifest["weights"]}
        self.weights = self.manifest["weights"]
        self.stacker = None
        if self.cfg.fusion == "stacker":
            from shopfusion.training.stacker import Stacker

            meta = json.loads((bundle / "fusion" / "fusion.json").read_text())
            self.stacker = Stacker.load(bundle / "fusion" / "stacker.txt", meta["stacker_depth"])
            self.stacker.predict_threads = 1  # a few hundred rows: thread start-up costs more
        counts = self.items["train_count"].to_numpy()
        self.cold_items = counts == 0
        self.item_feats = stacker_item_features(counts, self.items["age_days"].to_numpy())
        self.category = self.items["category_path"].astype(str).to_numpy(dtype=str)  # for np.char
        self.price = self.items["price"].astype(float).to_numpy()
        text = bundle / "item_text.npy"
        self.item_text = np.load(text) if text.exists() else None
        bought = pd.read_parquet(bundle / "purchases.parquet")
        self.purchased = {u: set(self.item_index.get_indexer(g)) for u, g in
                          bought.groupby("user_id")["item_id"]}
        self._search = None
        self.batcher = MicroBatcher(self.fused_scores_batch, cfg.max_batch, cfg.max_batch_wait_ms / 1000)
        self._warm_up()

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @cached_property
    def item_attrs(self) -> dict[str, tuple[str, str]]:
        """item -> (category_path, brand): what the real-time push refreshes favourites from."""
        return dict(zip(self.item_index, zip(self.category, self.items["brand"].astype(str))))

    def _warm_up(self) -> None:
        """First calls build caches (two-tower item matrix, torch kernels): pay them at load."""
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
    def model_scores(self, user_ids: list[str], histories: list[np.ndarray]
                     ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Each model's (users, n_items) scores; a model that fails or overruns its budget
        (per call, whatever the batch size) is dropped for these requests with the reason."""
        users = self.user_index.get_indexer(user_ids)
        scores, dropped = {}, {}
        for name, model in self.models.items():
            t0 = time.perf_counter()
            try:
                s = model.score(users, histories)
            except Exception as exc:  # any model failure degrades the answer, never fails it
                dropped[name] = f"error: {type(exc).__name__}: {exc}"
                continue
            ms = (time.perf_counter() - t0) * 1000
            if ms > self.cfg.model_budget_ms and name != FALLBACK:
                dropped[name] = f"over budget: {ms:.0f} ms > {self.cfg.model_budget_ms:.0f} ms"
            elif not np.isfinite(s).all():
                dropped[name] = "non-finite scores"
            else:
                scores[name] = s
        return scores, dropped

    def fused_scores(self, user_id: str, history: np.ndarray) -> Scored:
        return self.fused_scores_batch([(user_id, history)])[0]

    def fused_scores_batch(self, requests: list[tuple[str, np.ndarray]]) -> list[Scored]:
        """fused_scores for several (user, history) at once: the models score them together."""
        out = [None] * len(requests)
        warm = [i for i, (_, history) in enumerate(requests) if len(history)]
        depth = max(RANK_DEPTH, self.stacker.depth if self.stacker else 0)
        for i in set(range(len(requests))) - set(warm):  # cold start: nothing personal to go on
            pop = self.models[FALLBACK].score(np.array([-1]), [requests[i][1]])
            out[i] = Scored(pop[0], {FALLBACK: pop}, {FALLBACK: top_items(pop[0], depth)}, {})
        if not warm:
            return out
        histories = [requests[i][1] for i in warm]
        scores, dropped = self.model_scores([requests[i][0] for i in warm], histories)
        tops = {name: top_items(s, depth) for name, s in scores.items()}
        if not scores:
            fused = np.zeros((len(warm), len(self.item_index)), np.float32)
        elif self.stacker is not None and not dropped:
            hist_len = np.array([len(h) for h in histories], np.float32)
            fused = self.stacker.score(scores, self.item_feats, hist_len, tops)
        else:
            weights = {n: w for n, w in self.weights.items() if n in scores}
            if not any(weights.values()):  # every weighted model dropped: fall back to what is left
                weights = {n: 1.0 for n in scores}
            fused = weighted(scores, weights)
        for row, i in enumerate(warm):
            out[i] = Scored(fused[row], {n: s[row: row + 1] for n, s in scores.items()},
                            {n: t[row] for n, t in tops.items()}, dropped)
        return out

    def recommend(self, user_id: str, history_ids: list[str], k: int = 10,
                  exclude_purchased: bool = True, exclude: list[str] = (),
                  score=None) -> Ranking:
        """Top-k for a user whose recent items (oldest first) are `history_ids`; `score`
        (a MicroBatcher submit) scores it together with concurrent requests."""
        history = self.known_items(history_ids)
        request = (user_id, history)
        scored = score(request) if score else self.fused_scores(*request)
        fused = scored.fused.astype(np.float64)  # a copy: the bans below must not touch model output
        banned = set(self.known_items(exclude))
        if exclude_purchased:
            banned |= self.purchased.get(user_id, set())
        if banned:
            fused[list(banned)] = -np.inf
        top = self._top_with_cold_slots(fused, scored.scores, k)
        ranks = {n: _ranks_in(best[:RANK_DEPTH], top) for n, best in scored.tops.items()}
        return Ranking(
            items=list(self.item_index[top]), scores=[float(fused[i]) for i in top],
            contributions=[{n: r[j] for n, r in ranks.items() if r[j]} for j in range(len(top))],
            models=list(scored.scores), dropped=scored.dropped, cold_start=len(history) == 0,
            based_on=list(self.item_index[history[-5:]][::-1]))

    def _top_with_cold_slots(self, fused: np.ndarray, scores: dict, k: int) -> np.ndarray:
        """Top-k of the fusion, with up to `cold_item_slots` of the last places given to the
        best never-interacted items by the text model (fusion alone never surfaces them)."""
        top = _top_k(fused, k)
        slots = min(self.cfg.cold_item_slots, k)
        text = scores.get("text")
        if not slots or text is None or not self.cold_items.any():
            return top
        cold = np.where(self.cold_items & np.isfinite(fused), text[0], -np.inf)
        shown = set(top)
        picks = [i for i in _top_k(cold, slots) if i not in shown]
        if not picks:
            return top
        return np.concatenate([top[: k - len(picks)], picks])

    # --- similar ---------------------------------------------------------------------------
    def similar(self, item_id: str, k: int = 10) -> tuple[list[str], list[float]]:
        """Items bought/viewed around this one (item-kNN), blended with text similarity; an item
        with no interactions yet is still reachable through its text."""
        pos = self.item_position(item_id)
        parts = []
        if "itemknn" in self.models:
            parts.append((1 - self.cfg.similar_text_weight,
                          self.models["itemknn"].score(np.array([-1]), [np.array([pos])])))
        if self.item_text is not None:
            parts.append((self.cfg.similar_text_weight, (self.item_text[pos] @ self.item_text.T)[None]))
        if not parts:
            raise UnknownItem(f"{item_id}: no similarity model in this bundle")
        fused = sum(w * zscore(s) for w, s in parts)[0].astype(np.float64)
        fused[pos] = -np.inf
        top = _top_k(fused, k)
        return list(self.item_index[top]), [float(fused[i]) for i in top]

    # --- search ----------------------------------------------------------------------------
    @property
    def search_index(self):
        if self._search is None:
            from shopfusion.features.text import encode
            from shopfusion.training.search import HybridSearch

            emb = self.item_text if self.item_text is not None else np.zeros((len(self.items), 1), np.float32)
            encoder = encode if self.item_text is not None else (lambda q: np.zeros((len(q), 1), np.float32))
            self._search = HybridSearch(self.items["title"].astype(str),
                                        self.items["description"].astype(str), emb, encoder,
                                        self.cfg.search_bm25_weight)
        return self._search

    def search(self, query: str, k: int = 10, personal: np.ndarray | None = None,
               category: str | None = None, min_price: float | None = None,
               max_price: float | None = None) -> tuple[list[str], list[float]]:
        scores = self.search_index.scores([query], personal[None] if personal is not None else None,
                                          self.cfg.search_personal_weight)[0].astype(np.float64)
        keep = np.ones(len(scores), bool)
        if category:
            keep &= np.char.startswith(self.category, category)
        if min_price is not None:
            keep &= self.price >= min_price
        if max_price is not None:
            keep &= self.price <= max_price
        scores[~keep] = -np.inf
        top = _top_k(scores, k)
        return list(self.item_index[top]), [float(scores[i]) for i in top]


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The k best positions, best first; -inf (banned, filtered out) never counts."""
    top = top_items(scores, k)
    return top[np.isfinite(scores[top])]


def _ranks_in(best: np.ndarray, items: np.ndarray) -> list[int]:
    """1-based rank of each item in a model's best-first list, 0 when not in it."""
    rank = dict(zip(best.tolist(), range(1, len(best) + 1)))
    return [rank.get(int(i), 0) for i in items]
