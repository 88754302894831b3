"""Honest evaluation of every model and every fusion method on one data set.

Protocol (temporal, full ranking): models fit on events before the validation cut are scored
on the validation window, which tunes fusion weights and trains the stacker; the same models
refit on events before the test cut are scored once on the test window. Every reported test
number reads the test window once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shopfusion.config import TrainConfig
from shopfusion.training.data import Dataset, Split, leave_last_out, next_item_split
from shopfusion.training.fuser import Fuser
from shopfusion.training.fusion import Candidates, candidate_target_ranks, candidates, top_items, tune_weights
from shopfusion.training.metrics import ndcg_per_user, next_item_metrics, sampled_ranks, target_ranks
from shopfusion.training.registry import build_model, line_up
from shopfusion.training.stacker import Stacker, item_age_days, item_features


def usable_models(data: Dataset, cfg: TrainConfig) -> list[str]:
    """The configured line-up, less the text model where the data has no item text."""
    return [n for n in line_up(cfg) if n != "text" or data.item_text is not None]


@dataclass
class Fitted:
    """Each model's full score matrix (single-model metrics) and its view (what fusion reads,
    as in serving), and its fit time."""

    scores: dict[str, np.ndarray]
    views: dict
    fit_seconds: dict[str, float]


def fit_and_score(names: list[str], split: Split, data: Dataset, cfg: TrainConfig) -> Fitted:
    out = Fitted({}, {}, {})
    depth = max(cfg.fusion_depth, cfg.stacker.get("depth", 50))
    for name in names:
        model = build_model(name, cfg)
        t0 = time.perf_counter()
        model.fit(split.train, data)
        out.fit_seconds[name] = time.perf_counter() - t0
        out.scores[name] = model.score(split.users, split.history)
        out.views[name] = model.view(split.users, split.history, depth)
    return out


def ndcg10(ranks: np.ndarray) -> float:
    """NDCG@10 from each user's 0-based target rank."""
    return float(ndcg_per_user(ranks, 10).mean())


def ndcg_at_10(scores: np.ndarray, targets: np.ndarray) -> float:
    return ndcg10(target_ranks(scores, targets))


