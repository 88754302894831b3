"""Corrupt an event batch at requested rates, returning the ground truth of what was broken.

Each kind hits its own disjoint set of rows, so a validator can be scored row by row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfusion.config import CorruptionConfig

NULLABLE_KEYS = ("event_id", "user_id", "item_id", "session_id", "ts", "event_type")
FUTURE_OFFSET = pd.Timedelta(days=3650)  # far past any batch window and wall clock
BAD_PRICE_TEXT = ("N/A", "twelve", "12,99 EUR", "", "?")
CLEAN = ""


def corrupt(events: pd.DataFrame, cfg: CorruptionConfig, seed: int = 0
            ) -> tuple[pd.DataFrame, pd.Series]:
    """Return (corrupted copy, truth) where truth[i] names the corruption of row i or is ''."""
    rng = np.random.default_rng(seed)
    df = events.reset_index(drop=True).copy()
    n = len(df)
    truth = pd.Series(CLEAN, index=df.index, dtype=object)
    rates = cfg.rates()
    counts = {k: int(round(r * n)) for k, r in rates.items()}
    if sum(counts.values()) > n // 2:
        raise ValueError(f"corruption rates {rates} exceed half the batch")
    # Duplicates copy an earlier clean row, so targets come from the back half of the batch.
    perm = rng.permutation(n)
    n_dup = counts.pop("duplicate", 0)
    late = perm[perm >= n // 2][:n_dup]
    rest = perm[~np.isin(perm, late)]
    has_price = df["price"].notna().to_numpy()
    # wrong_type goes last: it turns the price column into text, which the others can't edit.
    for kind in sorted(counts, key=lambda k: k == "wrong_type"):
        pool = rest[has_price[rest]] if kind in ("negative_price", "wrong_type") else rest
        rows = pool[: counts[kind]]
        rest = rest[~np.isin(rest, rows)]
        _apply(df, kind, rows, rng)
        truth.iloc[rows] = kind
    if n_dup:
        clean_early = rest[rest < n // 2]
        take = np.arange(n)
        take[late] = clean_early[rng.integers(0, len(clean_early), n_dup)]
        df = df.iloc[take].reset_index(drop=True)
        truth.iloc[late] = "duplicate"
    return df, truth


def _apply(df: pd.DataFrame, kind: str, rows: np.ndarray, rng: np.random.Generator) -> None:
    if kind == "null_key":
        cols = rng.choice(NULLABLE_KEYS, len(rows))
        for col in NULLABLE_KEYS:
            df.loc[rows[cols == col], col] = None
    elif kind == "unknown_item":
        df.loc[rows, "item_id"] = [f"unknown-{i}" for i in rows]
    elif kind == "negative_price":
        df.loc[rows, "price"] = -df.loc[rows, "price"].abs() - 0.01
    elif kind == "future_timestamp":
        df.loc[rows, "ts"] = df.loc[rows, "ts"] + FUTURE_OFFSET
    elif kind == "wrong_type":
        # One bad cell turns the whole column into text, as it would in a CSV export.
        text = df["price"].astype(object).where(df["price"].isna(), df["price"].astype(str))
        text.iloc[rows] = rng.choice(BAD_PRICE_TEXT, len(rows))
        df["price"] = text.astype("string")
    else:
        raise ValueError(f"unknown corruption kind {kind!r}")
