"""Learned fusion: a LightGBM LambdaRank model over candidates from every base model.

Trained on a later window than the base models (the validation window, scored by models fit
before it), so it learns how to combine them without seeing the test window.
"""

from __future__ import annotations

import numpy as np

from shopfusion.training.fusion import Candidates

DAY = 86_400.0


def item_age_days(cut: float, data) -> np.ndarray:
    """Each item's age in days at `cut` (0 for items created after it, capped at ten years)."""
    return np.clip((cut - data.item_created) / DAY, 0, 3650)


def item_features(counts: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """Per item: train popularity, age at the cut, unseen flag (offline and in the bundle)."""
    return np.stack([np.log1p(counts), age_days, (counts == 0).astype(float)], 1).astype(np.float32)


def inputs(cand: Candidates, item_feats: np.ndarray, history_len: np.ndarray) -> np.ndarray:
    """Per (user, candidate): each model's z-score, top-list rank and gap to its own best
    candidate's z-score; how many models list the item and its best rank among them; item
    features; history length. Shape (users * C, F)."""
    safe = np.maximum(cand.items, 0)
    cols = []
    for name in cand.z:
        z = cand.z[name]
        best = np.where(cand.valid, z, -np.inf).max(axis=1, keepdims=True)
        cols += [z, cand.rank[name], z - np.where(np.isfinite(best), best, 0.0)]
    ranks = np.stack(list(cand.rank.values()))
    cols += [(ranks < cand.depth).sum(0).astype(np.float32), ranks.min(0)]
    cols += [item_feats[safe][..., j] for j in range(item_feats.shape[1])]
    cols.append(np.broadcast_to(history_len[:, None], safe.shape).astype(np.float32))
    return np.stack(cols, axis=-1).reshape(-1, len(cols)).astype(np.float32)


class Stacker:
    def __init__(self, depth: int = 50, n_estimators: int = 200, learning_rate: float = 0.05,
                 num_leaves: int = 31, min_child_samples: int = 10, early_stopping_share: float = 0.2,
                 early_stopping_rounds: int = 20, seed: int = 0):
        self.depth = depth
        self.params = dict(objective="lambdarank", n_estimators=n_estimators,
                           learning_rate=learning_rate, num_leaves=num_leaves, random_state=seed,
                           min_child_samples=min_child_samples, verbose=-1, n_jobs=2)
        self.early_stopping_share = early_stopping_share
        self.early_stopping_rounds = early_stopping_rounds
        self.seed = seed
        self.model = None
        self.trees = 0  # trees kept (after early stopping)
        self.predict_threads = 0  # LightGBM's default (all cores); serving sets 1 per request

    def fit(self, cand: Candidates, targets: np.ndarray, item_feats: np.ndarray,
            history_len: np.ndarray) -> Stacker:
        return self.fit_windows([(cand, targets, item_feats, history_len)])

    def fit_windows(self, windows: list[tuple], trees: int | None = None) -> Stacker:
        """Train on several windows at once: (candidates at this stacker's depth, targets,
        item_feats, history_len) each, item features as of that window's cut. Without `trees`,
        a seeded share of the users stops the boosting when NDCG@10 on them stops rising
        (small data overfits); with it, exactly that many trees on every user."""
        import lightgbm as lgb

        xs, ys, groups = [], [], []
        for cand, targets, item_feats, history_len in windows:
            valid = cand.valid.ravel()
            xs.append(inputs(cand, item_feats, history_len)[valid])
            ys.append((cand.items == targets[:, None]).astype(int).ravel()[valid])
            groups.append(cand.valid.sum(axis=1))
        x, y, group = np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)
        if trees is not None or self.early_stopping_share <= 0:
            params = {**self.params, "n_estimators": trees or self.params["n_estimators"]}
            self.model = lgb.LGBMRanker(**params).fit(x, y, group=group)
            self.trees = params["n_estimators"]
            return self
        held = np.random.default_rng(self.seed).random(len(group)) < self.early_stopping_share
        if held.all() or not held.any():
            return self.fit_windows(windows, self.params["n_estimators"])
        row_held = np.repeat(held, group)
        self.model = lgb.LGBMRanker(**self.params).fit(
            x[~row_held], y[~row_held], group=group[~held], eval_X=(x[row_held],), eval_y=(y[row_held],),
            eval_group=[group[held]], eval_at=[10],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        self.trees = int(self.model.best_iteration_ or self.params["n_estimators"])
        return self

    def save(self, path) -> None:
        self.model.booster_.save_model(str(path))

    @classmethod
    def load(cls, path, depth: int) -> Stacker:
        import lightgbm as lgb

        stacker = cls(depth=depth)
        stacker.model = lgb.Booster(model_file=str(path))
        return stacker

    def score(self, cand: Candidates, item_feats: np.ndarray, history_len: np.ndarray) -> np.ndarray:
        """(B, C) stacker scores at the candidates (built at `self.depth`); pads -inf."""
        pred = self.model.predict(inputs(cand, item_feats, history_len), num_threads=self.predict_threads)
        return np.where(cand.valid, pred.reshape(cand.items.shape), -np.inf).astype(np.float32)
