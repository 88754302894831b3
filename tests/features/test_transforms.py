"""Feature transforms agree with brute-force recomputation and never look ahead."""

import pandas as pd
import pytest

from shopfusion.config import FeaturesConfig
from shopfusion.features import transforms as tf

CFG = FeaturesConfig(embed_text=False)


@pytest.fixture(scope="module")
def events(small_shop):
    return small_shop.events


def brute_count(events, key, entity, start, end, event_type):
    ev = events[(events[key] == entity) & (events["event_type"] == event_type)]
    return int(((ev["ts"] >= start) & (ev["ts"] < end)).sum())


@pytest.mark.parametrize("key", ["user_id", "item_id"])
def test_window_counts_match_brute_force(events, key):
    origin = tf.origin_of(events)
    counts = tf.window_counts(events, key, CFG, origin)
    sample = counts.sample(40, random_state=0)
    for _, row in sample.iterrows():
        for w in CFG.windows_days:
            for t in ("view", "purchase"):
                start = row[tf.TS] - pd.Timedelta(days=w)
                assert row[f"{t}_{w}d"] == brute_count(events, key, row[key], start, row[tf.TS], t)


def test_counts_decay_to_zero_after_activity(events):
    counts = tf.window_counts(events, "user_id", CFG, tf.origin_of(events))
    last = counts.sort_values(tf.TS).groupby("user_id").tail(1)
    quiet = last[last[tf.TS] < last[tf.TS].max()]  # users whose last change is before data end
    assert (quiet[[f"view_{w}d" for w in CFG.windows_days]] == 0).all().all()
    assert counts.groupby("user_id")[tf.TS].max().eq(counts[tf.TS].max()).all()  # data-end row


def test_recent_sequence_is_distinct_newest_first_and_strictly_before(events, small_shop):
    at = tf.window_counts(events, "user_id", CFG, tf.origin_of(events))[["user_id", tf.TS]]
    rec = tf.recent_sequences(events, at.sample(50, random_state=1), small_shop.catalog, 5)
    for _, row in rec.iterrows():
        before = events[(events["user_id"] == row["user_id"]) & (events["ts"] < row[tf.TS])]
        expected = list(dict.fromkeys(before["item_id"].iloc[::-1]))[:5]
        assert row["recent_items"] == expected
        assert row["last_item_id"] == (expected[0] if expected else None)


def test_catalog_neighbours_share_category_and_brand(small_shop):
    feats = tf.item_catalog_features(small_shop.catalog, 5)
    attrs = small_shop.catalog.set_index("item_id")[["category_path", "brand"]]
    with_nb = feats[feats["same_category_brand"].map(len) > 0]
    assert len(with_nb) > 0
    for item, nbs in zip(with_nb["item_id"], with_nb["same_category_brand"]):
        assert item not in nbs
        assert (attrs.loc[nbs] == attrs.loc[item]).all().all()


def test_co_view_graph_uses_only_earlier_transitions(events):
    graph = tf.co_view_graph(events, CFG, tf.origin_of(events))
    first = graph[graph[tf.TS] == graph[tf.TS].min()]
    cutoff = first[tf.TS].iloc[0]
    early = events[events["ts"] < cutoff]
    seen_items = set(early["item_id"])
    assert set(first["item_id"]) <= seen_items
    assert all(set(nb) <= seen_items for nb in first["co_view_neighbours"])
    assert first["co_view_neighbours"].map(len).max() <= CFG.neighbours
    assert graph[tf.TS].nunique() > 1
