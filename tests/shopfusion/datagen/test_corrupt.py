"""Corrupted batches hold exactly the requested corruption, on disjoint rows."""

import dataclasses

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings

from shopfusion.config import CorruptionConfig
from shopfusion.datagen.corrupt import CLEAN, corrupt

KINDS = [f.name for f in dataclasses.fields(CorruptionConfig)]
rates = st.fixed_dictionaries({k: st.sampled_from([0.0, 0.001, 0.01, 0.05]) for k in KINDS})


@settings(max_examples=25, deadline=None)
@given(rates=rates, seed=st.integers(0, 1000))
def test_requested_rates_hold_on_disjoint_rows(small_shop, rates, seed):
    events = small_shop.events
    bad, truth = corrupt(events, CorruptionConfig(**rates), seed=seed)
    assert len(bad) == len(events)
    counts = truth.value_counts()
    for kind, rate in rates.items():
        assert counts.get(kind, 0) == round(rate * len(events))
    clean = truth == CLEAN
    untouched = events.reset_index(drop=True)[clean]
    if rates["wrong_type"] == 0:
        pd.testing.assert_frame_equal(bad[clean], untouched)


def test_each_kind_breaks_what_it_says(small_shop):
    cfg = CorruptionConfig(**{k: 0.01 for k in KINDS})
    bad, truth = corrupt(small_shop.events, cfg, seed=3)
    rows = lambda kind: bad[truth == kind]  # noqa: E731
    keys = ["event_id", "user_id", "item_id", "session_id", "ts", "event_type"]
    assert rows("null_key")[keys].isna().any(axis=1).all()
    assert (~rows("unknown_item")["item_id"].isin(small_shop.catalog["item_id"])).all()
    assert (pd.to_numeric(rows("negative_price")["price"]) < 0).all()
    assert rows("future_timestamp")["ts"].min() > pd.Timestamp.now(tz="UTC")
    assert pd.to_numeric(rows("wrong_type")["price"], errors="coerce").isna().all()
    assert bad["price"].dtype == "string"  # one bad cell made the column text
    dups = rows("duplicate")
    first = bad.index.to_series()[bad["event_id"].duplicated(keep="first") & (truth == "duplicate")]
    assert len(dups) == len(first)  # every duplicate repeats an earlier row's id


def test_rates_over_half_the_batch_are_refused(small_shop):
    with pytest.raises(ValueError, match="exceed half"):
        corrupt(small_shop.events, CorruptionConfig(null_key=0.3, duplicate=0.3))
