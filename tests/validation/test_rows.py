"""Events by request: the row twins route every batch exactly as the pandas twins do."""

import dataclasses
import datetime as dt

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings

from shopfusion.contracts import EVENT_TYPES
from shopfusion.validation.rows import route_events
from tests.validation.conftest import FAST, NOW

CATALOG = pd.Index(["i1", "i2", "i3"])
ROWS, FRAMES = (dataclasses.replace(FAST, row_path_max_events=n) for n in (1000, 0))
UTC, PLUS_5 = dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))

near = NOW.to_pydatetime()
timestamps = st.one_of(
    st.none(),
    # around now, a little ahead (within the clock skew) and far ahead; naive is read as UTC
    st.integers(-10**9, 10**5).map(lambda s: near + dt.timedelta(seconds=s)),
    st.integers(-10**9, 10**5).map(lambda s: (near + dt.timedelta(seconds=s)).replace(tzinfo=None)),
    st.integers(-10**9, 10**5).map(lambda s: (near + dt.timedelta(seconds=s)).astimezone(PLUS_5)),
    # beyond the window, at and beyond the edges of what a pandas column holds
    st.sampled_from([dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1677, 9, 22, tzinfo=UTC),
                     dt.datetime(1678, 1, 1, tzinfo=UTC), dt.datetime(2262, 4, 11, tzinfo=UTC),
                     dt.datetime(2262, 4, 12, tzinfo=UTC), dt.datetime(9999, 12, 31, 23, 59)]),
)
# Quantities below 2**53 or out of 64-bit range: the pandas path's lenient cast (a column
# holding an out-of-range value) goes through float, exact only up to 2**53.
quantities = st.one_of(st.none(), st.integers(-(2**53), 2**53), st.sampled_from([2**64, -(2**64) - 1]))
prices = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, FAST.max_price, np.nextafter(FAST.max_price, np.inf)]))
events = st.lists(st.fixed_dictionaries({
    "event_id": st.sampled_from(["e1", "e2", "e3", None]),
    "user_id": st.sampled_from(["u1", "u2", None]),
    "item_id": st.sampled_from(["i1", "i2", "unknown", None]),
    "event_type": st.sampled_from([*EVENT_TYPES, "bogus", None]),
    "query": st.sampled_from([None, "red shoes"]),
    "session_id": st.sampled_from(["s1", None]),
    "ts": timestamps, "price": prices, "quantity": quantities,
}), min_size=1, max_size=8)


def _by_both_paths(batch):
    rows, frames = (route_events(batch, CATALOG, cfg, NOW) for cfg in (ROWS, FRAMES))
    return rows, frames


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=events)
def test_rows_and_frames_route_alike(batch):
    rows, frames = _by_both_paths(batch)
    assert rows.validated == frames.validated
    assert [(q["event_id"], q["reasons"]) for q in rows.quarantine] == \
           [(q["event_id"], q["reasons"]) for q in frames.quarantine]
    assert len(rows.validated) + len(rows.quarantine) == len(batch)  # nothing lost


def test_a_clean_click_is_validated_and_typed():
    click = {"event_id": "e1", "user_id": "u1", "item_id": "i1", "event_type": "click", "query": None,
             "session_id": "s1", "ts": near, "price": 2.5, "quantity": 1}
    routed = route_events([click], CATALOG, ROWS, NOW)
    assert routed.quarantine == []
    assert routed.validated == [{**click, "ts": pd.Timestamp(near)}]


def test_every_failed_rule_is_named():
    bad = {"event_id": "e1", "user_id": None, "item_id": "unknown", "event_type": "click", "query": None,
           "session_id": "s1", "ts": near + dt.timedelta(days=1), "price": -1.0, "quantity": 2**64}
    routed = route_events([bad], CATALOG, ROWS, NOW)
    assert routed.validated == []
    assert routed.quarantine[0]["reasons"] == [
        "expect_column_values_to_be_of_type:quantity", "expect_column_values_to_not_be_null:user_id",
        "expect_column_values_to_not_be_null:quantity", "expect_column_values_to_be_between:price",
        "expect_column_values_to_be_between:ts", "expect_column_values_to_be_in_set:item_id+catalog"]


def test_values_outside_the_request_model_go_the_pandas_way():
    """Strings for times and numbers (a caller that is not the request model): still routed."""
    event = {"event_id": "e1", "user_id": "u1", "item_id": "i1", "event_type": "click",
             "session_id": "s1", "ts": "2026-11-24T10:00:00Z", "price": "2.5", "quantity": np.int64(1)}
    routed = route_events([event], CATALOG, ROWS, NOW)
    assert routed.quarantine == [] and routed.validated[0]["ts"] == pd.Timestamp("2026-11-24T10:00:00Z")


def test_feedback_and_the_next_batch_apply_one_time_window():
    """A click accepted online is never quarantined when it joins the next batch, and the
    reverse: the request's window is anchored on the data it joins, as the batch's is."""
    from shopfusion.validation.stage import check_events

    newest = NOW - pd.Timedelta(days=2)  # the served data ends here; the next batch holds it
    window = pd.Timedelta(days=FAST.window_days)
    times = [pd.Timestamp("1990-01-01", tz="UTC"), newest - window - pd.Timedelta(hours=1),
             newest - window + pd.Timedelta(days=3), NOW - pd.Timedelta(minutes=1),
             NOW + pd.Timedelta(days=1)]
    clicks = [{"event_id": f"c{i}", "user_id": "u1", "item_id": "i1", "event_type": "click",
               "query": None, "session_id": "s", "ts": ts.to_pydatetime(), "price": 1.0, "quantity": 1}
              for i, ts in enumerate(times)]
    known = {**clicks[0], "event_id": "known", "ts": newest.to_pydatetime(), "session_id": "k"}
    batch = check_events(pd.DataFrame([known, *clicks]), CATALOG, FAST, NOW).routed
    in_batch = set(batch.validated["event_id"]) - {"known"}
    for cfg in (ROWS, FRAMES):
        online = route_events(clicks, CATALOG, cfg, NOW, newest_known=newest)
        assert {e["event_id"] for e in online.validated} == in_batch == {"c2", "c3"}
