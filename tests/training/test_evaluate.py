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
    single = (rng.random(400) < 0.3) / np.log2(2 + rng.integers(0, 10, 400))  # per-user NDCG@10
    assert gain_interval(single, single, seed=0) == [0.0, 0.0]
    better = single.copy()
    better[:200] = 1.0  # half the users now get their target first
    low, high = gain_interval(single, better, seed=0)
    assert 0 < low < high


def test_scoring_users_in_chunks_reports_what_one_pass_reports(dataset):
    """Memory is bounded by scoring a few users at a time; every figure is unchanged."""
    import dataclasses

    from shopfusion.training.evaluate import evaluate_test, tune_fusion

    cfg = fast(models=("popularity", "itemknn"), fusion_min_users=1)
    fusion, _ = tune_fusion(dataset, cfg)
    n_items = dataset.interactions.n_items
    one, _ = evaluate_test(dataset, cfg, fusion)
    chunked, _ = evaluate_test(dataset, dataclasses.replace(cfg, eval_chunk_cells=7 * n_items), fusion)
    assert one["protocol"]["test_users"] > 7 * 3  # several chunks
    for key in ("models", "fusion", "candidate_recall", "summary"):
        assert chunked[key] == one[key]


def test_no_training_input_for_a_cut_reads_the_log_after_it(small_shop, dataset):
    """Rewrite every event after a cut (items and types shuffled among them, a third deleted):
    the events models train on, the stacker's item features and the two-tower's item inputs
    for that cut do not change."""
    import pandas as pd

    from shopfusion.training.data import load, next_item_split
    from shopfusion.training.evaluate import stacker_inputs
    from shopfusion.training.neural import item_side_features

    events = small_shop.events
    cut_ts = events["ts"].quantile(0.8)
    later = (events["ts"] >= cut_ts).to_numpy()
    rng = np.random.default_rng(0)
    rewritten = events.copy()
    for col in ("item_id", "event_type", "price"):
        rewritten.loc[later, col] = rng.permutation(rewritten.loc[later, col].to_numpy())
    rewritten = rewritten[~later | (rng.random(len(events)) > 1 / 3)]

    def inputs(data):
        cut = pd.Timestamp(cut_ts).timestamp()
        split = next_item_split(data, "valid", cut, np.inf, 20)
        train = split.train
        item_feats, _ = stacker_inputs(split, data)
        side = item_side_features(data, train)
        order = np.argsort(data.item_ids)  # compare by item id, not index
        return {"events": pd.DataFrame({"user": data.user_ids[train.user], "item": data.item_ids[train.item],
                                        "ts": train.ts, "weight": train.weight, "session": train.session}),
                "stacker_items": item_feats[order], "price": side["price"][order],
                "category": side["category"][order], "text": side["text"][order]}

    before, after = inputs(dataset), inputs(load(rewritten, small_shop.catalog, _text(dataset)))
    pd.testing.assert_frame_equal(before.pop("events"), after.pop("events"))
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


def _text(data):
    import pandas as pd

    return pd.DataFrame({"item_id": data.item_ids, "text_embedding": list(data.item_text)})


def test_leave_one_out_validates_on_the_second_last_step_and_tests_on_the_last(dataset):
    from shopfusion.training.data import leave_last_out

    valid, test = (leave_last_out(dataset, 20, held=held) for held in (2, 1))
    seqs = dataset.interactions.sequences()
    assert np.array_equal(valid.users, test.users)
    for u, v, t in zip(test.users[:50], valid.targets, test.targets):
        assert (seqs[u][-2], seqs[u][-1]) == (v, t)
    # a model fit for the validation step sees neither step; the test's sees the validation one
    for split, held in ((valid, 2), (test, 1)):
        kept = split.train.sequences()
        assert all(len(kept[u]) <= len(seqs[u]) - held for u in split.users[:50])


def test_seen_items_are_neither_candidates_nor_ranked():
    from shopfusion.training.evaluate import without_seen
    from shopfusion.training.fusion import candidates
    from shopfusion.training.views import dense_view

    scores = np.arange(12, dtype=np.float32).reshape(2, 6)  # item 5 best for both
    seen = ([np.array([5, 4]), np.array([5, 1])], np.array([2, 5]))  # user 1's target was seen
    masked = without_seen(scores, seen)
    assert np.isinf(masked[0, [4, 5]]).all() and np.isinf(masked[1, 1]) and masked[1, 5] == 11
    cand = candidates({"m": dense_view(scores, 6)}, 6).without_history(*seen)
    assert set(cand.items[0][cand.valid[0]]) == {0, 1, 2, 3}
    assert set(cand.items[1][cand.valid[1]]) == {0, 2, 3, 4, 5}


def test_fusion_under_leave_one_out(dataset):
    from shopfusion.training.evaluate import evaluate_leave_one_out

    report = evaluate_leave_one_out(dataset, fast(models=("popularity", "itemknn")))
    assert report["protocol"]["split"] == "leave_last_out" and report["protocol"]["exclude_history"]
    summary = report["summary"]
    assert summary["best_single"] in ("popularity", "itemknn") and summary["best_fusion_ndcg@10"] > 0
