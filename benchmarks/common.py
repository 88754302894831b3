"""Shared benchmark helpers: record figures in results.json and describe the machine."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")


def record(**figures: float) -> None:
    """Merge figures into the flat results.json (other keys are kept)."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.update({k: round(float(v), 4) for k, v in figures.items()})
    RESULTS.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def airflow_api(url: str, airflow_home: Path):
    """An httpx client for Airflow's REST API, logged in as the standalone admin (password from
    the file the simple auth manager writes)."""
    import httpx

    passwords = Path(airflow_home) / "simple_auth_manager_passwords.json.generated"
    login = {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
    token = httpx.post(f"{url}/auth/token", json=login).json()["access_token"]
    return httpx.Client(base_url=f"{url}/api/v2", timeout=30, headers={"Authorization": f"Bearer {token}"})


def finished_run(api, dag_id: str, deadline: float, poll_s: float = 3, **filters) -> dict:
    """The first run of dag_id matching the list filters, once it has succeeded or failed."""
    import time

    while time.monotonic() < deadline:
        runs = api.get(f"/dags/{dag_id}/dagRuns", params=filters).json()["dag_runs"]
        if runs and runs[0]["state"] in ("success", "failed"):
            return runs[0]
        time.sleep(poll_s)
    raise TimeoutError(f"{dag_id} {filters}: no finished run before the deadline")
