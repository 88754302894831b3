"""Retrain when validated data lands or the monitor requests it: features -> one training
task per model family -> fuse -> evaluate -> package -> champion/challenger gate -> reload."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import dag, task

from shopfusion.dags.stages import MODELS, POOL, RETRAIN, RETRIES, VALIDATED, read_json, run_stage


@dag(dag_id="shopfusion_train", schedule=(VALIDATED | RETRAIN), catchup=False, tags=["shopfusion"],
     is_paused_upon_creation=False, default_args={**RETRIES, "execution_timeout": timedelta(hours=1)})
def shopfusion_train():
    @task(pool=POOL)
    def features() -> None:
        run_stage("features")

    @task(pool=POOL)
    def train(model: str) -> None:
        run_stage("train", "--model", model)

    @task(pool=POOL)
    def fuse() -> None:
        run_stage("fuse")

    @task(pool=POOL)
    def evaluate() -> None:
        run_stage("evaluate")

    @task(pool=POOL)
    def package() -> None:
        run_stage("package")

    @task(pool=POOL)
    def gate() -> bool:
        run_stage("gate")
        decision = read_json("reports/monitor/gate.json")
        print("gate:", decision["reason"])
        return bool(decision["promote"])

    @task
    def reload(promoted: bool) -> str:
        """Tell a running service to switch to the champion (none running: nothing to do)."""
        import httpx

        url = os.environ.get("SHOPFUSION_SERVICE_URL", "http://127.0.0.1:3000")
        if not promoted:
            return "champion unchanged"
        try:
            return httpx.post(f"{url}/admin/reload", json={}, timeout=120).text
        except httpx.HTTPError as exc:
            return f"no service at {url} ({exc}); it loads the champion when it starts"

    trained = train.expand(model=MODELS)
    features() >> trained >> fuse() >> evaluate() >> package() >> reload(gate())


shopfusion_train()
