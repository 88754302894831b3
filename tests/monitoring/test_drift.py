"""Drift decisions on the generator's drift knobs, on upstream changes, on seeds the thresholds
never saw, and the not-enough-data case."""

import dataclasses

import pandas as pd
import pytest

from shopfusion.bundle import monitored_frame
from shopfusion.config import DriftConfig, load_params
from shopfusion.monitoring.drift import detect
from tests.conftest import REPO, small_config

MON = load_params(REPO / "params.yaml").monitor


def windows(seed=None, upstream=None, diurnal=0.0, **knob):
    """Before/after the drift start; `upstream` (a shopfusion.datagen.upstream kind) rewrites
    the later events at full magnitude; `diurnal`: the shop's daily rhythm."""
    import numpy as np

    from shopfusion.datagen import generate
    from shopfusion.datagen.upstream import UPSTREAM

    cfg = dataclasses.replace(small_config(n_events=40_000, diurnal_amplitude=diurnal),
                              drift=DriftConfig(start_fraction=0.5, **knob))
    cfg = cfg if seed is None else dataclasses.replace(cfg, seed=seed)
    shop = generate(cfg)
    ts = pd.to_datetime(shop.events["ts"], utc=True)
    before = (ts < pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=cfg.days / 2)).to_numpy()
    later, catalog = shop.events[~before], shop.catalog
    if upstream:
        later, catalog = UPSTREAM[upstream](later, catalog, 1.0, np.random.default_rng(0))
    return (monitored_frame(shop.events[before], shop.catalog, MON.new_item_days),
            monitored_frame(later, catalog, MON.new_item_days))


@pytest.mark.parametrize("knob, column", [
    ({"category_shift": 0.4}, "category_top"), ({"price_shift": 1.4}, "price"),
    ({"new_item_burst": 150}, "new_item"), ({"activity_multiplier": 2.5}, "session_events"),
])
def test_each_drift_knob_fails_its_column_test(knob, column):
    decision, snapshots = detect(*windows(**knob), MON)
    assert decision["drift"] and f"ValueDrift:{column}" in decision["failed_tests"]
    assert len(snapshots) == 2


@pytest.mark.parametrize("upstream, column", [("unknown_category", "category_top"),
                                              ("prices_in_cents", "price"),
                                              ("conversion_drop", "checkout"),
                                              ("active_hours", "hour")])
def test_upstream_changes_are_caught_on_held_out_seeds(upstream, column):
    """Seeds from 100 on were never looked at when the thresholds were set; the shop has a
    daily rhythm (without one, moved hours change nothing)."""
    decision, _ = detect(*windows(seed=101, upstream=upstream, diurnal=0.5), MON)
    assert decision["drift"] and f"ValueDrift:{column}" in decision["failed_tests"]


@pytest.mark.parametrize("seed, diurnal", [(None, 0.0), (102, 0.0), (103, 0.5)])
def test_no_drift_no_alarm(seed, diurnal):
    decision, _ = detect(*windows(seed, diurnal=diurnal), MON)
    assert decision["status"] == "ok" and not decision["failed_tests"], decision["columns"]


def test_a_champion_packaged_before_a_column_existed_leaves_it_untested():
    reference, current = windows(category_shift=0.4)
    decision, _ = detect(reference.drop(columns=["checkout"]), current, MON)
    assert decision["untested_columns"] == ["checkout"] and "checkout" not in decision["columns"]
    assert "ValueDrift:category_top" in decision["failed_tests"]


def test_checkout_column_is_the_conversion_step_of_cart_and_purchase_events_only():
    events = pd.DataFrame({"event_type": ["view", "click", "add_to_cart", "purchase"],
                           "item_id": ["i1"] * 4, "session_id": ["s"] * 4, "price": [1.0] * 4,
                           "ts": pd.to_datetime(["2026-01-01 07:59", "2026-01-01 08:00",
                                                 "2026-01-01 08:01", "2026-01-01 23:00"], utc=True)})
    catalog = pd.DataFrame({"item_id": ["i1"], "category_path": ["a/b"],
                            "created_at": pd.to_datetime(["2025-01-01"], utc=True)})
    frame = monitored_frame(events, catalog, MON.new_item_days)
    assert frame["checkout"].tolist()[2:] == ["add_to_cart", "purchase"]
    assert frame["checkout"].iloc[:2].isna().all()
    assert frame["hour"].tolist() == ["7", "8", "8", "23"]


def test_a_tiny_window_is_not_enough_data_not_an_alarm():
    reference, current = windows(category_shift=0.9)
    decision, snapshots = detect(reference, current.head(10), MON)
    assert decision["status"] == "not_enough_data" and not decision["drift"] and not snapshots
    empty, _ = detect(reference, current.head(0), MON)
    assert empty["status"] == "not_enough_data"
