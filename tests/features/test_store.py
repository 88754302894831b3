"""The real Feast store: point-in-time training data, online reads, real-time push, profiles."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from shopfusion.features.realtime import push_events
from shopfusion.features.store import StoreNotReady, check_fresh, online_features, open_store
from tests.features.conftest import NO_TEXT

pytestmark = pytest.mark.integration
WINDOWS = NO_TEXT.windows_days


def test_point_in_time_training_rows_never_see_the_future(sqlite_store, small_shop):
    store, _, _ = sqlite_store
    events = small_shop.events
    rows = events.sample(300, random_state=0)[["user_id", "ts"]].rename(
        columns={"ts": "event_timestamp"})
    refs = [f"user_activity:{t}_{w}d" for t in ("view", "click") for w in WINDOWS]
    train = store.get_historical_features(entity_df=rows, features=refs + [
        "user_activity:features_as_of"]).to_df()
    assert len(train) == len(rows)
    as_of = pd.to_datetime(train["features_as_of"], utc=True)
    assert (as_of.dropna() <= train["event_timestamp"]).all()
    for _, row in train.dropna(subset=["features_as_of"]).sample(60, random_state=1).iterrows():
        # Recomputed from the log truncated at the training row: equal, so nothing later leaked.
        past = events[(events["user_id"] == row["user_id"]) & (events["ts"] < row["event_timestamp"])]
        for w in WINDOWS:
            window = past[past["ts"] >= pd.Timestamp(row["features_as_of"]) - pd.Timedelta(days=w)]
            window = window[window["ts"] < pd.Timestamp(row["features_as_of"])]
            assert row[f"view_{w}d"] == (window["event_type"] == "view").sum()


def test_online_reads_serve_latest_values_and_defaults_for_unknown_ids(sqlite_store, small_shop):
    store, root, summary = sqlite_store
    assert summary["rows"]["user_activity"] > 0
    active = small_shop.events["user_id"].value_counts().index[0]
    got = online_features(store, "two_tower_v1", [{"user_id": active, "item_id": "i1"},
                                                 {"user_id": "never-seen", "item_id": "no-such"}])
    assert got["user_recent__recent_items"][0] and got["item_catalog__title"][0]
    assert got["user_recent__recent_items"][1] is None and got["item_catalog__title"][1] is None
    final = pd.read_parquet(root / "data/features/user_activity.parquet")
    latest = final[final["user_id"] == active].sort_values("event_timestamp").iloc[-1]
    assert got["user_activity__view_30d"][0] == latest["view_30d"]


def test_a_pushed_click_is_visible_to_the_next_read(sqlite_store):
    store, _, _ = sqlite_store
    _assert_push_visible(store)


def test_redis_profile_serves_and_takes_pushes(redis_store, small_shop):
    store, _ = redis_store
    active = small_shop.events["user_id"].value_counts().index[0]
    got = online_features(store, "sequential_v1", [{"user_id": active}, {"user_id": "nobody"}])
    assert got["user_recent__recent_items"][0] and got["user_recent__recent_items"][1] is None
    _assert_push_visible(store)


def _assert_push_visible(store):
    user, other = "u-realtime-test", "u-realtime-other"

    def event(who, item, kind="click"):
        return {"user_id": who, "item_id": item, "event_type": kind, "ts": pd.Timestamp.now(tz="UTC")}

    push_events(store, [event(user, "i10")], n_recent=NO_TEXT.recent_items)
    # one call, two users' events interleaved: each user's folded in order, the other's apart
    rows = push_events(store, [event(user, "i11"), event(other, "i12"), event(user, "i10", "add_to_cart")],
                       n_recent=NO_TEXT.recent_items)
    assert [r["user_id"] for r in rows] == [user, other]
    got = online_features(store, "sequential_v1", [{"user_id": user}, {"user_id": other}])
    assert got["user_recent__recent_items"] == [["i10", "i11"], ["i12"]]
    assert got["user_recent__last_event_type"] == ["add_to_cart", "click"]


def test_the_plain_feast_push_api_feeds_the_same_view(sqlite_store):
    from feast.data_source import PushMode

    from shopfusion.features.definitions import PUSH_SOURCE
    from shopfusion.features.realtime import PUSHED_VIEW

    store, _, _ = sqlite_store
    assert store.get_feature_view(PUSHED_VIEW).stream_source.name == PUSH_SOURCE
    row = {"user_id": "u-plain-push", "event_timestamp": pd.Timestamp.now(tz="UTC"),
           "recent_items": ["i7"], "last_item_id": "i7", "last_event_type": "purchase",
           "favourite_category": None, "favourite_brand": None}
    store.push(PUSH_SOURCE, pd.DataFrame([row]), to=PushMode.ONLINE)
    got = online_features(store, "sequential_v1", [{"user_id": "u-plain-push"}])
    assert got["user_recent__last_event_type"] == ["purchase"]


def test_missing_or_stale_store_is_a_clear_message(tmp_path, sqlite_store):
    empty = open_store(tmp_path, NO_TEXT)
    with pytest.raises(StoreNotReady, match="run `shopfusion features`"):
        check_fresh(empty, pd.Timedelta(days=1), pd.Timestamp.now(tz="UTC"))
    with pytest.raises(StoreNotReady, match="not registered"):
        online_features(empty, "two_tower_v1", [{"user_id": "u1", "item_id": "i1"}])
    store, _, _ = sqlite_store
    check_fresh(store, pd.Timedelta(days=1), pd.Timestamp.now(tz="UTC"))
    with pytest.raises(StoreNotReady, match="stale"):
        check_fresh(store, pd.Timedelta(days=1), pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3))


def test_unknown_profile_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="features.profile must be one of"):
        open_store(tmp_path, dataclasses.replace(NO_TEXT, profile="memcached"))


def test_text_embeddings_group_similar_items(tmp_path, small_shop):
    from shopfusion.features.text import embed_items

    catalog = small_shop.catalog.head(120)
    first = embed_items(catalog, tmp_path / "cache.parquet")
    emb = np.stack(first["text_embedding"])
    assert emb.shape == (120, 384) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    top = catalog["category_path"].str.split("/").str[0].to_numpy()
    sim = emb @ emb.T
    same, other = top[:, None] == top[None, :], top[:, None] != top[None, :]
    np.fill_diagonal(same, False)
    assert sim[same].mean() > sim[other].mean() + 0.05
    again = embed_items(catalog, tmp_path / "cache.parquet")  # served from the cache
    np.testing.assert_array_equal(np.stack(again["text_embedding"]), emb)


def test_rerun_materializes_incrementally_and_keeps_serving(tmp_path, small_shop):
    from shopfusion.features.stage import run
    from tests.features.conftest import feature_paths, land_validated

    land_validated(tmp_path, small_shop)
    run(NO_TEXT, feature_paths(tmp_path))
    store = open_store(tmp_path, NO_TEXT)
    first = max(v.most_recent_end_time for v in store.list_feature_views())
    later = pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=1)
    run(NO_TEXT, feature_paths(tmp_path), now=later)  # second run: materialize_incremental
    store = open_store(tmp_path, NO_TEXT)
    assert max(v.most_recent_end_time for v in store.list_feature_views()) > first
    check_fresh(store, pd.Timedelta(hours=2), later)
    active = small_shop.events["user_id"].value_counts().index[0]
    assert online_features(store, "sequential_v1", [{"user_id": active}])["user_recent__recent_items"][0]
