"""Splits are honest: parameters never see the evaluation window."""

import numpy as np

from shopfusion.training.data import leave_last_out, next_item_split


def test_temporal_split_trains_only_on_the_past(dataset, split):
    assert (split.train.ts < split.cut).all()
    assert len(split.users) > 50 and len(np.unique(split.users)) == len(split.users)
    seqs, times = dataset.interactions.steps()
    for u, target, hist in zip(split.users[:100], split.targets, split.history):
        pos = len(hist)  # history ends right before the target step (up to max_len back)
        where = [t for t in range(len(seqs[u])) if seqs[u][t] == target and times[u][t] >= split.cut]
        assert where, "target must be a step inside the window"
        assert any(list(seqs[u][max(0, t - pos): t]) == list(hist) for t in where)


def test_capped_split_is_a_seeded_sample_of_the_full_one(dataset, split):
    capped = next_item_split(dataset, "valid", split.cut, np.inf, 20, max_users=40)
    again = next_item_split(dataset, "valid", split.cut, np.inf, 20, max_users=40)
    assert len(capped.users) == 40 and np.array_equal(capped.users, again.users)
    full = dict(zip(split.users, split.targets))  # same draws: the sample keeps each user's target
    assert all(full[u] == t for u, t in zip(capped.users, capped.targets))
    assert np.all(np.diff(capped.users) > 0)


def test_leave_last_out_holds_back_each_users_last_step(dataset):
    llo = leave_last_out(dataset, 20)
    seqs = dataset.interactions.sequences()
    for u, target in zip(llo.users[:100], llo.targets):
        assert seqs[u][-1] == target
    train_seqs = llo.train.sequences()
    held_out = [u for u in llo.users[:100] if len(train_seqs[u]) and train_seqs[u][-1] == seqs[u][-1]
                and len(train_seqs[u]) == len(seqs[u])]
    assert held_out == []


def test_sequences_collapse_repeated_steps(dataset):
    for s in dataset.interactions.sequences()[:200]:
        assert (s[1:] != s[:-1]).all()
