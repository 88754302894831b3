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


def windows(seed=None, upstream=None, **knob):
    """Before/after the drift start; `upstream` (a shopfusion.datagen.upstream kind) rewrites
    the later events at full magnitude."""
    import numpy as np

    from shopfusion.datagen import generate
    from shopfusion.datagen.upstream import UPSTREAM

    cfg = dataclasses.replace(small_config(n_events=40_000), drift=DriftConfig(start_fraction=0.5, **knob))
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
                                              ("prices_in_cents", "price")])
def test_upstream_changes_no_column_was_designed_for_are_caught_on_held_out_seeds(upstream, column):
    """Seeds from 100 on were never looked at when the thresholds were set."""
    decision, _ = detect(*windows(seed=101, upstream=upstream), MON)
    assert decision["drift"] and f"ValueDrift:{column}" in decision["failed_tests"]


@pytest.mark.parametrize("seed", [None, 102])
def test_no_drift_no_alarm(seed):
    decision, _ = detect(*windows(seed), MON)
    assert decision["status"] == "ok" and not decision["failed_tests"], decision["columns"]


def test_a_tiny_window_is_not_enough_data_not_an_alarm():
    reference, current = windows(category_shift=0.9)
    decision, snapshots = detect(reference, current.head(10), MON)
    assert decision["status"] == "not_enough_data" and not decision["drift"] and not snapshots
    empty, _ = detect(reference, current.head(0), MON)
    assert empty["status"] == "not_enough_data"
