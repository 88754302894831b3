"""Honest evaluation of every model and every fusion method on one data set.

Protocol (temporal, full ranking): models fit on events before the validation cut are scored
on the validation window, which tunes fusion weights and trains the stacker; the same models
refit on events before the test cut are scored once on the test window. Every reported test
number reads the test window once.
"""

from __future__ import annotations

import time

import numpy as np

from shopfusion.config import TrainConfig
from shopfusion.training.data import Dataset, Split, leave_last_out, next_item_split
from shopfusion.training.fusion import rank_fusion, tune_weights, weighted
from shopfusion.training.metrics import next_item_metrics, sampled_ranks, target_ranks
from shopfusion.training.models.base import Recommender
from shopfusion.training.stacker import Stacker

DAY = 86_400.0


def model_classes() -> dict[str, type[Recommender]]:
    from shopfusion.training.models.itemknn import ItemKNN
    from shopfusion.training.models.popularity import Popularity
    from shopfusion.training.models.text import TextRecommender
    from shopfusion.training.neural import MFRecommender, SASRecRecommender, TwoTowerRecommender

    return {c.name: c for c in (Popularity, ItemKNN, MFRecommender, TwoTowerRecommender,
                                SASRecRecommender, TextRecommender)}


def build_model(name: str, cfg: TrainConfig) -> Recommender:
    return model_classes()[name](**cfg.model_params.get(name, {}))


def usable_models(data: Dataset, cfg: TrainConfig) -> list[str]:
    """The configured line-up, less the text model where the data has no item text."""
    return [n for n in cfg.models if n != "text" or data.item_text is not None]


def fit_and_score(names: list[str], split: Split, data: Dataset, cfg: TrainConfig
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    scores, seconds = {}, {}
    for name in names:
        model = build_model(name, cfg)
        t0 = time.perf_counter()
        model.fit(split.train, data)
        seconds[name] = time.perf_counter() - t0
        scores[name] = model.score(split.users, split.history)
    return scores, seconds


def ndcg_at_10(scores: np.ndarray, targets: np.ndarray) -> float:
    return next_item_metrics(target_ranks(scores, targets), ks=(10,))["ndcg@10"]


def stacker_inputs(split: Split, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Item features (train popularity, age at the cut, unseen flag) and history lengths."""
    counts = np.bincount(split.train.item, minlength=data.interactions.n_items)
    age = np.clip((split.cut - data.item_created) / DAY, 0, 3650)
    item = np.stack([np.log1p(counts), age, (counts == 0).astype(float)], 1).astype(np.float32)
    return item, np.array([len(h) for h in split.history], dtype=np.float32)


def metrics(scores: np.ndarray, split: Split, cfg: TrainConfig, rng: np.random.Generator,
            slices: dict[str, np.ndarray]) -> dict:
    ranks = target_ranks(scores, split.targets)
    top = np.argpartition(-scores, 9, axis=1)[:, :10]
    out = next_item_metrics(ranks, top, scores.shape[1])
    sampled = sampled_ranks(scores, split.targets, cfg.sampled_negatives, rng)
    out.update({f"sampled{cfg.sampled_negatives}_{k}": v for k, v in next_item_metrics(
        sampled, ks=(10,)).items() if k in ("hr@10", "ndcg@10")})
    for name, mask in slices.items():
        if mask.any():
            out[f"{name}_ndcg@10"] = next_item_metrics(ranks[mask], ks=(10,))["ndcg@10"]
            out[f"{name}_users"] = float(mask.sum())
    return out


def cold_slices(split: Split) -> dict[str, np.ndarray]:
    seen_users = np.bincount(split.train.user, minlength=split.train.n_users) > 0
    seen_items = np.bincount(split.train.item, minlength=split.train.n_items) > 0
    return {"cold_user": ~seen_users[split.users], "cold_item": ~seen_items[split.targets]}


def evaluate(data: Dataset, cfg: TrainConfig) -> dict:
    ts = data.interactions.ts
    valid_cut, test_cut = np.quantile(ts, cfg.valid_quantile), np.quantile(ts, cfg.test_quantile)
    valid = next_item_split(data, "valid", valid_cut, test_cut, cfg.max_len, cfg.seed)
    test = next_item_split(data, "test", test_cut, np.inf, cfg.max_len, cfg.seed)
    names = usable_models(data, cfg)
    v_scores, _ = fit_and_score(names, valid, data, cfg)
    t_scores, fit_seconds = fit_and_score(names, test, data, cfg)

    weights = tune_weights(v_scores, lambda s: ndcg_at_10(s, valid.targets))
    stacker = Stacker(seed=cfg.seed, **cfg.stacker).fit(v_scores, valid.targets, *stacker_inputs(valid, data))
    fused = {
        "weighted": weighted(t_scores, weights),
        "rrf": rank_fusion(t_scores, "rrf", cfg.fusion_depth),
        "borda": rank_fusion(t_scores, "borda", cfg.fusion_depth),
        "stacker": stacker.score(t_scores, *stacker_inputs(test, data)),
    }
    rng = np.random.default_rng(cfg.seed)
    slices = cold_slices(test)
    report = {
        "protocol": {"valid_cut": float(valid_cut), "test_cut": float(test_cut),
                     "valid_users": len(valid.users), "test_users": len(test.users),
                     "items": data.interactions.n_items},
        "models": {n: metrics(s, test, cfg, rng, slices) for n, s in t_scores.items()},
        "fusion": {n: metrics(s, test, cfg, rng, slices) for n, s in fused.items()},
        "weights": weights,
        "fit_seconds": fit_seconds,
    }
    best_single = max(report["models"], key=lambda n: report["models"][n]["ndcg@10"])
    best_fusion = max(report["fusion"], key=lambda n: report["fusion"][n]["ndcg@10"])
    report["summary"] = {
        "best_single": best_single, "best_fusion": best_fusion,
        "best_single_ndcg@10": report["models"][best_single]["ndcg@10"],
        "best_fusion_ndcg@10": report["fusion"][best_fusion]["ndcg@10"],
        "fusion_gain_rel": report["fusion"][best_fusion]["ndcg@10"]
        / max(report["models"][best_single]["ndcg@10"], 1e-12) - 1,
    }
    if "sasrec" in report["models"] and "popularity" in report["models"]:
        report["summary"]["sasrec_over_popularity"] = report["models"]["sasrec"]["ndcg@10"] / max(
            report["models"]["popularity"]["ndcg@10"], 1e-12)
    if cfg.leave_last_out:
        llo = leave_last_out(data, cfg.max_len)
        llo_scores, _ = fit_and_score(names, llo, data, cfg)
        report["leave_last_out"] = {n: metrics(s, llo, cfg, rng, {}) for n, s in llo_scores.items()}
    return report
