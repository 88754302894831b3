"""The synthetic shop: deterministic, contract-true, and realistic enough to tell models apart."""

import numpy as np
import pandas as pd
import pytest

from shopfusion.config import DriftConfig
from shopfusion.contracts import CATALOG, EVENT_TYPES, EVENTS, JUDGMENTS
from shopfusion.datagen import generate
from tests.conftest import small_config


def test_same_seed_same_data_and_other_seed_differs(small_shop):
    again = generate(small_config())
    pd.testing.assert_frame_equal(again.events, small_shop.events)
    pd.testing.assert_frame_equal(again.catalog, small_shop.catalog)
    pd.testing.assert_frame_equal(again.judgments, small_shop.judgments)
    other = generate(small_config(seed=8))
    assert not other.events["item_id"].equals(small_shop.events["item_id"])


def test_exact_size_and_contracts(small_shop):
    assert len(small_shop.events) == small_config().n_events
    for df, contract in [(small_shop.events, EVENTS), (small_shop.catalog, CATALOG),
                         (small_shop.judgments, JUDGMENTS)]:
        pd.testing.assert_frame_equal(contract.conform(df), df)
        assert df[contract.required].notna().all().all()
    assert small_shop.events["event_id"].is_unique
    assert small_shop.events["ts"].is_monotonic_increasing


def test_every_event_is_inside_the_window_and_after_item_launch(small_shop):
    cfg = small_config()
    ev = small_shop.events.merge(small_shop.catalog[["item_id", "created_at"]], on="item_id")
    start = pd.Timestamp(cfg.start, tz="UTC")
    assert ev["ts"].between(start, start + pd.Timedelta(days=cfg.days)).all()
    assert (ev["ts"] >= ev["created_at"]).all()
    assert ev["item_id"].isin(small_shop.catalog["item_id"]).all()


def test_popularity_is_long_tailed(small_shop):
    counts = small_shop.events["item_id"].value_counts()
    top_decile = counts.iloc[: len(small_shop.catalog) // 10].sum() / counts.sum()
    assert top_decile > 0.4  # a uniform shop would give 0.1


def test_funnel_narrows_at_each_step(small_shop):
    share = small_shop.events["event_type"].value_counts()
    counts = [share.get(t, 0) for t in EVENT_TYPES]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    f = small_config().funnel
    assert counts[2] / counts[1] == pytest.approx(f.add_to_cart, abs=0.05)
    assert counts[3] / counts[2] == pytest.approx(f.purchase, abs=0.07)


def _next_item_pairs(events: pd.DataFrame) -> pd.DataFrame:
    views = events[events["event_type"] == "view"].sort_values(["session_id", "ts"])
    nxt = views.groupby("session_id")["item_id"].shift(-1)
    return pd.DataFrame({"a": views["item_id"], "b": nxt, "ts": views["ts"]}).dropna()


def test_sequences_carry_signal_a_cooccurrence_baseline_can_learn(small_shop):
    pairs = _next_item_pairs(small_shop.events)
    cut = pairs["ts"].quantile(0.8)
    train, test = pairs[pairs["ts"] < cut], pairs[pairs["ts"] >= cut]
    top10 = (train.groupby(["a", "b"]).size().rename("n").reset_index()
             .sort_values("n", ascending=False).groupby("a").head(10))
    hit = test.merge(top10, on=["a", "b"], how="left")["n"].notna().mean()
    random_hit = 10 / len(small_shop.catalog)
    assert hit > 20 * random_hit


def test_users_have_concentrated_tastes(small_shop):
    ev = small_shop.events.merge(small_shop.catalog[["item_id", "category_path"]], on="item_id")
    per_user = ev.groupby("user_id")["category_path"].agg(
        lambda s: s.value_counts(normalize=True).iloc[0])
    overall = ev["category_path"].value_counts(normalize=True).iloc[0]
    assert per_user[ev.groupby("user_id").size() >= 20].median() > 2 * overall


def test_cold_start_users_and_items_arrive_over_time(small_shop):
    ev = small_shop.events
    first_seen = ev.groupby("user_id")["ts"].min()
    half = ev["ts"].min() + (ev["ts"].max() - ev["ts"].min()) / 2
    assert (first_seen > half).mean() > 0.05
    new_items = small_shop.catalog[small_shop.catalog["created_at"] > ev["ts"].min()]
    assert len(new_items) > 0 and ev["item_id"].isin(new_items["item_id"]).any()


def test_search_queries_are_made_of_catalog_words(small_shop):
    queries = small_shop.events["query"].dropna()
    assert 0 < len(queries) < len(small_shop.events)
    first_word_hits = queries.str.split().str[-1].isin(
        small_shop.catalog["category_path"].str.split("/").str[-1].str.split().str[-1])
    assert first_word_hits.mean() > 0.9
    j = small_shop.judgments
    assert set(j["relevance"].unique()) <= {0, 1, 2, 3} and (j["relevance"] == 3).any()
    assert j.groupby("query")["relevance"].max().eq(3).all()


def test_exact_matches_contain_the_query_words(small_shop):
    j = small_shop.judgments.merge(small_shop.catalog[["item_id", "title", "description"]])
    exact = j[j["relevance"] == 3]
    text = (exact["title"] + " " + exact["description"]).str.lower()
    words_found = [all(w in t for w in q.split()) for q, t in zip(exact["query"], text)]
    assert np.mean(words_found) == 1.0


def test_drift_knobs_shift_the_late_window():
    drift = DriftConfig(start_fraction=0.5, category_shift=0.5, price_shift=1.5,
                        new_item_burst=20, activity_multiplier=2.0)
    base = generate(small_config())
    drifted = generate(small_config(drift=drift))
    late = lambda ev: ev[ev["ts"] >= ev["ts"].min() + pd.Timedelta(days=15)]  # noqa: E731
    ratio = late(drifted.events)["price"].median() / late(base.events)["price"].median()
    assert ratio > 1.3
    cats = lambda d: late(d.events).merge(d.catalog, on="item_id")["category_path"].str.split("/").str[0]  # noqa: E731
    top2 = lambda s: s.value_counts(normalize=True).iloc[:2].sum()  # noqa: E731
    assert top2(cats(drifted)) > top2(cats(base)) + 0.15
    burst = drifted.catalog["item_id"].iloc[-20:]
    assert late(drifted.events)["item_id"].isin(burst).mean() > 0.01
    session_len = lambda d: late(d.events).groupby("session_id").size().mean()  # noqa: E731
    assert session_len(drifted) > 1.4 * session_len(base)


def test_daily_rhythm_peaks_at_its_hour_and_leaves_a_flat_shop_alone():
    import dataclasses

    from shopfusion.datagen.events import daily_rhythm

    seconds = np.random.default_rng(0).uniform(0, 5 * 86_400, 20_000)
    flat = small_config()
    assert np.array_equal(daily_rhythm(seconds, flat), seconds)
    moved = daily_rhythm(seconds, dataclasses.replace(flat, diurnal_amplitude=0.5, diurnal_peak_hour=20.0))
    assert np.array_equal(moved // 86_400, seconds // 86_400)  # same day, other hour
    per_hour = np.bincount((moved % 86_400 // 3600).astype(int), minlength=24)
    assert per_hour[19:21].mean() > 2.5 * per_hour[7:9].mean()  # 1.5 / 0.5 = 3x in expectation
