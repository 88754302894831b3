"""Fusion is tuned on validation windows only: one when it holds enough users, earlier ones of
the same width added (never reaching the test window) when it does not."""

import numpy as np

from shopfusion.training.evaluate import gain_interval, splits, validation_splits
from tests.training.conftest import fast


def test_one_window_when_it_has_enough_users(dataset):
    cfg = fast(fusion_min_users=1)
    [only] = validation_splits(dataset, cfg)
    valid, _ = splits(dataset, cfg)
    assert only.cut == valid.cut and np.array_equal(only.targets, valid.targets)


def test_earlier_windows_are_added_for_small_data(dataset):
    cfg = fast(fusion_min_users=10**9, fusion_max_windows=3)
    windows = validation_splits(dataset, cfg)
    _, test = splits(dataset, cfg)
    assert len(windows) == 3
    cuts = [w.cut for w in windows]
    assert cuts == sorted(cuts, reverse=True) and max(cuts) < test.cut
    for w in windows:  # models for a window are fit on events before its cut only
        assert w.train.ts.max() < w.cut


def test_gain_interval_brackets_the_gain_and_shrinks_to_zero_for_equal_rankings():
    rng = np.random.default_rng(0)
    single = rng.random((400, 50))
    targets = rng.integers(0, 50, 400)
    assert gain_interval(single, single, targets, seed=0) == [0.0, 0.0]
    better = single.copy()
    better[np.arange(200), targets[:200]] = 2.0  # half the users now get their target first
    low, high = gain_interval(single, better, targets, seed=0)
    assert 0 < low < high
