import dataclasses

import numpy as np
import pandas as pd
import pytest

from shopfusion.config import TrainConfig
from shopfusion.training.data import load, next_item_split
from shopfusion.training.registry import MODELS as REGISTERED
from shopfusion.training.registry import build_model

# Small and quick: a couple of epochs is enough to beat popularity on the small shop.
FAST = TrainConfig(
    leave_last_out=False,
    model_params={"mf": {"epochs": 3}, "two_tower": {"epochs": 2}, "sasrec": {"epochs": 10, "max_len": 20}},
    stacker={"n_estimators": 50},
)


def fast(**overrides) -> TrainConfig:
    return dataclasses.replace(FAST, **overrides)


@pytest.fixture(scope="session")
def dataset(small_shop):
    """The small shop with stand-in text embeddings that, like MiniLM's, encode category and
    brand words (the real encoder is tested in tests/features)."""
    cat = small_shop.catalog
    onehot = pd.get_dummies(cat["category_path"]).to_numpy(float)
    brand = pd.get_dummies(cat["brand"]).to_numpy(float) * 0.5
    emb = np.concatenate([onehot, brand], 1)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    text = cat[["item_id"]].assign(text_embedding=list(emb.astype(np.float32)))
    return load(small_shop.events, cat, text)


@pytest.fixture(scope="session")
def split(dataset):
    ts = dataset.interactions.ts
    return next_item_split(dataset, "valid", np.quantile(ts, 0.8), np.inf, 20)


MODELS = list(REGISTERED)


@pytest.fixture(scope="session")
def fitted(dataset, split):
    """Every model fit once on the small shop's training events."""
    models = {}
    for name in MODELS:
        models[name] = build_model(name, FAST)
        models[name].fit(split.train, dataset)
    return models
