from pathlib import Path

import pytest

from shopfusion.config import ConfigError, GeneratorConfig, Params, from_dict, load_params

REPO = Path(__file__).resolve().parents[2]


def test_repo_params_load_into_typed_config():
    params = load_params(REPO / "params.yaml")
    assert isinstance(params.generator, GeneratorConfig)
    assert params.generator.funnel.click == pytest.approx(0.3)
    assert params.validate.row_count_ratio == (0.2, 5.0)


def test_missing_file_means_defaults(tmp_path):
    assert load_params(tmp_path / "absent.yaml") == Params()


def test_unknown_key_is_rejected_with_its_path():
    with pytest.raises(ConfigError, match=r"params\.generator: unknown key\(s\) \['n_evnts'\]"):
        from_dict(Params, {"generator": {"n_evnts": 5}})


def test_wrong_type_is_rejected():
    with pytest.raises(ConfigError, match="generator.n_users: expected int"):
        from_dict(Params, {"generator": {"n_users": "many"}})


def test_int_is_accepted_for_float():
    assert from_dict(Params, {"generator": {"p_transition": 1}}).generator.p_transition == 1.0
