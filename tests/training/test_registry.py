"""One model list: the registry; params.yaml names the line-up; DVC and the DAG follow it."""

import pytest
import yaml

from shopfusion.config import TrainConfig, load_params
from shopfusion.training.registry import MODELS, build_model, line_up, model_class
from tests.conftest import REPO


def test_every_registered_model_has_its_file_and_its_name():
    for name in MODELS:
        assert (REPO / "training/models" / f"{name}.py").is_file(), name
        assert model_class(name).name == name


def test_the_line_up_is_params_or_every_registered_model():
    assert line_up(TrainConfig()) == list(MODELS)
    assert line_up(TrainConfig(models=("sasrec", "popularity"))) == ["sasrec", "popularity"]
    with pytest.raises(ValueError, match="unknown"):
        line_up(TrainConfig(models=("sasrec", "nope")))


def test_hyperparameters_come_from_params():
    model = build_model("popularity", TrainConfig(model_params={"popularity": {"half_life_days": 3.0}}))
    assert model.half_life_days == 3.0


def test_dvc_trains_the_line_up_from_params():
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["train"]
    assert stage["foreach"] == "${train.models}"
    assert set(load_params(REPO / "params.yaml").train.models) <= set(MODELS)