def stacker_inputs(split: Split, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Item features and history lengths."""
    counts = np.bincount(split.train.item, minlength=data.interactions.n_items)
    item = item_features(counts, item_age_days(split.cut, data))
    return item, np.array([len(h) for h in split.history], dtype=np.float32)


def metrics(scores: np.ndarray, split: Split, cfg: TrainConfig, rng: np.random.Generator,
            slices: dict[str, np.ndarray]) -> dict:
    ranks = target_ranks(scores, split.targets)
    top = top_items(scores, 10)
    out = next_item_metrics(ranks, top, scores.shape[1])
    sampled = sampled_ranks(scores, split.targets, cfg.sampled_negatives, rng)
    out.update({f"sampled{cfg.sampled_negatives}_{k}": v for k, v in next_item_metrics(
        sampled, ks=(10,)).items() if k in ("hr@10", "ndcg@10")})
    for name, mask in slices.items():
        if mask.any():
            out[f"{name}_ndcg@10"] = ndcg10(ranks[mask])
            out[f"{name}_users"] = float(mask.sum())
    return out


def cold_slices(split: Split) -> dict[str, np.ndarray]:
    seen_users = np.bincount(split.train.user, minlength=split.train.n_users) > 0
    seen_items = np.bincount(split.train.item, minlength=split.train.n_items) > 0
    return {"cold_user": ~seen_users[split.users], "cold_item": ~seen_items[split.targets]}


def validation_splits(data: Dataset, cfg: TrainConfig) -> list[Split]:
    """The validation window, then earlier windows of the same width (each with models frozen
    at its start) while fewer than fusion_min_users users have been seen: six weights and a
    ranker tuned on ~150 users (MovieLens-100k's window) fit noise."""
    ts = data.interactions.ts
    width = cfg.test_quantile - cfg.valid_quantile
    out = []
    for i in range(cfg.fusion_max_windows):
        start = cfg.valid_quantile - i * width
        if start <= width / 2:  # keep training data before the earliest window
            break
        cut, end = np.quantile(ts, start), np.quantile(ts, start + width)
        out.append(next_item_split(data, f"valid{i}", cut, end, cfg.max_len, cfg.seed, cfg.max_eval_users))
        if sum(len(s.users) for s in out) >= cfg.fusion_min_users:
            break
    return out


def splits(data: Dataset, cfg: TrainConfig) -> tuple[Split, Split]:
    ts = data.interactions.ts
    valid_cut, test_cut = np.quantile(ts, cfg.valid_quantile), np.quantile(ts, cfg.test_quantile)
    return (next_item_split(data, "valid", valid_cut, test_cut, cfg.max_len, cfg.seed, cfg.max_eval_users),
            next_item_split(data, "test", test_cut, np.inf, cfg.max_len, cfg.seed, cfg.max_eval_users))


def tune_fusion(data: Dataset, cfg: TrainConfig) -> Fuser:
    """Fit models before each validation window, score it, tune weights and train the stacker
    on all of them together. Never reads the test window."""
    stacker = Stacker(seed=cfg.seed, **cfg.stacker)
    pooled, windows, ranks = [], [], {}
    for valid in validation_splits(data, cfg):
        scored = fit_and_score(usable_models(data, cfg), valid, data, cfg)
        pooled.append(candidates(scored.views, cfg.fusion_depth))
        windows.append((candidates(scored.views, stacker.depth), valid.targets, *stacker_inputs(valid, data)))
        for name, s in scored.scores.items():
            ranks.setdefault(name, []).append(target_ranks(s, valid.targets))
    cand, targets = Candidates.concat(pooled), np.concatenate([w[1] for w in windows])
    n_items = data.interactions.n_items
    weights = tune_weights(cand, lambda fused: ndcg10(candidate_target_ranks(cand, fused, targets, n_items)))
    return Fuser(cfg.fusion, weights, cfg.fusion_depth, stacker.fit_windows(windows),
                 {n: ndcg10(np.concatenate(r)) for n, r in ranks.items()})


def evaluate_test(data: Dataset, cfg: TrainConfig, fusion: Fuser) -> dict:
    """Refit models before the test cut and read the test window once, for every model and
    every fusion method."""
    _, test = splits(data, cfg)
    scored = fit_and_score(usable_models(data, cfg), test, data, cfg)
    scores = scored.scores
    fused = fusion.dense_scores(scored.views, *stacker_inputs(test, data), data.interactions.n_items)
    rng = np.random.default_rng(cfg.seed)
    slices = cold_slices(test)
    report = {
        "protocol": {"test_cut": float(test.cut), "test_users": len(test.users),
                     "items": data.interactions.n_items, "train_events": len(test.train.user)},
        "models": {n: metrics(s, test, cfg, rng, slices) for n, s in scores.items()},
        "fusion": {n: metrics(s, test, cfg, rng, slices) for n, s in fused.items()},
        "weights": fusion.weights,
        "valid_ndcg@10": fusion.valid_ndcg,
        "fit_seconds": scored.fit_seconds,
    }
    summary = report["summary"] = summarize(report)
    summary["fusion_gain_ci95"] = gain_interval(scores[summary["best_single"]], fused[summary["best_fusion"]],
                                                test.targets, cfg.seed)
    return report


def gain_interval(single: np.ndarray, fused: np.ndarray, targets: np.ndarray, seed: int,
                  draws: int = 2000) -> list[float]:
    """95% paired bootstrap interval, over test users, of fused NDCG@10 / single NDCG@10 - 1:
    whether a gain (or loss) is larger than the test window's noise."""
    per_user = [ndcg_per_user(target_ranks(scores, targets), 10) for scores in (single, fused)]
    draw = np.random.default_rng(seed).integers(0, len(targets), (draws, len(targets)))
    gains = per_user[1][draw].mean(1) / np.maximum(per_user[0][draw].mean(1), 1e-12) - 1
    return [float(q) for q in np.quantile(gains, [0.025, 0.975])]


def evaluate_leave_last_out(data: Dataset, cfg: TrainConfig) -> dict:
    """Single models under per-user leave-last-out, for comparison with published numbers.
    A report only: fusion, packaging and the gate use the temporal protocol."""
    llo = leave_last_out(data, cfg.max_len)
    scores = fit_and_score(usable_models(data, cfg), llo, data, cfg).scores
    rng = np.random.default_rng(cfg.seed)
    return {n: metrics(s, llo, cfg, rng, {}) for n, s in scores.items()}


def summarize(report: dict) -> dict:
    models, fusion = report["models"], report["fusion"]
    best_single = max(models, key=lambda n: models[n]["ndcg@10"])
    best_fusion = max(fusion, key=lambda n: fusion[n]["ndcg@10"])
    out = {
        "best_single": best_single, "best_fusion": best_fusion,
        "best_single_ndcg@10": models[best_single]["ndcg@10"],
        "best_fusion_ndcg@10": fusion[best_fusion]["ndcg@10"],
        "fusion_gain_rel": fusion[best_fusion]["ndcg@10"] / max(models[best_single]["ndcg@10"], 1e-12) - 1,
    }
    if "sasrec" in models and "popularity" in models:
        popularity = max(models["popularity"]["ndcg@10"], 1e-12)
        out["sasrec_over_popularity"] = models["sasrec"]["ndcg@10"] / popularity
    return out


def evaluate(data: Dataset, cfg: TrainConfig) -> dict:
    """The whole protocol on one data set (benchmarks): tune on validation, report on test
    (and leave-last-out when configured)."""
    report = evaluate_test(data, cfg, tune_fusion(data, cfg))
    if cfg.leave_last_out:
        report["leave_last_out"] = evaluate_leave_last_out(data, cfg)
    return report
