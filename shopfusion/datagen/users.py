"""Synthetic shoppers: arrival times, activity levels, latent category tastes, favourite brands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopfusion.config import GeneratorConfig
from shopfusion.datagen.catalog import Catalog


@dataclass
class Users:
    arrival_s: np.ndarray  # first possible visit, seconds from window start
    activity: np.ndarray  # relative session rate
    taste: np.ndarray  # (n_users, n_leaves) category preference, rows sum to 1
    fav_brand: np.ndarray  # (n_users, n_tops) favourite brand per top category

    def __post_init__(self) -> None:
        n_users, n_leaves = self.taste.shape
        # Row-wise cumulative tastes offset by the user number: user u's leaves live in [u, u+1).
        self._cum = (np.cumsum(self.taste, axis=1) + np.arange(n_users)[:, None]).ravel()
        self._n_leaves = n_leaves
        self._order = np.argsort(self.arrival_s, kind="stable")
        self._arrival_sorted = self.arrival_s[self._order]
        self._cum_activity = np.cumsum(self.activity[self._order])

    def sample_leaf(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = users + rng.random(len(users)) * 0.999999
        pos = np.searchsorted(self._cum, u, side="right")
        return np.minimum(pos - users * self._n_leaves, self._n_leaves - 1)

    def sample_active(self, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each time, a user who has arrived by then, drawn by activity."""
        arrived = np.maximum(np.searchsorted(self._arrival_sorted, times, side="right"), 1)
        target = rng.random(len(times)) * self._cum_activity[arrived - 1]
        pos = np.searchsorted(self._cum_activity, target, side="right")
        return self._order[np.minimum(pos, arrived - 1)]


def build_users(cfg: GeneratorConfig, cat: Catalog, rng: np.random.Generator) -> Users:
    n = cfg.n_users
    window_s = cfg.days * 86_400
    arrival = np.zeros(n)
    n_new = int(round(cfg.new_user_share * n))
    arrival[rng.choice(n, n_new, replace=False)] = rng.uniform(0, window_s, n_new)
    activity = rng.lognormal(0.0, 1.0, n)
    # Tastes only over leaves that hold items, so every sampled leaf can produce an item.
    alpha = np.where(cat.has_items, cfg.taste_concentration, 1e-9)
    taste = rng.gamma(np.broadcast_to(alpha, (n, cat.n_leaves)))
    taste /= taste.sum(axis=1, keepdims=True)
    brands_of_top = [np.unique(cat.brand[cat.top == t]) for t in range(len(cat.tops))]
    fav_brand = np.stack(
        [b[rng.integers(0, len(b), n)] if len(b) else np.full(n, -1) for b in brands_of_top],
        axis=1,
    )
    return Users(arrival, activity, taste, fav_brand)
