"""Pure pandas/numpy feature transforms, shared by the offline build and online serving.

Features are snapshots at day boundaries: a row stamped `B` uses only events with ts < B, so
Feast's point-in-time join (latest row with timestamp <= the training row's) cannot leak.
A snapshot is written wherever a value can change: the day after an entity's activity, and
the days its events leave each window; plus its first day and the data end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfusion.config import FeaturesConfig
from shopfusion.contracts import EVENT_TYPES

TS = "event_timestamp"  # Feast's timestamp column in every source


def _days(ts: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    return ((ts - origin) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)


def origin_of(events: pd.DataFrame) -> pd.Timestamp:
    return events["ts"].min().floor("D")


def _boundaries(codes: np.ndarray, days: np.ndarray, windows: tuple[int, ...], n_days: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(entity, boundary) pairs where some window count changes, the entity's first day (all
    zeros: Feast's file offline store drops training rows that match no feature row) and the
    data end (for the online store)."""
    shifts = np.array([1] + [1 + w for w in windows])
    ent = np.repeat(codes, len(shifts))
    bnd = (days[:, None] + shifts[None, :]).ravel()
    keep = bnd < n_days
    first = pd.Series(days).groupby(codes).min()
    ends = first.index.to_numpy()
    pairs = np.unique(np.stack([
        np.concatenate([ent[keep], ends, ends]),
        np.concatenate([bnd[keep], first.to_numpy(), np.full(len(ends), n_days)]),
    ], 1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def window_counts(events: pd.DataFrame, key: str, cfg: FeaturesConfig,
                  origin: pd.Timestamp) -> pd.DataFrame:
    """Per (entity, boundary): events of each type in each trailing window, and mean price."""
    codes, uniques = pd.factorize(events[key])
    days = _days(events["ts"], origin)
    n_days, n_ent = int(days.max()) + 1, len(uniques)
    ent, bnd = _boundaries(codes, days, cfg.windows_days, n_days)

    def cum(weights: np.ndarray) -> np.ndarray:
        # (entities, days + 1) running totals, column 0 = before the first day
        dense = np.bincount(codes * n_days + days, weights=weights, minlength=n_ent * n_days)
        return np.concatenate([np.zeros((n_ent, 1)), dense.reshape(n_ent, n_days).cumsum(1)], 1)

    def trailing(c: np.ndarray, w: int) -> np.ndarray:
        return c[ent, bnd] - c[ent, np.maximum(bnd - w, 0)]

    out = {key: uniques[ent], TS: origin + pd.to_timedelta(bnd, unit="D")}
    etype = events["event_type"].to_numpy()
    for t in EVENT_TYPES:
        c = cum((etype == t).astype(float))
        for w in cfg.windows_days:
            out[f"{t}_{w}d"] = trailing(c, w).astype(np.int64)
    price = events["price"].astype(float).to_numpy()
    has_price = ~np.isnan(price)
    w = max(cfg.windows_days)
    total, n = trailing(cum(np.where(has_price, price, 0.0)), w), trailing(cum(has_price * 1.0), w)
    out[f"price_level_{w}d"] = np.where(n > 0, total / np.maximum(n, 1), np.nan).astype(np.float32)
    frame = pd.DataFrame(out)
    frame["features_as_of"] = frame[TS]
    return frame


def recent_sequences(events: pd.DataFrame, at: pd.DataFrame, catalog: pd.DataFrame,
                     n: int) -> pd.DataFrame:
    """Each user's last `n` distinct items (newest first) strictly before each row's timestamp
    in `at`, the last event, and the favourite category and brand among those items."""
    ev = events.sort_values(["user_id", "ts"], kind="stable")
    user_pos = {u: (i, j) for u, i, j in _ranges(ev["user_id"])}
    ts = ev["ts"].to_numpy()
    items, types = ev["item_id"].to_numpy(dtype=object), ev["event_type"].to_numpy(dtype=object)
    cat_of = catalog.set_index("item_id")["category_path"].to_dict()
    brand_of = catalog.set_index("item_id")["brand"].to_dict()
    rows = []
    for user, stamp in zip(at["user_id"], at[TS].to_numpy()):
        lo, hi = user_pos[user]
        end = lo + int(np.searchsorted(ts[lo:hi], stamp, side="left"))
        # a view, click and purchase of one item are one step of the sequence
        seq = list(dict.fromkeys(items[max(lo, end - 4 * n): end][::-1]))[:n]
        rows.append((seq, seq[0] if seq else None, types[end - 1] if end > lo else None,
                     most_common([cat_of.get(i) for i in seq]), most_common([brand_of.get(i) for i in seq])))
    cols = ["recent_items", "last_item_id", "last_event_type", "favourite_category", "favourite_brand"]
    return pd.concat([at[["user_id", TS]].reset_index(drop=True),
                      pd.DataFrame(rows, columns=cols)], axis=1)


def _ranges(sorted_keys: pd.Series):
    keys = sorted_keys.to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return zip(keys[starts], starts, ends)


def most_common(values: list) -> str | None:
    values = [v for v in values if v is not None and v == v]
    return max(set(values), key=values.count) if values else None


def item_rates(popularity: pd.DataFrame, cfg: FeaturesConfig) -> pd.DataFrame:
    """Click-through (views -> clicks) and conversion (views -> purchases) per window."""
    out = popularity.copy()
    for w in cfg.windows_days:
        views = out[f"view_{w}d"].clip(lower=1)
        out[f"ctr_{w}d"] = (out[f"click_{w}d"] / views).astype(np.float32)
        out[f"cvr_{w}d"] = (out[f"purchase_{w}d"] / views).astype(np.float32)
    return out


def item_catalog_features(catalog: pd.DataFrame, n: int) -> pd.DataFrame:
    """Static item attributes, plus same-category-and-brand neighbours by price closeness
    (knowledge-graph edges from the catalog alone, so they cannot leak behaviour)."""
    cat = catalog.reset_index(drop=True)
    group = cat["category_path"].astype(str) + "|" + cat["brand"].fillna("").astype(str)
    price = cat["price"].astype(float).fillna(0.0).to_numpy()
    neighbours: list[list[str]] = [[] for _ in range(len(cat))]
    for idx in cat.groupby(group, sort=False).indices.values():
        if len(idx) < 2:
            continue
        gap = np.abs(price[idx][:, None] - price[idx][None, :])
        np.fill_diagonal(gap, np.inf)
        order = np.argsort(gap, axis=1, kind="stable")[:, : min(n, len(idx) - 1)]
        for row, nb in zip(idx, order):
            neighbours[row] = cat["item_id"].iloc[idx[nb]].tolist()
    return pd.DataFrame({
        "item_id": cat["item_id"], TS: cat["created_at"],
        "title": cat["title"], "category_path": cat["category_path"],
        "category_top": cat["category_path"].str.split("/").str[0], "brand": cat["brand"],
        "price": cat["price"].astype(np.float32), "same_category_brand": neighbours,
    })


def co_view_graph(events: pd.DataFrame, cfg: FeaturesConfig, origin: pd.Timestamp) -> pd.DataFrame:
    """Item -> items viewed next in the same session, most frequent first, snapshotted every
    `graph_every_days` from transitions strictly before each snapshot."""
    views = events[events["event_type"] == "view"].sort_values(["session_id", "ts"], kind="stable")
    nxt = views.groupby("session_id", sort=False)["item_id"].shift(-1)
    pairs = pd.DataFrame({"item_id": views["item_id"], "next": nxt,
                          "ts": views.groupby("session_id", sort=False)["ts"].shift(-1)}).dropna()
    pairs = pairs[pairs["item_id"] != pairs["next"]]
    last = int(_days(events["ts"], origin).max()) + 1
    snaps = list(range(cfg.graph_every_days, last, cfg.graph_every_days)) + [last]
    frames = []
    for b in snaps:
        stamp = origin + pd.Timedelta(days=b)
        top = (pairs[pairs["ts"] < stamp].groupby(["item_id", "next"]).size().rename("n")
               .reset_index().sort_values(["item_id", "n", "next"], ascending=[True, False, True])
               .groupby("item_id").head(cfg.neighbours))
        g = top.groupby("item_id", sort=False)["next"].agg(list).rename("co_view_neighbours")
        frames.append(g.reset_index().assign(**{TS: stamp, "features_as_of": stamp}))
    return pd.concat(frames, ignore_index=True)
