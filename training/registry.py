"""The model families, by name: the one list a new model joins.

Adding a model: its file `training/models/<name>.py`, one line here, and its entry in
params.yaml (the name in `train.models`, its hyperparameters under `train.model_params.<name>`,
`{}` if none). DVC (`foreach: ${train.models}`) and the train DAG read the line-up from there.
Classes load on first use, so reading the list costs no torch import.
"""

from __future__ import annotations

import importlib

from shopfusion.config import TrainConfig

MODELS = {
    "popularity": "shopfusion.training.models.popularity:Popularity",
    "itemknn": "shopfusion.training.models.itemknn:ItemKNN",
    "mf": "shopfusion.training.neural:MFRecommender",
    "two_tower": "shopfusion.training.neural:TwoTowerRecommender",
    "sasrec": "shopfusion.training.neural:SASRecRecommender",
    "text": "shopfusion.training.models.text:TextRecommender",
}


def model_class(name: str) -> type:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {sorted(MODELS)} (training/registry.py)")
    module, cls = MODELS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def build_model(name: str, cfg: TrainConfig):
    """A fresh model with its hyperparameters from `train.model_params.<name>`."""
    return model_class(name)(**cfg.model_params.get(name, {}))


def line_up(cfg: TrainConfig) -> list[str]:
    """The configured models (`train.models`), every registered one when none are named."""
    names = list(cfg.models) or list(MODELS)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        raise ValueError(f"train.models: unknown {unknown}; registered: {sorted(MODELS)}")
    return names
