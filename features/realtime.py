"""Real-time path: fold a user's new event into their online features without retraining."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from shopfusion.features.transforms import TS, most_common

if TYPE_CHECKING:
    from feast import FeatureStore

PUSHED_VIEW = "user_recent"  # the feature view whose source is the push source
RECENT = ["user_recent:recent_items", "user_recent:favourite_category", "user_recent:favourite_brand"]


def push_events(store: FeatureStore, events: Sequence[Mapping], n_recent: int,
                item_attrs: Mapping[str, tuple[str, str]] | None = None) -> list[dict]:
    """Fold events, in order, into their users' recent sequences (each item put first): one
    online read of every user's row, one write of each user's new row.

    `item_attrs` maps item -> (category_path, brand) to refresh the favourites; without it the
    previous favourites are kept. Returns the written rows, one per user.

    The rows go straight to `user_recent`, the one view fed by the push source: same effect
    as `store.push(PUSH_SOURCE, ...)`, which first rebuilds every view from the registry under
    runtime type checks (18 ms here against 1.7 ms).
    """
    users = list(dict.fromkeys(e["user_id"] for e in events))
    old = store.get_online_features(features=RECENT, entity_rows=[{"user_id": u} for u in users]).to_dict()
    rows = {u: {"recent_items": old["recent_items"][n] or [], "favourite_brand": old["favourite_brand"][n],
                "favourite_category": old["favourite_category"][n]} for n, u in enumerate(users)}
    for event in events:
        user, item, row = event["user_id"], event["item_id"], rows[event["user_id"]]
        seq = [item] + [i for i in row["recent_items"] if i != item][: n_recent - 1]
        if item_attrs is not None:
            row["favourite_category"] = most_common(
                [item_attrs.get(i, (None, None))[0] for i in seq]) or row["favourite_category"]
            row["favourite_brand"] = most_common(
                [item_attrs.get(i, (None, None))[1] for i in seq]) or row["favourite_brand"]
        row.update({"user_id": user, TS: pd.Timestamp(event["ts"]), "recent_items": seq,
                    "last_item_id": item, "last_event_type": event["event_type"]})
    store.write_to_online_store(PUSHED_VIEW, pd.DataFrame(list(rows.values())))
    return list(rows.values())
