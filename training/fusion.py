"""Score fusion over candidates: the union of every model's top list.

The offline evaluation and the online service call the same functions, on per-model views
(training/views.py): each model's z-scores (statistics over the whole catalog) and top-list
ranks at the candidates. Items outside every model's top list are not ranked; scattered into a
full matrix (`dense`) they score -inf.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per-user standardisation, so models with different score scales can be added."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / (std + 1e-9)


def top_items(scores: np.ndarray, k: int) -> np.ndarray:
    """Each row's (or the vector's) k best positions, best first. torch.topk: over a 100k-item
    catalog np.argpartition + argsort costs ~5x more."""
    import torch

    k = min(k, scores.shape[-1])
    return torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), k, dim=-1).indices.numpy()


@dataclass
class Candidates:
    """Per user, the union of the models' top-`depth` items (-1 pads), and at each of them
    every model's z-score and 0-based rank in its top list (`depth` when not in it)."""

    items: np.ndarray  # (B, C)
    z: dict[str, np.ndarray]  # model -> (B, C)
    rank: dict[str, np.ndarray]  # model -> (B, C) float32
    depth: int

    @property
    def valid(self) -> np.ndarray:
        return self.items >= 0

    def without_history(self, history: list[np.ndarray], targets: np.ndarray) -> Candidates:
        """The same with each user's history items (other than the target) made pads: the
        paper protocol ranks only items the user has not interacted with."""
        items = self.items.copy()
        for row, seen in enumerate(history):
            items[row, np.isin(items[row], seen) & (items[row] != targets[row])] = -1
        return Candidates(items, self.z, self.rank, self.depth)

    def rows(self, keep: np.ndarray) -> Candidates:
        """The candidates of some users (a boolean mask or indices)."""
        return Candidates(self.items[keep], {n: z[keep] for n, z in self.z.items()},
                          {n: r[keep] for n, r in self.rank.items()}, self.depth)

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        """Stack several batches of users (pads widen to the longest candidate list)."""
        width = max(p.items.shape[1] for p in parts)

        def stack(arrays, fill):
            return np.concatenate([np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
                                   for a in arrays])

        return Candidates(stack([p.items for p in parts], -1),
                          {n: stack([p.z[n] for p in parts], 0.0) for n in parts[0].z},
                          {n: stack([p.rank[n] for p in parts], parts[0].depth) for n in parts[0].rank},
                          parts[0].depth)


def candidates(views: dict, depth: int, seen: tuple | None = None) -> Candidates:
    """The union of the views' top-`depth` lists; with `seen` = (each user's seen items,
    targets), seen items other than the target are dropped (the paper protocol)."""
    tops = {n: v.top[:, :depth] for n, v in views.items()}
    items = _union(list(tops.values()))
    made = Candidates(items, {n: np.where(items >= 0, v.z(items), 0.0).astype(np.float32)
                              for n, v in views.items()},
                      {n: ranks_in(t, items, depth) for n, t in tops.items()}, depth)
    return made.without_history(*seen) if seen else made


def whole_catalog(z: dict[str, np.ndarray]) -> Candidates:
    """Every item a candidate, given each signal's (B, n_items) z-scores: fusion over the
    whole catalog (offline search, a narrowly filtered search) with the same functions."""
    rows, n_items = next(iter(z.values())).shape
    return Candidates(np.broadcast_to(np.arange(n_items), (rows, n_items)), z, {}, n_items)


