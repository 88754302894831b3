"""Learned fusion: a LightGBM LambdaRank model over candidates from every base model.

Trained on a later window than the base models (the validation window, scored by models fit
before it), so it learns how to combine them without seeing the test window.
"""

from __future__ import annotations

import numpy as np

from shopfusion.training.fusion import top_ranks, with_ranks, zscore


def candidates(tops: list[np.ndarray]) -> np.ndarray:
    """(users, C) union of every model's top items (`top_ranks` rows), padded with -1."""
    rows = [np.unique(r) for r in np.concatenate(tops, axis=1)]
    out = np.full((len(rows), max(len(r) for r in rows)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def inputs(scores: dict[str, np.ndarray], item_feats: np.ndarray, history_len: np.ndarray,
           depth: int, tops: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The candidates, and per (user, candidate) each model's z-score and top-list rank, item
    features, history length: shape (users * C, F). Each model's top list is ranked once;
    `tops` (each model's best items, best first, at least `depth` deep) when already known."""
    if tops is None:
        tops = {name: top_ranks(s, depth) for name, s in scores.items()}
    else:
        tops = {name: with_ranks(t[:, :depth]) for name, t in tops.items()}
    cand = candidates([items for items, _ in tops.values()])
    safe = np.maximum(cand, 0)
    cols = []
    for name, s in scores.items():
        cols.append(np.take_along_axis(zscore(s), safe, 1))
        items, ranks = tops[name]
        rank_of = np.full(s.shape, depth, dtype=np.float32)
        np.put_along_axis(rank_of, items, ranks.astype(np.float32), 1)
        cols.append(np.take_along_axis(rank_of, safe, 1))
    cols += [item_feats[safe][..., j] for j in range(item_feats.shape[1])]
    cols.append(np.broadcast_to(history_len[:, None], cand.shape).astype(np.float32))
    return cand, np.stack(cols, axis=-1).reshape(-1, len(cols))


class Stacker:
    def __init__(self, depth: int = 50, n_estimators: int = 200, learning_rate: float = 0.05,
                 num_leaves: int = 31, seed: int = 0):
        self.depth = depth
        self.params = dict(objective="lambdarank", n_estimators=n_estimators,
                           learning_rate=learning_rate, num_leaves=num_leaves, random_state=seed,
                           min_child_samples=10, verbose=-1, n_jobs=2)
        self.model = None
        self.predict_threads = 0  # LightGBM's default (all cores); serving sets 1 per request

    def fit(self, scores: dict[str, np.ndarray], targets: np.ndarray, item_feats: np.ndarray,
            history_len: np.ndarray) -> Stacker:
        return self.fit_windows([(scores, targets, item_feats, history_len)])

    def fit_windows(self, windows: list[tuple]) -> Stacker:
        """Train on several windows at once: (scores, targets, item_feats, history_len) each,
        item features as of that window's cut."""
        import lightgbm as lgb

        xs, ys, groups = [], [], []
        for scores, targets, item_feats, history_len in windows:
            cand, x = inputs(scores, item_feats, history_len, self.depth)
            valid = cand.ravel() >= 0
            xs.append(x[valid])
            ys.append((cand == targets[:, None]).astype(int).ravel()[valid])
            groups.append((cand >= 0).sum(axis=1))
        self.model = lgb.LGBMRanker(**self.params).fit(np.concatenate(xs), np.concatenate(ys),
                                                       group=np.concatenate(groups))
        return self

    def save(self, path) -> None:
        self.model.booster_.save_model(str(path))

    @classmethod
    def load(cls, path, depth: int) -> Stacker:
        import lightgbm as lgb

        stacker = cls(depth=depth)
        stacker.model = lgb.Booster(model_file=str(path))
        return stacker

    def score(self, scores: dict[str, np.ndarray], item_feats: np.ndarray,
              history_len: np.ndarray, tops: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Full (users, items) matrix: stacker scores on candidates, -inf elsewhere."""
        cand, x = inputs(scores, item_feats, history_len, self.depth, tops)
        pred = self.model.predict(x, num_threads=self.predict_threads)
        pred = pred.reshape(cand.shape)
        first = next(iter(scores.values()))
        out = np.full(first.shape, -np.inf, dtype=np.float32)
        rows = np.repeat(np.arange(len(cand)), cand.shape[1]).reshape(cand.shape)
        ok = cand >= 0
        out[rows[ok], cand[ok]] = pred[ok]
        return out
