"""Honest evaluation of every model and every fusion method on one data set.

Protocol (temporal, full ranking): models fit on events before the validation cut are scored
on the validation window, which tunes fusion weights, trains the stacker and chooses what
serves (out of fold, among the best single model and every fusion method); the same models
refit on events before the test cut are scored once on the test window. Every choice is made on
validation; every reported test number reads the test window once. Sampled metrics rank each
target among 100 distinct items its user never interacted with, the same for every method.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopfusion.config import TrainConfig
from shopfusion.training.data import Dataset, Split, leave_last_out, next_item_split
from shopfusion.training.fuser import METHODS, Fuser
from shopfusion.training.fusion import Candidates, candidate_target_ranks, candidates, tune_weights
from shopfusion.training.metrics import (
    ndcg_per_user,
    sample_negatives,
    target_ranks,
)
from shopfusion.training.registry import line_up
from shopfusion.training.scoring import Fitted, Ranked, chunk_rows, fit_models, score_chunks
from shopfusion.training.stacker import Stacker, item_age_days, item_features


def usable_models(data: Dataset, cfg: TrainConfig) -> list[str]:
    """The configured line-up, less the text model where the data has no item text."""
    return [n for n in line_up(cfg) if n != "text" or data.item_text is not None]


def early_stop_on(split: Split, cfg: TrainConfig, seen: tuple | None):
    """Early stopping on a seeded sample of this (validation) split's users, or None when off."""
    from shopfusion.training.neural import EarlyStop

    es = cfg.early_stopping
    if es.patience <= 0:
        return None
    n = len(split.users)
    rows = np.sort(np.random.default_rng(cfg.seed).permutation(n)[:es.users])
    return EarlyStop(split.users[rows], [split.history[r] for r in rows], split.targets[rows],
                     None if seen is None else [seen[0][r] for r in rows], es.patience, es.max_s)


def with_epochs(cfg: TrainConfig, epochs: dict[str, int]) -> TrainConfig:
    """The configuration with these models' epochs (those early stopping kept on validation)."""
    params = {**cfg.model_params, **{n: {**cfg.model_params.get(n, {}), "epochs": int(e)}
                                     for n, e in epochs.items()}}
    return dataclasses.replace(cfg, model_params=params)


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


def interacted_in(inter, users: np.ndarray) -> list[np.ndarray]:
    """Every item each user interacted with in `inter` (Interactions)."""
    order = np.argsort(inter.user, kind="stable")
    bounds = np.searchsorted(inter.user[order], np.arange(inter.n_users + 1))
    return [np.unique(inter.item[order[bounds[u]: bounds[u + 1]]]) for u in users]


def negatives_for(split: Split, data: Dataset, cfg: TrainConfig) -> np.ndarray:
    """One draw of sampled negatives per evaluated user (never an item the user interacted
    with, at any time), shared by every model and method."""
    rng = np.random.default_rng(cfg.seed)
    return sample_negatives(interacted_in(data.interactions, split.users), data.interactions.n_items,
                            cfg.sampled_negatives, rng)


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


def valid_cut(data: Dataset, cfg: TrainConfig) -> float:
    """The latest validation window's start: the models fuse fits see events before it."""
    return float(np.quantile(data.interactions.ts, cfg.valid_quantile))


def splits(data: Dataset, cfg: TrainConfig) -> tuple[Split, Split]:
    test_cut = np.quantile(data.interactions.ts, cfg.test_quantile)
    return (next_item_split(data, "valid", valid_cut(data, cfg), test_cut, cfg.max_len, cfg.seed,
                            cfg.max_eval_users),
            next_item_split(data, "test", test_cut, np.inf, cfg.max_len, cfg.seed, cfg.max_eval_users))


