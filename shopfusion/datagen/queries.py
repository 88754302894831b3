"""Search queries built from item attributes, and graded relevance judgments for them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfusion.datagen.catalog import Catalog, item_ids

# Query forms: 0 = "noun", 1 = "adjective noun", 2 = "brand noun"
JUDGED_PER_GRADE = {1: 20, 0: 20}  # sampled low grades per query (all grade 2-3 items are kept)


def query_text(cat: Catalog, items: np.ndarray, forms: np.ndarray) -> np.ndarray:
    """The query a shopper looking for `items` would type, in the given forms."""
    nouns, adjs = cat.sub_noun(items), cat.adjective(items, 0)
    brands = [cat.brand_names[b].lower() for b in cat.brand[items]]
    out = [
        n if f == 0 else f"{a} {n}" if f == 1 else f"{b} {n}"
        for n, a, b, f in zip(nouns, adjs, brands, forms)
    ]
    return np.array(out, dtype=object)


def grade(cat: Catalog, target: int, form: int) -> np.ndarray:
    """Relevance of every item to the query generated from item `target` in `form`.

    3: every query term matches (leaf category, and the adjective or brand when asked);
    2: same leaf category, other terms not matched;
    1: same top category and shares the adjective or brand; 0: anything else.
    """
    same_leaf = cat.category == cat.category[target]
    same_top = cat.top == cat.top[target]
    same_brand = cat.brand == cat.brand[target]
    same_adj = (cat.adjectives[:, 0] == cat.adjectives[target, 0]) & same_top
    extra = np.ones(cat.n_items, bool) if form == 0 else same_adj if form == 1 else same_brand
    g = np.zeros(cat.n_items, dtype=np.int64)
    g[same_top & (same_adj | same_brand)] = 1
    g[same_leaf] = 2
    g[same_leaf & extra] = 3
    return g


def build_judgments(cat: Catalog, n_queries: int, rng: np.random.Generator) -> pd.DataFrame:
    """Judged queries from launched-before-window items; all items graded 2-3 plus samples."""
    old = np.flatnonzero(cat.created_s <= 0)
    frames, seen = [], set()
    for target, form in zip(rng.choice(old, n_queries * 3), rng.integers(0, 3, n_queries * 3)):
        text = query_text(cat, np.array([target]), np.array([form]))[0]
        if text in seen:
            continue
        seen.add(text)
        g = grade(cat, target, form)
        keep = [np.flatnonzero(g >= 2)]
        for level, n in JUDGED_PER_GRADE.items():
            pool = np.flatnonzero(g == level)
            keep.append(rng.choice(pool, min(n, len(pool)), replace=False))
        idx = np.concatenate(keep)
        frames.append(pd.DataFrame({"query": text, "item_id": item_ids(idx), "relevance": g[idx]}))
        if len(seen) == n_queries:
            break
    return pd.concat(frames, ignore_index=True)
