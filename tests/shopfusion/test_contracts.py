import io

import hypothesis.strategies as st
import pandas as pd
import pydantic
import pytest
from hypothesis import given, settings

from shopfusion.contracts import CATALOG, CONTRACTS, EVENT_TYPES, EVENTS, JUDGMENTS, ContractError

text = st.text(min_size=1, max_size=12)
stamps = st.datetimes(min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
                      max_value=pd.Timestamp("2030-01-01").to_pydatetime())


@st.composite
def event_frames(draw):
    n = draw(st.integers(0, 20))
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    return pd.DataFrame({
        "event_id": col(text), "user_id": col(text), "item_id": col(text),
        "event_type": col(st.sampled_from(EVENT_TYPES)),
        "query": col(st.none() | text), "session_id": col(text),
        "ts": pd.to_datetime(col(stamps), utc=True),
        "price": col(st.none() | st.floats(0, 1e5)), "quantity": col(st.integers(1, 100)),
    })


@settings(max_examples=50, deadline=None)
@given(event_frames())
def test_events_round_trip_through_parquet(df):
    table = EVENTS.to_arrow(df)
    assert table.schema == EVENTS.arrow_schema()
    buf = io.BytesIO()
    EVENTS.conform(df).to_parquet(buf, index=False)
    back = EVENTS.conform(pd.read_parquet(buf))
    pd.testing.assert_frame_equal(back, EVENTS.conform(df), check_index_type=False)


@pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=list(CONTRACTS))
def test_empty_frame_conforms_to_its_own_schema(contract):
    empty = contract.empty()
    assert list(empty.columns) == contract.names
    assert contract.to_arrow(empty).schema == contract.arrow_schema()


def test_conform_names_missing_columns():
    with pytest.raises(ContractError, match=r"missing column\(s\) \['relevance'\]"):
        JUDGMENTS.conform(pd.DataFrame({"query": ["a"], "item_id": ["b"]}))


def test_conform_names_uncastable_column():
    df = pd.DataFrame({"query": ["a"], "item_id": ["b"], "relevance": ["high"]})
    with pytest.raises(ContractError, match=r"cannot cast relevance \(int\)"):
        JUDGMENTS.conform(df)


def test_request_models_derive_from_the_contract():
    Event = pydantic.create_model("Event", **EVENTS.request_fields())
    ok = Event(event_id="e1", user_id="u1", item_id="i1", event_type="view",
               session_id="s1", ts=pd.Timestamp("2026-01-01", tz="UTC"), quantity=1)
    assert ok.query is None and ok.price is None
    with pytest.raises(pydantic.ValidationError, match="user_id"):
        Event(event_id="e1", item_id="i1", event_type="view", session_id="s1",
              ts=pd.Timestamp("2026-01-01", tz="UTC"), quantity=1)
    with pytest.raises(pydantic.ValidationError, match="event_type"):
        Event(event_id="e1", user_id="u1", item_id="i1", event_type="like", session_id="s1",
              ts="2026-01-01T00:00:00Z", quantity=1)
    with pytest.raises(pydantic.ValidationError, match="quantity"):
        Event(event_id="e1", user_id="u1", item_id="i1", event_type="view", session_id="s1",
              ts="2026-01-01T00:00:00Z", quantity=0)


def test_catalog_key_and_timestamp():
    assert CATALOG.key == ("item_id",) and CATALOG.timestamp == "created_at"
    assert set(EVENTS.required) == set(EVENTS.names) - {"query", "price"}
