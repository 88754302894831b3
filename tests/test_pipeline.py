"""`dvc repro` runs every declared stage end to end, and a second run does nothing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGE_FOLDERS = ("shopfusion", "validation", "features", "training")

pytestmark = pytest.mark.integration


def _run(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def small_params() -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generator"].update(n_events=20_000, n_users=500, n_items=300, n_judged_queries=20)
    params["train"]["leave_last_out"] = False
    for name, epochs in {"mf": 2, "two_tower": 1, "sasrec": 2}.items():
        params["train"]["model_params"][name]["epochs"] = epochs
    params["train"]["stacker"]["n_estimators"] = 30
    return params


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("pipeline")
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    for folder in STAGE_FOLDERS:
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "params.yaml").write_text(yaml.safe_dump(small_params()))
    _run("git", "init", "-q", cwd=root)
    _run(str(BIN / "dvc"), "init", "-q", cwd=root)
    return root, _run(str(BIN / "dvc"), "repro", cwd=root)


def test_repro_runs_every_stage(project):
    root, first = project
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    for stage in stages:
        assert f"Running stage '{stage}" in first, stage
    assert (root / "data/validated/events.parquet").is_file()
    assert (root / "data/feast/online.db").is_file()
    assert (root / "models/sasrec/model.pt").is_file() and (root / "models/fusion/stacker.txt").is_file()
    assert (root / "reports/train/metrics.json").is_file()


def test_second_repro_does_nothing(project):
    root, _ = project
    second = _run(str(BIN / "dvc"), "repro", cwd=root)
    assert "Running stage" not in second and "up to date" in second


def test_a_model_param_retrains_only_that_family(project):
    root, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model_params"]["popularity"]["half_life_days"] = 3.0
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    out = _run(str(BIN / "dvc"), "repro", "train", cwd=root)
    assert "Running stage 'train@popularity'" in out
    assert "Running stage 'train@sasrec'" not in out and "Running stage 'ingest'" not in out
