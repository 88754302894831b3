"""The full pipeline through Airflow (issue #9): wall time on the default data, and the time
to import the DAG folder.

Starts `airflow standalone` with `scripts/airflow.sh` on a fresh project (default
params.yaml), triggers `shopfusion_ingest` over the REST API, and waits for the train DAG that
the validated-data asset schedules (features -> 6 model families -> fuse -> evaluate ->
package -> gate -> reload) and then for a monitor run. The clock runs from the trigger to the
end of the monitor run.

Run: python -m benchmarks.bench_airflow [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from benchmarks.common import airflow_api, finished_run, machine, record

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PORT = 8391
TIMEOUT_S = 3600

IMPORT_DAGS = """
import time
t0 = time.perf_counter()
import airflow.sdk  # Airflow itself, which every DAG file needs anyway
t1 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder="{dags}")
t2 = time.perf_counter()
assert not bag.import_errors and len(bag.dags) == 3, bag.import_errors
print(t1 - t0, t2 - t1)
"""


def dag_folder_import_s() -> tuple[float, float]:
    """(Airflow import, DAG folder parse after it), in a fresh interpreter; best of 3."""
    runs = [subprocess.run([sys.executable, "-c", IMPORT_DAGS.format(dags=REPO / "dags")], check=True,
                           capture_output=True, text=True).stdout.splitlines()[-1].split()
            for _ in range(3)]  # the last line: Airflow logs to stdout too
    return min(float(r[0]) for r in runs), min(float(r[1]) for r in runs)


def task_seconds(api: httpx.Client, run: dict) -> dict:
    tis = api.get(f"/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}/taskInstances").json()["task_instances"]
    return {f"{t['task_id']}[{t['map_index']}]" if t["map_index"] >= 0 else t["task_id"]:
            round(t["duration"] or 0, 1) for t in tis}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="run the project here (default: a new temp dir)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    (root / "data/feedback").mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    env = {**os.environ, "SHOPFUSION_ROOT": str(root), "AIRFLOW_HOME": str(root / ".airflow"),
           "AIRFLOW_PORT": str(PORT), "SHOPFUSION_SERVICE_URL": "http://127.0.0.1:9"}
    script = str(REPO / "scripts/airflow.sh")
    airflow_s, dags_s = dag_folder_import_s()
    subprocess.run([script, "start"], env=env, check=True)
    try:
        api = airflow_api(f"http://localhost:{PORT}", root / ".airflow")
        t0, deadline = time.monotonic(), time.monotonic() + TIMEOUT_S
        ingest = api.post("/dags/shopfusion_ingest/dagRuns", json={"logical_date": None}).json()
        ingest = finished_run(api, "shopfusion_ingest", deadline, 5, run_id_pattern=ingest["dag_run_id"])
        train = finished_run(api, "shopfusion_train", deadline, 5, run_type="asset_triggered")
        trained_s = time.monotonic() - t0
        monitor = api.post("/dags/shopfusion_monitor/dagRuns", json={"logical_date": None}).json()
        monitor = finished_run(api, "shopfusion_monitor", deadline, 5, run_id_pattern=monitor["dag_run_id"])
        wall_s = time.monotonic() - t0
        results = {"wall_s": round(wall_s, 1), "through_train_s": round(trained_s, 1),
                   "states": {r["dag_id"]: r["state"] for r in (ingest, train, monitor)},
                   "task_seconds": {r["dag_id"]: task_seconds(api, r) for r in (ingest, train, monitor)},
                   "airflow_import_s": round(airflow_s, 3), "dag_folder_import_s": round(dags_s, 3),
                   "machine": machine(), "date": pd.Timestamp.now(tz="UTC").isoformat()}
    finally:
        subprocess.run([script, "stop"], env=env, check=False)
    print(json.dumps(results, indent=2))
    (REPO / "reports").mkdir(exist_ok=True)
    (REPO / "reports/bench_airflow.json").write_text(json.dumps(results, indent=2))
    if set(results["states"].values()) != {"success"}:
        sys.exit(f"a DAG run failed: {results['states']} (logs: {root / '.airflow/logs'})")
    record(pipeline_airflow_wall_s=wall_s, dag_folder_import_s=dags_s)


if __name__ == "__main__":
    main()