@dataclass
class Tuning:
    """The validation windows pooled: what fusion is tuned on and its methods compared on."""

    fused: Candidates  # at the fusion depth, every pooled user
    stacked: list[tuple]  # per window: stacker-depth candidates, targets, item features, history lengths
    window: np.ndarray  # each pooled user's window (non-decreasing)
    targets: np.ndarray
    ranks: dict[str, np.ndarray]  # each model's full-catalog rank of the target
    epochs: dict[str, int] = dataclasses.field(default_factory=dict)  # early stopping's, per model
    fitted: Fitted | None = None  # the models fit at the latest window's cut (a warm start's base)

    def users(self, keep: np.ndarray) -> Tuning:
        """The same for some of the pooled users (a boolean mask)."""
        stacked = []
        for w, (cand, targets, feats, history_len) in enumerate(self.stacked):
            mine = keep[self.window == w]
            stacked.append((cand.rows(mine), targets[mine], feats, history_len[mine]))
        return Tuning(self.fused.rows(keep), stacked, self.window[keep], self.targets[keep],
                      {n: r[keep] for n, r in self.ranks.items()}, self.epochs, self.fitted)


def score_validation(data: Dataset, cfg: TrainConfig, stacker_depth: int, windows: list[Split],
                     exclude_history: bool = False, warm: dict | None = None) -> Tuning:
    """Fit models before each validation window and score it (with `exclude_history`, items a
    user interacted with before the target are neither candidates nor ranked). `warm`: earlier
    fits the latest window's models continue (the earlier windows' cuts may predate them)."""
    fused, stacked, ranks, epochs, latest = [], [], {}, {}, None
    depth = max(cfg.fusion_depth, stacker_depth)
    for i, valid in enumerate(windows):
        seen = (interacted_in(valid.train, valid.users), valid.targets) if exclude_history else None
        fitted = fit_models(usable_models(data, cfg), valid, data, cfg, early_stop_on(valid, cfg, seen),
                            warm if i == 0 else None)
        latest = latest or fitted
        for name, e in fitted.epochs.items():
            epochs.setdefault(name, []).append(e)
        window_fused, window_stacked = [], []
        rows_per_chunk = chunk_rows(data.interactions.n_items, cfg)
        for chunk in score_chunks(fitted, valid, depth, rows_per_chunk):
            mine = rows_of(seen, chunk.rows)
            window_fused.append(candidates(chunk.views, cfg.fusion_depth, mine))
            window_stacked.append(candidates(chunk.views, stacker_depth, mine))
            for name, s in chunk.scores.items():
                ranked = target_ranks(without_seen(s, mine), valid.targets[chunk.rows])
                ranks.setdefault(name, []).append(ranked)
        fused.append(Candidates.concat(window_fused))
        stacked.append((Candidates.concat(window_stacked), valid.targets, *stacker_inputs(valid, data)))
    window = np.concatenate([np.full(len(w[1]), i) for i, w in enumerate(stacked)])
    return Tuning(Candidates.concat(fused), stacked, window, np.concatenate([w[1] for w in stacked]),
                  {n: np.concatenate(r) for n, r in ranks.items()},
                  {n: int(np.median(e)) for n, e in epochs.items()}, latest)


def rows_of(seen: tuple | None, rows: np.ndarray) -> tuple | None:
    """(seen items, targets) of some evaluated users (positions in the split)."""
    return None if seen is None else ([seen[0][r] for r in rows], seen[1][rows])


def without_seen(scores: np.ndarray, seen: tuple | None) -> np.ndarray:
    """A copy of (users, items) scores with each user's seen items but the target at -inf."""
    if seen is None:
        return scores
    out = scores.copy()
    for row, (items, target) in enumerate(zip(*seen)):
        out[row, items[items != target]] = -np.inf
    return out


