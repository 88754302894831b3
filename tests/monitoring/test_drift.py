"""Drift decisions on the generator's drift knobs, and the not-enough-data case."""

import dataclasses

import pandas as pd
import pytest

from shopfusion.bundle import monitored_frame
from shopfusion.config import DriftConfig, load_params
from shopfusion.monitoring.drift import detect
from tests.conftest import REPO, small_config

MON = load_params(REPO / "params.yaml").monitor


def windows(**knob):
    from shopfusion.datagen import generate

    cfg = dataclasses.replace(small_config(n_events=40_000), drift=DriftConfig(start_fraction=0.5, **knob))
    shop = generate(cfg)
    ts = pd.to_datetime(shop.events["ts"], utc=True)
    before = (ts < pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=cfg.days / 2)).to_numpy()
    return (monitored_frame(shop.events[before], shop.catalog, MON.new_item_days),
            monitored_frame(shop.events[~before], shop.catalog, MON.new_item_days))


@pytest.mark.parametrize("knob, column", [
    ({"category_shift": 0.4}, "category_top"), ({"price_shift": 1.4}, "price"),
    ({"new_item_burst": 150}, "new_item"), ({"activity_multiplier": 2.5}, "session_events"),
])
def test_each_drift_knob_fails_its_column_test(knob, column):
    decision, snapshots = detect(*windows(**knob), MON)
    assert decision["drift"] and f"ValueDrift:{column}" in decision["failed_tests"]
    assert len(snapshots) == 2


def test_no_drift_no_alarm():
    decision, _ = detect(*windows(), MON)
    assert decision["status"] == "ok" and not decision["failed_tests"], decision["columns"]


def test_a_tiny_window_is_not_enough_data_not_an_alarm():
    reference, current = windows(category_shift=0.9)
    decision, snapshots = detect(reference, current.head(10), MON)
    assert decision["status"] == "not_enough_data" and not decision["drift"] and not snapshots
    empty, _ = detect(reference, current.head(0), MON)
    assert empty["status"] == "not_enough_data"
