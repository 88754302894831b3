"""`dvc repro` runs the declared stages end to end, and a second run does nothing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.integration


def _run(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("shopfusion", "validation"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generator"].update(n_events=20_000, n_users=500, n_items=400)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    _run("git", "init", "-q", cwd=tmp_path)
    _run(str(BIN / "dvc"), "init", "-q", cwd=tmp_path)
    return tmp_path


def test_repro_runs_every_stage_then_nothing(project):
    first = _run(str(BIN / "dvc"), "repro", cwd=project)
    assert "Running stage 'ingest'" in first and "Running stage 'validate'" in first
    assert (project / "data/validated/events.parquet").is_file()
    assert (project / "reports/validation/summary.json").is_file()
    second = _run(str(BIN / "dvc"), "repro", cwd=project)
    assert "Running stage" not in second and "up to date" in second


def test_changing_a_param_reruns_only_what_depends_on_it(project):
    _run(str(BIN / "dvc"), "repro", cwd=project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["validate"]["max_price"] = 50_000.0
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = _run(str(BIN / "dvc"), "repro", cwd=project)
    assert "Running stage 'validate'" in out and "Running stage 'ingest'" not in out
