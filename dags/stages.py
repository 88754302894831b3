"""What every DAG task does: run one pipeline stage as its own process, in the project.

Stages are the same `shopfusion <stage>` commands `dvc repro` runs; a task holds no logic.
Separate processes keep torch/CUDA out of the forking Airflow worker, and the one-slot pool
keeps two stages from writing the project (and DVC's lock) at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow.sdk import Asset

VALIDATED = Asset("shopfusion://data/validated")  # ingest publishes it, train is scheduled on it
RETRAIN = Asset("shopfusion://retrain-request")  # monitor publishes it on drift; train is scheduled on it
POOL = "shopfusion_stages"  # one slot: created by scripts/airflow.sh
RETRIES = {"retries": 2, "retry_exponential_backoff": True}


def project_root() -> Path:
    return Path(os.environ.get("SHOPFUSION_ROOT", Path(__file__).resolve().parents[1]))


def model_line_up() -> list[str]:
    """`train.models` from the project's params.yaml, read at parse time (YAML and the model
    registry's names: no torch import)."""
    from shopfusion.config import load_params
    from shopfusion.training.registry import line_up

    return line_up(load_params(project_root() / "params.yaml").train)


def run_stage(*args: str) -> str:
    """Run `shopfusion <args>` in the project; its output goes to the task log."""
    cli = Path(sys.executable).with_name("shopfusion")
    out = subprocess.run([str(cli), *args], cwd=project_root(), capture_output=True, text=True)
    print(out.stdout[-20000:])
    if out.returncode != 0:
        raise RuntimeError(f"shopfusion {' '.join(args)} failed (exit {out.returncode}):\n"
                           f"{out.stderr[-5000:]}")
    return out.stdout


def report_link(relative: str) -> str:
    return (project_root() / relative).resolve().as_uri()


def read_json(relative: str) -> dict:
    return json.loads((project_root() / relative).read_text())
