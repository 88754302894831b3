"""Property tests: whatever the corruption, nothing is lost and every bad row says why; routed
rows become dicts with every kind of missing value as None."""

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import given, settings

from shopfusion.config import CorruptionConfig
from shopfusion.datagen.corrupt import CLEAN, corrupt
from shopfusion.validation.route import records
from shopfusion.validation.stage import check_tables
from tests.validation.conftest import EXPECTED_REASON, FAST, KINDS, NOW

rates = st.fixed_dictionaries({k: st.sampled_from([0.0, 0.002, 0.01, 0.04]) for k in KINDS})


def _route(shop, events):
    return check_tables({"events": events, "catalog": shop.catalog, "judgments": shop.judgments},
                        FAST, NOW)["events"].routed


@settings(max_examples=30, deadline=None)
@given(rates=rates, seed=st.integers(0, 10_000))
def test_conservation_and_exact_quarantine(small_shop, rates, seed):
    events, truth = corrupt(small_shop.events, CorruptionConfig(**rates), seed=seed)
    routed = _route(small_shop, events)
    assert len(routed.validated) + len(routed.quarantine) == len(events)
    corrupted = events.loc[truth != CLEAN, "event_id"].dropna()
    quarantined_ids = set(routed.quarantine["event_id"].dropna())
    assert set(corrupted) <= quarantined_ids  # no corrupted row slips through
    assert len(routed.quarantine) == (truth != CLEAN).sum()  # and no clean row is caught
    kind_of = dict(zip(events.index, truth))
    raw_index = events.index[(truth != CLEAN).to_numpy()]
    for reasons, idx in zip(routed.quarantine["reasons"], raw_index):
        expected = EXPECTED_REASON[kind_of[idx]]
        assert any(r.startswith(expected) for r in reasons), (kind_of[idx], reasons)


def test_clean_batch_quarantines_nothing(small_shop):
    routed = _route(small_shop, small_shop.events)
    assert routed.quarantine.empty and len(routed.validated) == len(small_shop.events)


def test_validated_rows_are_contract_typed(small_shop):
    events, _ = corrupt(small_shop.events, CorruptionConfig(wrong_type=0.05), seed=2)
    routed = _route(small_shop, events)
    assert str(routed.validated["price"].dtype) == "float64"
    assert routed.quarantine["price"].dtype == "string"  # quarantine keeps what was landed


def test_a_batch_whose_newest_event_is_from_1678_is_routed_not_raised(small_shop):
    """Found by fuzzing the feedback endpoint: the time window (newest event - window_days)
    fell below pandas' earliest timestamp and raised OutOfBoundsDatetime (a 500)."""
    from shopfusion.validation.stage import check_events

    stamps = ["1678-03-03T08:31:20Z", "6376-02-07T00:27:42Z"]
    rows = small_shop.events.iloc[:2].astype(object).assign(ts=stamps)
    routed = check_events(rows, small_shop.catalog["item_id"], FAST, NOW).routed
    assert len(routed.validated) + len(routed.quarantine) == 2
    assert len(routed.quarantine) >= 1  # the year-6376 one is in the future


def test_out_of_range_values_are_quarantined_not_raised(small_shop):
    """Found by fuzzing the feedback endpoint: a quantity beyond int64 and a year-1412
    timestamp used to raise instead of routing the row."""
    from shopfusion.contracts import EVENTS
    from shopfusion.validation.route import cast

    row = small_shop.events.iloc[[0]].astype(object).assign(quantity=2**70, ts="1412-10-01T00:00:00Z")
    typed, wrong = cast(row, EVENTS)
    assert set(wrong) == {"expect_column_values_to_be_of_type:quantity",
                          "expect_column_values_to_be_of_type:ts"}
    assert typed["quantity"].isna().all()


def test_records_turn_every_kind_of_missing_into_null():
    frame = pd.DataFrame({
        "price": [1.5, np.nan], "user": pd.Series(["u1", None], dtype="string[pyarrow]"),
        "ts": [pd.Timestamp("2026-01-01", tz="UTC"), pd.NaT], "reasons": [["a"], ["b", "c"]],
        "n": pd.Series([1, None], dtype="Int64")})
    rows = records(frame)
    assert rows[1] == {"price": None, "user": None, "ts": None, "reasons": ["b", "c"], "n": None}
    assert rows[0]["price"] == 1.5 and rows[0]["user"] == "u1" and rows[0]["n"] == 1
