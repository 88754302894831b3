"""Shared fixtures: a small deterministic shop, and the real data in ../shared/data."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shopfusion.config import GeneratorConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
BIN = Path(sys.executable).parent
PROJECT_FILES = ("dvc.yaml", ".dvcignore")
PROJECT_FOLDERS = ("shopfusion", "validation", "features", "training", "serving", "monitoring", "dags")


def small_config(**overrides) -> GeneratorConfig:
    base = GeneratorConfig(n_users=800, n_items=600, n_events=30_000, days=30,
                           n_judged_queries=40)
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="session")
def small_shop():
    from shopfusion.datagen import generate

    return generate(small_config())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def run_cmd(*args: str, cwd: Path, env: dict | None = None) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **(env or {})}
    out = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def small_params() -> dict:
    """params.yaml for a project that runs every stage in a couple of minutes."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["generator"].update(n_events=20_000, n_users=500, n_items=300, n_judged_queries=20)
    params["train"]["leave_last_out"] = False
    params["train"]["fusion_min_users"] = 1  # one validation window (pooling: tests/training)
    for name, epochs in {"mf": 2, "two_tower": 1, "sasrec": 2}.items():
        params["train"]["model_params"][name]["epochs"] = epochs
    params["train"]["stacker"]["n_estimators"] = 30
    return params


def make_project(root: Path, params: dict) -> Path:
    """A git + DVC project with this checkout's stage code and the given params."""
    for name in PROJECT_FILES:
        shutil.copy(REPO / name, root / name)
    for folder in PROJECT_FOLDERS:
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "data/feedback").mkdir(parents=True)  # the service's event log, an ingest input
    run_cmd("git", "init", "-q", cwd=root)
    run_cmd(str(BIN / "dvc"), "init", "-q", cwd=root)
    return root


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> tuple[Path, str]:
    """A small project after a full `dvc repro` (its own BentoML home): the root and the log."""
    root = make_project(tmp_path_factory.mktemp("pipeline"), small_params())
    env = {"BENTOML_HOME": str(root / ".bentoml")}
    return root, run_cmd(str(BIN / "dvc"), "repro", cwd=root, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server():
    """A real redis-server on a free loopback port: ("host:port", its process)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not installed (.ci/run installs it: apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGCONT)  # a test may have frozen it
        proc.terminate()
        proc.wait(timeout=10)