def fit_fusion(tuning: Tuning, cfg: TrainConfig, n_items: int, trees: int | None = None) -> Fuser:
    """Weights and stacker fit on these users (method left to choose)."""
    def objective(fused):
        return ndcg10(candidate_target_ranks(tuning.fused, fused, tuning.targets, n_items))

    stacker = Stacker(seed=cfg.seed, **cfg.stacker).fit_windows(tuning.stacked, trees)
    return Fuser("weighted", tune_weights(tuning.fused, objective), cfg.fusion_depth, stacker,
                 {n: ndcg10(r) for n, r in tuning.ranks.items()}, epochs=tuning.epochs)


def method_ndcg(fuser: Fuser, tuning: Tuning, n_items: int) -> dict[str, np.ndarray]:
    """Each method's NDCG@10 for each of these users."""
    out = {}
    for method in METHODS:
        if method == "stacker":
            ranks = np.concatenate([
                candidate_target_ranks(cand, fuser.fuse(cand, feats, hist, method), targets, n_items)
                for cand, targets, feats, hist in tuning.stacked])
        else:
            fused = fuser.fuse(tuning.fused, None, None, method)
            ranks = candidate_target_ranks(tuning.fused, fused, tuning.targets, n_items)
        out[method] = ndcg_per_user(ranks, 10)
    return out


def choose(selection: dict[str, float], fixed: str, by_window: dict[str, list[float]] | None = None) -> str:
    """The configured method, or (auto) the best out of fold; ties go to the simpler one
    (METHODS is in order of complexity, the best single model first). With several validation
    windows (`by_window`: each method's held-out NDCG@10 per window), a fusion method serves only
    if it is at least as good as the best single model in every window: a gain that holds in
    some periods and not others is not trusted to hold in the next (MovieLens-100k: fusion won
    on its pooled earlier windows and lost on the test window). One window: as before."""
    if fixed != "auto":
        return fixed

    def holds(method: str) -> bool:
        return by_window is None or all(m >= s - 1e-9 for m, s in zip(by_window[method], by_window["single"]))

    best = METHODS[0]
    for method in METHODS[1:]:
        if holds(method) and selection[method] > selection[best] + 1e-9:
            best = method
    return best


def tune_fusion(data: Dataset, cfg: TrainConfig, windows: list[Split] | None = None,
                exclude_history: bool = False, warm: dict | None = None) -> tuple[Fuser, Fitted]:
    """Tune on the validation windows (default: the temporal ones) and choose what serves: each
    method (and the best single model) is fit on all folds of the validation users but one and
    scored on that one, so the choice compares held-out NDCG; then weights and stacker are refit
    on every user (the stacker with the median tree count early stopping found). Never reads
    the test window. Returns the fusion and the models fit at the (latest) validation cut."""
    if cfg.fusion != "auto" and cfg.fusion not in METHODS or cfg.fusion_folds < 2:
        raise ValueError(f"train.fusion {cfg.fusion!r} / fusion_folds {cfg.fusion_folds}: "
                         f"auto or one of {', '.join(METHODS)}, and at least 2 folds")
    tuning = score_validation(data, cfg, Stacker(**cfg.stacker).depth,
                              validation_splits(data, cfg) if windows is None else windows, exclude_history,
                              warm)
    n_items = data.interactions.n_items
    fold = np.random.default_rng(cfg.seed).permutation(len(tuning.targets)) % cfg.fusion_folds
    held_out = {m: np.zeros(len(fold)) for m in METHODS}
    trees = []
    for f in range(cfg.fusion_folds):
        fuser = fit_fusion(tuning.users(fold != f), cfg, n_items)
        trees.append(fuser.stacker.trees)
        for method, values in method_ndcg(fuser, tuning.users(fold == f), n_items).items():
            held_out[method][fold == f] = values
    selection = {m: float(v.mean()) for m, v in held_out.items()}
    windows = np.unique(tuning.window)
    by_window = {m: [float(v[tuning.window == w].mean()) for w in windows] for m, v in held_out.items()}
    final = fit_fusion(tuning, cfg, n_items, trees=int(np.median(trees)))
    return dataclasses.replace(final, method=choose(selection, cfg.fusion, by_window), selection=selection,
                               selection_windows=by_window), tuning.fitted


