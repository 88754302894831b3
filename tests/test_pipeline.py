"""`dvc repro` runs every declared stage end to end, and a second run does nothing but the
two stages that read state DVC does not track (the registry, the serving logs)."""

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, run_cmd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(pipeline_project) -> tuple[Path, str]:
    return pipeline_project


def test_repro_runs_every_stage(project):
    root, first = project
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for stage in stages:
        assert f"Running stage '{stage}" in first, stage
    assert (root / "data/validated/events.parquet").is_file()
    assert (root / "data/feast/online.db").is_file()
    assert (root / "models/trained/sasrec/model.pt").is_file()
    # the serving fit continued the test-cut fit, which continued the validation-cut one
    manifest = json.loads((root / "models/trained/sasrec/manifest.json").read_text())
    assert manifest["warm_from"] == "models/warm/test/sasrec.pt"
    assert json.loads((root / "reports/train/metrics.json").read_text())["warm_started"]
    assert (root / "models/fusion/stacker.txt").is_file()
    assert (root / "reports/train/metrics.json").is_file()
    assert (root / "models/export/manifest.json").is_file()
    assert list((root / ".bentoml/models/shopfusion").iterdir())


def test_second_repro_only_rechecks_gate_and_monitor(project):
    root, _ = project
    second = run_cmd(str(BIN / "dvc"), "repro", cwd=root, env={"BENTOML_HOME": str(root / ".bentoml")})
    assert set(re.findall(r"Running stage '([^']+)'", second)) == {"gate", "monitor"}
    gate = json.loads((root / "reports/monitor/gate.json").read_text())
    assert not gate["promote"] and gate["reason"] == "already champion"
    assert json.loads((root / "reports/monitor/decision.json").read_text())["status"] != "no_champion"


def test_a_model_param_retrains_only_that_family(project):
    root, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model_params"]["popularity"]["half_life_days"] = 3.0
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    out = run_cmd(str(BIN / "dvc"), "repro", "train", cwd=root)
    assert "Running stage 'train@popularity'" in out
    assert "Running stage 'train@sasrec'" not in out and "Running stage 'ingest'" not in out
