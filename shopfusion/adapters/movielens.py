"""MovieLens-100k in RecBole atomic files (GroupLens terms: research use only, not shipped).

Ratings become implicit events by strength: 4-5 purchase, 3 click, 1-2 view. A session is
one user's ratings on one calendar day. An item is 'created' at its first rating.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopfusion.adapters import require
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS
from shopfusion.datagen import ShopData

DIR = "recbole-ml-100k"
RATING_TO_EVENT = {1: "view", 2: "view", 3: "click", 4: "purchase", 5: "purchase"}


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_csv(require(path), sep="\t", dtype=str, keep_default_na=False)
    return df.rename(columns=lambda c: c.split(":")[0])


def load(shared_dir: Path) -> ShopData:
    folder = shared_dir / DIR
    return from_files(_read(folder / "ml-100k.inter.gz"), _read(folder / "ml-100k.item.gz"))


def from_files(inter: pd.DataFrame, movies: pd.DataFrame) -> ShopData:
    """RecBole's ratings and movies tables in the contracts; an item's `created_at` is its
    first rating (the only trace of when it became available), known from that rating on."""
    ts = pd.to_datetime(inter["timestamp"].astype(float).astype("int64"), unit="s", utc=True)
    events = pd.DataFrame({
        "event_id": "ml" + pd.Series(range(len(inter))).astype(str),
        "user_id": inter["user_id"],
        "item_id": inter["item_id"],
        "event_type": inter["rating"].astype(float).astype(int).map(RATING_TO_EVENT),
        "query": None,
        "session_id": inter["user_id"] + "-" + ts.dt.strftime("%Y%m%d"),
        "ts": ts,
        "price": None,
        "quantity": 1,
    })
    first_seen = ts.groupby(inter["item_id"]).min()
    genres = movies["class"].str.split()
    catalog = pd.DataFrame({
        "item_id": movies["item_id"],
        "title": movies["movie_title"],
        "description": movies["movie_title"] + " (" + movies["release_year"] + "). Genres: "
        + genres.str.join(", "),
        "category_path": "Movies/" + genres.str[0].fillna("unknown"),
        "brand": None,
        "price": None,
        "created_at": movies["item_id"].map(first_seen),
    })
    return ShopData(CATALOG.conform(catalog), EVENTS.conform(events), JUDGMENTS.empty())
