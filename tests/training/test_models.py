"""Every model keeps the contract, learns something, and survives save/load."""

import numpy as np
import pytest

from shopfusion.training.metrics import next_item_metrics, target_ranks
from shopfusion.training.registry import build_model
from tests.training.conftest import FAST, MODELS


@pytest.mark.parametrize("name", MODELS)
def test_scores_cover_the_catalog_and_beat_random(fitted, split, dataset, name):
    scores = fitted[name].score(split.users, split.history)
    assert scores.shape == (len(split.users), dataset.interactions.n_items)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    ndcg = next_item_metrics(target_ranks(scores, split.targets), ks=(10,))["ndcg@10"]
    random = 1 / dataset.interactions.n_items * 10
    assert ndcg > 2 * random, ndcg


@pytest.mark.parametrize("name", ["itemknn", "sasrec"])
def test_sequence_aware_models_beat_popularity(fitted, split, name):
    def ndcg(model):
        return next_item_metrics(target_ranks(model.score(split.users, split.history), split.targets),
                                 ks=(10,))["ndcg@10"]
    assert ndcg(fitted[name]) > 1.5 * ndcg(fitted["popularity"])


@pytest.mark.parametrize("name", MODELS)
def test_save_and_load_give_the_same_scores(fitted, split, tmp_path, name):
    path = tmp_path / f"{name}.pt"
    fitted[name].save(path)
    again = build_model(name, FAST).load(path)
    np.testing.assert_allclose(again.score(split.users[:20], split.history[:20]),
                               fitted[name].score(split.users[:20], split.history[:20]), rtol=1e-5)


def test_neural_losses_go_down(fitted):
    for name in ("mf", "two_tower", "sasrec"):
        losses = fitted[name].losses
        assert losses[-1] < losses[0], (name, losses)


def test_sasrec_overfits_a_tiny_batch():
    import torch

    from shopfusion.training.models.sasrec import SASRec, SASRecConfig

    torch.manual_seed(0)
    model = SASRec(SASRecConfig(n_items=30, dim=16, max_len=8, dropout=0.0))
    batch = torch.randint(1, 31, (8, 9))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = model.loss(batch)
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


def test_text_model_reaches_items_nobody_has_seen(dataset, split):
    model = build_model("text", FAST)
    model.fit(split.train, dataset)
    unseen = np.bincount(split.train.item, minlength=dataset.interactions.n_items) == 0
    top = np.argsort(-model.score(split.users[:50], split.history[:50]), axis=1)[:, :50]
    assert unseen.any() and unseen[top].any()
