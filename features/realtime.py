"""Real-time path: fold a user's new event into their online features without retraining."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from shopfusion.features.transforms import TS, most_common

if TYPE_CHECKING:
    from feast import FeatureStore

PUSHED_VIEW = "user_recent"  # the feature view whose source is the push source
RECENT = ["user_recent:recent_items", "user_recent:favourite_category", "user_recent:favourite_brand"]


def push_event(store: FeatureStore, event: Mapping, n_recent: int,
               item_attrs: Mapping[str, tuple[str, str]] | None = None) -> dict:
    """Read the user's recent sequence, put this item first, write the new row online.

    `item_attrs` maps item -> (category_path, brand) to refresh the favourites; without it the
    previous favourites are kept. Returns the written row.

    The row goes straight to `user_recent`, the one view fed by the push source: same effect
    as `store.push(PUSH_SOURCE, ...)`, which first rebuilds every view from the registry under
    runtime type checks (18 ms here against 1.7 ms).
    """
    user, item = event["user_id"], event["item_id"]
    old = store.get_online_features(features=RECENT, entity_rows=[{"user_id": user}]).to_dict()
    previous = old["recent_items"][0] or []
    seq = [item] + [i for i in previous if i != item][: n_recent - 1]
    fav_cat, fav_brand = old["favourite_category"][0], old["favourite_brand"][0]
    if item_attrs is not None:
        fav_cat = most_common([item_attrs.get(i, (None, None))[0] for i in seq]) or fav_cat
        fav_brand = most_common([item_attrs.get(i, (None, None))[1] for i in seq]) or fav_brand
    row = {"user_id": user, TS: pd.Timestamp(event["ts"]), "recent_items": seq,
           "last_item_id": item, "last_event_type": event["event_type"],
           "favourite_category": fav_cat, "favourite_brand": fav_brand}
    store.write_to_online_store(PUSHED_VIEW, pd.DataFrame([row]))
    return row
