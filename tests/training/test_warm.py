"""Warm-started retraining: a fit continues an earlier one by id, not by position."""

import numpy as np
import pandas as pd
import pytest
import torch

from shopfusion.training.data import load, next_item_split
from shopfusion.training.evaluate import ndcg_at_10
from shopfusion.training.registry import build_model
from shopfusion.training.warm import carry_rows, row_map
from tests.training.conftest import fast


def test_rows_follow_their_ids_and_new_ids_start_at_the_mean():
    old = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])  # row 0: padding
    new = torch.full((4, 2), 9.0)
    mapping = row_map(pd.Index(["a", "b"]), pd.Index(["b", "new", "a"]))
    assert mapping.tolist() == [1, -1, 0]
    carry_rows(old, new, mapping, offset=1)
    assert new.tolist() == [[0.0, 0.0], [3.0, 4.0], [2.0, 3.0], [1.0, 2.0]]


def recoded(small_shop, text: np.ndarray):
    """The same shop with its catalog in reverse order and one item more: every item index moves."""
    extra = small_shop.catalog.iloc[:1].assign(item_id="brand-new-item")
    catalog = pd.concat([small_shop.catalog.iloc[::-1], extra], ignore_index=True)
    item_text = pd.DataFrame({"item_id": small_shop.catalog["item_id"], "text_embedding": list(text)})
    return load(small_shop.events, catalog, item_text)


@pytest.mark.parametrize("name", ["mf", "sasrec", "two_tower"])
def test_a_warm_start_with_no_epochs_scores_every_item_as_before_by_id(name, small_shop, dataset):
    cfg = fast(model_params={name: {"epochs": 1, "warm_epochs": 0}})
    before = build_model(name, cfg)
    before.fit(dataset.interactions, dataset)
    again = recoded(small_shop, dataset.item_text)
    assert (again.item_ids.get_indexer(dataset.item_ids) != np.arange(len(dataset.item_ids))).any()
    after = build_model(name, cfg)
    after.warm_start(before)
    after.fit(again.interactions, again)
    assert after.warm_from and after.epochs_used == 0
    old, new = before.item_matrix(), after.item_matrix()
    np.testing.assert_allclose(new[again.item_ids.get_indexer(dataset.item_ids)], old, rtol=1e-4, atol=1e-5)
    users = np.arange(20)
    history = [s[-10:] for s in dataset.interactions.sequences()[:20]]
    moved = [again.item_ids.get_indexer(dataset.item_ids[h]) for h in history]
    ids = again.user_ids.get_indexer(dataset.user_ids[users])
    np.testing.assert_allclose(after.score(ids, moved)[:, again.item_ids.get_indexer(dataset.item_ids)],
                               before.score(users, history), rtol=1e-4, atol=1e-4)


def test_continuing_the_validation_cut_fit_to_the_test_cut_matches_a_full_refit(dataset):
    """The protocol's chain: fit at the earlier cut, continue for a few epochs at the later one."""
    ts = dataset.interactions.ts
    early, late = (next_item_split(dataset, n, np.quantile(ts, q), np.inf, 20) for n, q in
                   (("valid", 0.8), ("test", 0.9)))
    cfg = fast(model_params={"sasrec": {"epochs": 10, "warm_epochs": 3, "max_len": 20}})
    base = build_model("sasrec", cfg)
    base.fit(early.train, dataset)
    full, warm = build_model("sasrec", cfg), build_model("sasrec", cfg)
    full.fit(late.train, dataset)
    warm.warm_start(base)
    warm.fit(late.train, dataset)
    assert len(warm.losses) == 3 and len(full.losses) == 10
    ndcg = {m: ndcg_at_10(model.score(late.users, late.history), late.targets)
            for m, model in (("full", full), ("warm", warm))}
    assert ndcg["warm"] >= 0.9 * ndcg["full"], ndcg