def _union(tops: list[np.ndarray]) -> np.ndarray:
    rows = [r[r >= 0] for r in map(np.unique, np.concatenate(tops, axis=1))]
    out = np.full((len(rows), max(len(r) for r in rows)), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def ranks_in(top: np.ndarray, items: np.ndarray, depth: int) -> np.ndarray:
    """0-based rank of each (B, C) item in its row of the (B, depth) top list, else depth."""
    width = max(int(items.max(initial=0)), int(top.max(initial=0))) + 1
    key = np.arange(len(top))[:, None] * width  # row-major keys: one sorted search for all rows
    flat = np.where(top >= 0, top + key, -1).ravel()
    order = np.argsort(flat, kind="stable")
    found = np.clip(np.searchsorted(flat[order], (items + key).ravel()), 0, len(flat) - 1)
    hit = (flat[order][found] == (items + key).ravel()) & (items.ravel() >= 0)
    rank = np.where(hit, order[found] % max(top.shape[1], 1), depth)
    return rank.reshape(items.shape).astype(np.float32)


def dense(items: np.ndarray, fused: np.ndarray, n_items: int) -> np.ndarray:
    """Scores at (B, C) or (C,) item positions (-1 pads) scattered into (B, n_items) or
    (n_items,), -inf elsewhere: metrics over the whole catalog, search's personal scores."""
    items2, fused2 = np.atleast_2d(items), np.atleast_2d(fused)
    out = np.full((len(items2), n_items), -np.inf, np.float32)
    rows = np.broadcast_to(np.arange(len(items2))[:, None], items2.shape)
    ok = items2 >= 0
    out[rows[ok], items2[ok]] = fused2[ok]
    return out.reshape(items.shape[:-1] + (n_items,))


def weighted(cand: Candidates, weights: dict[str, float]) -> np.ndarray:
    """(B, C) sum of weight x z-score; pads -inf."""
    out = np.zeros(cand.items.shape, np.float32)
    for name, w in weights.items():
        if w:
            out += w * cand.z[name]
    return np.where(cand.valid, out, -np.inf)


def rank_fusion(cand: Candidates, method: str, k: float = 60.0) -> np.ndarray:
    """Reciprocal rank fusion ('rrf': sum of 1/(k + rank)) or Borda count ('borda': each model's
    top list votes depth - rank points); (B, C), pads -inf."""
    out = np.zeros(cand.items.shape, np.float64)
    for rank in cand.rank.values():
        listed = rank < cand.depth
        out += np.where(listed, 1.0 / (k + rank + 1) if method == "rrf" else cand.depth - rank, 0.0)
    return np.where(cand.valid, out, -np.inf).astype(np.float32)


def candidate_target_ranks(cand: Candidates, fused: np.ndarray, targets: np.ndarray,
                           n_items: int) -> np.ndarray:
    """target_ranks over the fused candidates: a target outside them ranks n_items."""
    hit = cand.items == targets[:, None]
    found = hit.any(1)
    score = np.where(found, np.where(hit, fused, 0).sum(1), np.inf)
    ranks = (fused > score[:, None]).sum(1) + ((fused == score[:, None]).sum(1) - 1)
    return np.where(found, ranks, n_items)


# 0 and powers of two from 1/16 to 64: one model can be put far ahead of the others (the
# weighted sum is scale-free, so only ratios matter).
WEIGHT_GRID = (0.0, *(2.0**k for k in range(-4, 7)))


def tune_weights(cand: Candidates, objective, starts: list[dict[str, float]] | None = None,
                 grid=WEIGHT_GRID, max_rounds: int = 4) -> dict[str, float]:
    """Coordinate ascent on the validation objective (e.g. NDCG@10 of weighted(cand, w)), one
    model at a time until a round changes nothing, from each start (default: all models
    equal, and each model alone); the best end point wins."""
    names = list(cand.z)
    starts = starts or [dict.fromkeys(names, 1.0)] + [{n: float(n == m) for n in names} for m in names]
    best_value, best = -np.inf, starts[0]
    for weights in starts:
        value = objective(weighted(cand, weights))
        for _ in range(max_rounds):
            moved = False
            for name, w in itertools.product(names, grid):
                trial = {**weights, name: w}
                if w == weights[name] or not any(trial.values()):
                    continue
                trial_value = objective(weighted(cand, trial))
                if trial_value > value + 1e-9:
                    value, weights, moved = trial_value, trial, True
            if not moved:
                break
        if value > best_value + 1e-9:
            best_value, best = value, weights
    return best