def in_candidates(views: dict, depth: int, targets: np.ndarray) -> np.ndarray:
    """Per user, whether the target is among the candidates (the union of the models'
    top-`depth` lists): what no fusion over them can rank."""
    return (candidates(views, depth).items == targets[:, None]).any(1)


def evaluate_test(data: Dataset, cfg: TrainConfig, fusion: Fuser, test: Split | None = None,
                  exclude_history: bool = False, warm: dict | None = None) -> tuple[dict, Fitted]:
    """Fit models before the test cut (`warm`: continuing the validation-cut fits) and read the
    test window (default: the temporal one) once, for every model and every fusion method, a
    chunk of users at a time. Returns the report and the test-cut models."""
    test = splits(data, cfg)[1] if test is None else test
    cfg = with_epochs(cfg, fusion.epochs)  # early stopping's choice on validation, if it ran
    fitted = fit_models(usable_models(data, cfg), test, data, cfg, warm=warm)
    n_items = data.interactions.n_items
    seen = (interacted_in(test.train, test.users), test.targets) if exclude_history else None
    negatives = negatives_for(test, data, cfg)
    item_feats, history_len = stacker_inputs(test, data)
    depths = sorted({fusion.depth, fusion.stacker.depth})
    models, methods = {n: Ranked() for n in fitted.models}, {m: Ranked() for m in METHODS}
    hits = {d: [] for d in depths}
    depth = max(cfg.fusion_depth, cfg.stacker.get("depth", 50))
    for chunk in score_chunks(fitted, test, depth, chunk_rows(n_items, cfg)):
        mine, targets, negs = rows_of(seen, chunk.rows), test.targets[chunk.rows], negatives[chunk.rows]
        for name, s in chunk.scores.items():
            models[name].add(without_seen(s, mine), targets, negs)
        fused = fusion.dense_scores(chunk.views, item_feats, history_len[chunk.rows], n_items, mine)
        for method, s in fused.items():
            methods[method].add(s, targets, negs)
        for d in depths:
            hits[d].append(in_candidates(chunk.views, d, targets))
    slices = cold_slices(test)
    report = {
        "protocol": {"split": test.name, "exclude_history": exclude_history,
                     "test_cut": float(test.cut), "test_users": len(test.users),
                     "items": n_items, "train_events": len(test.train.user)},
        "models": {n: r.metrics(n_items, negatives.shape[1], slices) for n, r in models.items()},
        "fusion": {m: r.metrics(n_items, negatives.shape[1], slices) for m, r in methods.items()},
        "served": fusion.method,
        "weights": fusion.weights,
        "valid_ndcg@10": fusion.valid_ndcg,
        "selection_ndcg@10": fusion.selection,
        "selection_ndcg@10_by_window": fusion.selection_windows,
        "candidate_recall": {f"@{d}": float(np.concatenate(h).mean()) if h else 0.0 for d, h in hits.items()},
        "fit_seconds": fitted.fit_seconds,
        "warm_started": fitted.warm,
        "epochs_used": fusion.epochs,
    }
    summary = report["summary"] = summarize(report, fusion.single, fusion.method)
    pairs = {"fusion_gain_ci95": (fusion.single, fusion.method),
             "fusion_gain_oracle_ci95": (summary["oracle_single"], summary["oracle_fusion"])}
    for key, (single, method) in pairs.items():
        summary[key] = gain_interval(models[single].ndcg10_per_user(), methods[method].ndcg10_per_user(),
                                     cfg.seed)
    return report, fitted


