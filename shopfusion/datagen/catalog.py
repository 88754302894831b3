"""Synthetic catalog: items with a category tree, brands, prices, popularity and launch dates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfusion.config import GeneratorConfig
from shopfusion.datagen.vocab import BRAND_SYLLABLES, CATEGORY_TREE, MODEL_WORDS

N_ADJECTIVES = 8  # per top category in the vocabulary
PRE_WINDOW_DAYS = 365  # items that exist at the start were launched within the prior year


@dataclass
class Catalog:
    """Item attributes as aligned arrays (index = item number) plus sampling helpers."""

    category: np.ndarray  # leaf category per item
    top: np.ndarray  # top category per item
    brand: np.ndarray
    adjectives: np.ndarray  # (n_items, 2) adjective index within the top category
    price: np.ndarray
    popularity: np.ndarray  # unnormalised sampling weight
    created_s: np.ndarray  # launch time, seconds from window start
    successors: np.ndarray  # (n_items, k) item-to-item transition targets
    n_subs: int
    n_leaves: int
    tops: list[str]
    brand_names: list[str]

    def __post_init__(self) -> None:
        # Items sorted by leaf category with per-category normalised cumulative weights placed
        # in [c, c+1): one searchsorted then samples "an item of category c by popularity".
        self._order = np.argsort(self.category, kind="stable")
        w = self.popularity[self._order]
        cats = self.category[self._order]
        mass = np.bincount(cats, weights=w, minlength=self.n_leaves)
        cum = np.cumsum(w) - np.repeat(np.cumsum(mass) - mass, np.bincount(cats, minlength=self.n_leaves))
        self._cum = cats + cum / mass[cats]
        self.has_items = mass > 0

    @property
    def n_items(self) -> int:
        return len(self.category)

    def sample_in_category(self, cats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of `cats`, drawn by popularity within that leaf category."""
        pos = np.searchsorted(self._cum, cats + rng.random(len(cats)) * 0.999999, side="right")
        return self._order[np.minimum(pos, self.n_items - 1)]

    def sub_noun(self, items: np.ndarray) -> list[str]:
        return [_subs(self.tops[t])[c % self.n_subs] for t, c in zip(self.top[items], self.category[items])]

    def adjective(self, items: np.ndarray, which: int = 0) -> list[str]:
        return [_adjs(self.tops[t])[a] for t, a in zip(self.top[items], self.adjectives[items, which])]


def _subs(top: str) -> tuple[str, ...]:
    return CATEGORY_TREE[top][0]


def _adjs(top: str) -> tuple[str, ...]:
    return CATEGORY_TREE[top][1]


def brand_names(n: int, rng: np.random.Generator) -> list[str]:
    """Distinct pronounceable brand names from syllables."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        k = rng.integers(2, 4)
        name = "".join(rng.choice(BRAND_SYLLABLES, size=k)).capitalize()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def build_catalog(cfg: GeneratorConfig, rng: np.random.Generator) -> Catalog:
    tops = list(CATEGORY_TREE)[: cfg.n_top_categories]
    n_subs = cfg.n_sub_categories
    if len(tops) < cfg.n_top_categories or n_subs > len(_subs(tops[0])):
        raise ValueError(
            f"vocabulary has {len(CATEGORY_TREE)} top categories x {len(_subs(tops[0]))} subs; "
            f"asked for {cfg.n_top_categories} x {n_subs}"
        )
    n_leaves = len(tops) * n_subs
    n = cfg.n_items + cfg.drift.new_item_burst
    window_s = cfg.days * 86_400

    leaf_share = rng.gamma(2.0, size=n_leaves)
    category = rng.choice(n_leaves, size=n, p=leaf_share / leaf_share.sum())
    top = category // n_subs
    # Brands specialise in one top category; an item's brand comes from its top's brands.
    n_brands = max(cfg.n_brands, len(tops))
    brand_top = np.arange(n_brands) % len(tops)
    brands_of_top = [np.flatnonzero(brand_top == t) for t in range(len(tops))]
    brand = np.array([brands_of_top[t][rng.integers(len(brands_of_top[t]))] for t in top])
    adj1 = rng.integers(0, N_ADJECTIVES, n)
    adj2 = (adj1 + rng.integers(1, N_ADJECTIVES, n)) % N_ADJECTIVES  # never the same word twice
    adjectives = np.stack([adj1, adj2], axis=1)

    leaf_price = np.exp(rng.normal(3.0, 0.9, n_leaves))
    price = np.round(leaf_price[category] * np.exp(rng.normal(0, 0.3, n)), 0) - 0.01
    price = np.maximum(price, 0.99)

    popularity = (rng.permutation(n) + 1.0) ** -cfg.popularity_alpha
    created_s = -rng.uniform(0, PRE_WINDOW_DAYS * 86_400, n)
    n_new = int(round(cfg.new_item_share * cfg.n_items))
    new = rng.choice(cfg.n_items, size=n_new, replace=False)
    created_s[new] = rng.uniform(0, window_s, n_new)
    if cfg.drift.new_item_burst:
        burst = np.arange(cfg.n_items, n)
        created_s[burst] = cfg.drift.start_fraction * window_s
        # Launched with a campaign: as popular as the catalog's top 1%.
        popularity[burst] = np.quantile(popularity[: cfg.n_items], 0.99)

    catalog = Catalog(category, top, brand, adjectives, price, popularity, created_s,
                      np.zeros((n, 0), dtype=np.int64), n_subs, n_leaves, tops,
                      brand_names(n_brands, rng))
    catalog.successors = _successors(catalog, cfg.successors_per_item, rng)
    return catalog


def _successors(cat: Catalog, k: int, rng: np.random.Generator) -> np.ndarray:
    """Item-to-item graph: mostly complements from the same top category (phone -> charger)."""
    n = cat.n_items
    same_top = rng.random((n, k)) < 0.85
    sub = rng.integers(0, cat.n_subs, (n, k))
    random_leaf = rng.integers(0, cat.n_leaves, (n, k))
    leaf = np.where(same_top, cat.top[:, None] * cat.n_subs + sub, random_leaf)
    leaf = np.where(cat.has_items[leaf], leaf, cat.category[:, None])
    return cat.sample_in_category(leaf.ravel(), rng).reshape(n, k)


def catalog_frame(cat: Catalog, start: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """The catalog under the CATALOG contract, with titles and descriptions from the vocabulary."""
    items = np.arange(cat.n_items)
    nouns, adj1, adj2 = cat.sub_noun(items), cat.adjective(items, 0), cat.adjective(items, 1)
    brands = [cat.brand_names[b] for b in cat.brand]
    models = rng.choice(MODEL_WORDS, cat.n_items)
    numbers = rng.integers(1, 100, cat.n_items) * 10
    title = [f"{b} {a.capitalize()} {s} {m}{x}"
             for b, a, s, m, x in zip(brands, adj1, nouns, models, numbers)]
    desc = [
        f"{a.capitalize()} and {b} {s} by {br}, part of our {t.lower()} range."
        for a, b, s, br, t in zip(adj1, adj2, nouns, brands, (cat.tops[t] for t in cat.top))
    ]
    return pd.DataFrame({
        "item_id": item_ids(items),
        "title": title,
        "description": desc,
        "category_path": [f"{cat.tops[t]}/{s}" for t, s in zip(cat.top, nouns)],
        "brand": brands,
        "price": cat.price,
        "created_at": start + pd.to_timedelta(np.round(cat.created_s), unit="s"),
    })


def item_ids(items: np.ndarray) -> pd.Series:
    return "i" + pd.Series(items, dtype="int64").astype(str)