def gain_interval(single: np.ndarray, fused: np.ndarray, seed: int, draws: int = 2000) -> list[float]:
    """95% paired bootstrap interval, over test users (their NDCG@10 under each), of fused
    NDCG@10 / single NDCG@10 - 1: whether a gain (or loss) is larger than the test's noise."""
    draw = np.random.default_rng(seed).integers(0, len(single), (draws, len(single)))
    gains = fused[draw].mean(1) / np.maximum(single[draw].mean(1), 1e-12) - 1
    return [float(q) for q in np.quantile(gains, [0.025, 0.975])]


def evaluate_leave_last_out(data: Dataset, cfg: TrainConfig) -> dict:
    """Single models under per-user leave-last-out, for comparison with published numbers.
    A report only: fusion, packaging and the gate use the temporal protocol."""
    llo = leave_last_out(data, cfg.max_len)
    fitted = fit_models(usable_models(data, cfg), llo, data, cfg)
    negatives = negatives_for(llo, data, cfg)
    ranked = {n: Ranked() for n in fitted.models}
    n_items = data.interactions.n_items
    for chunk in score_chunks(fitted, llo, 1, chunk_rows(n_items, cfg)):
        for name, s in chunk.scores.items():
            ranked[name].add(s, llo.targets[chunk.rows], negatives[chunk.rows])
    return {n: r.metrics(n_items, negatives.shape[1], {}) for n, r in ranked.items()}


def evaluate_leave_one_out(data: Dataset, cfg: TrainConfig) -> dict:
    """The paper protocol with fusion: per user, the second-last step tunes fusion (models fit
    on everything before it) and the last step tests (models refit on everything before it);
    full ranking over the items the user has not interacted with."""
    valid, test = (leave_last_out(data, cfg.max_len, held=held, max_users=cfg.max_eval_users, seed=cfg.seed)
                   for held in (2, 1))
    fusion, base = tune_fusion(data, cfg, [valid], exclude_history=True)
    return evaluate_test(data, cfg, fusion, test, exclude_history=True, warm=warm_bases(base, cfg))[0]


def warm_bases(fitted: Fitted | None, cfg: TrainConfig) -> dict | None:
    """The fits a later cut's models continue, when train.warm_start is on."""
    return fitted.models if fitted is not None and cfg.warm_start.enabled else None


def summarize(report: dict, single: str, served: str) -> dict:
    """The gain a user gets: the served method (chosen on validation) over the single model
    chosen on validation, both on test. The "oracle" figures pick both by their test NDCG
    instead, an upper bound no deployment can choose."""
    models, fusion = report["models"], report["fusion"]

    def ndcg(group, name):
        return group[name]["ndcg@10"]

    oracle_single = max(models, key=lambda n: ndcg(models, n))
    oracle_fusion = max((m for m in fusion if m != "single"), key=lambda m: ndcg(fusion, m))
    out = {
        "best_single": single, "best_fusion": served,
        "best_single_ndcg@10": ndcg(models, single), "best_fusion_ndcg@10": ndcg(fusion, served),
        "fusion_gain_rel": ndcg(fusion, served) / max(ndcg(models, single), 1e-12) - 1,
        "oracle_single": oracle_single, "oracle_fusion": oracle_fusion,
        "fusion_gain_oracle_rel": ndcg(fusion, oracle_fusion) / max(ndcg(models, oracle_single), 1e-12) - 1,
    }
    if "sasrec" in models and "popularity" in models:
        out["sasrec_over_popularity"] = ndcg(models, "sasrec") / max(ndcg(models, "popularity"), 1e-12)
    return out


def evaluate(data: Dataset, cfg: TrainConfig) -> dict:
    """The whole protocol on one data set (benchmarks): tune on validation, report on test
    (and, when configured, fusion under leave-one-out too)."""
    fusion, base = tune_fusion(data, cfg)
    report = evaluate_test(data, cfg, fusion, warm=warm_bases(base, cfg))[0]
    if cfg.leave_last_out:
        report["leave_one_out"] = evaluate_leave_one_out(data, cfg)
    return report
