"""Retrain when validated data lands or the monitor requests it: features -> fuse -> evaluate ->
one training task per model family -> package -> champion/challenger gate -> reload. The torch
models start warm (train.warm_start): fuse continues the previous run's validation-cut fit,
evaluate continues that one to the test cut, and each training task continues the test-cut fit."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import dag, task

from shopfusion.dags.stages import (
    POOL,
    RETRAIN,
    RETRIES,
    VALIDATED,
    model_line_up,
    project_root,
    read_json,
    run_stage,
)

TRAIN_DOC = """`shopfusion train --model <family>`: one model family on all validated events (the
serving artifact) in `models/trained/<family>/` with its manifest; one mapped task per family.
A torch model continues its test-cut fit from `evaluate` (`models/warm/test/`)."""


@dag(dag_id="shopfusion_train", schedule=(VALIDATED | RETRAIN), catchup=False, tags=["shopfusion"],
     is_paused_upon_creation=False, default_args={**RETRIES, "execution_timeout": timedelta(hours=1)})
def shopfusion_train():
    """### Retrain, fuse, evaluate, package and gate the recommenders

    Scheduled by the validated-data asset (`shopfusion_ingest`) or the retrain-request asset
    (`shopfusion_monitor`). One `train` task per model family in `train.models` (params.yaml).

    - **reads** `data/validated/`, `params.yaml`
    - **writes** `data/features/` + the Feast online store, `models/trained/<family>/`,
      `models/fusion/`, `models/warm/` (the fits the next ones continue), `models/export/` (the
      bundle, also saved in the BentoML model store),
      the champion registry `data/serving/registry.json`
    - **reports**: `reports/features/summary.json`, `reports/train/metrics.json` and
      `metrics_at_k.png`, the gate's decision `reports/monitor/gate.json`
    """

    @task(pool=POOL)
    def features() -> None:
        """`shopfusion features`: user and item features, text embeddings, Feast apply and
        materialize. Writes `data/features/`, `data/feast/`; report
        `reports/features/summary.json`."""
        run_stage("features")

    @task(pool=POOL, doc_md=TRAIN_DOC)  # a mapped task does not take its docstring as doc_md
    def train(model: str) -> None:
        run_stage("train", "--model", model)

    @task(pool=POOL)
    def fuse() -> None:
        """`shopfusion fuse`: models fit before the validation window score it; fusion weights
        and the stacker are tuned there and the method that serves is chosen on held-out
        validation users. Writes `models/fusion/` (method, weights, stacker) and
        `models/warm/valid/` (the validation-cut fits, continued from the previous run's)."""
        run_stage("fuse")

    @task(pool=POOL)
    def evaluate() -> None:
        """`shopfusion evaluate`: every model and fusion method on the test window, read once.
        Report: `reports/train/metrics.json` and `metrics_at_k.png`."""
        run_stage("evaluate")

    @task(pool=POOL)
    def package() -> None:
        """`shopfusion package`: trained models + fusion + catalog -> the bundle in
        `models/export/`, saved as a version in the BentoML model store."""
        run_stage("package")

    @task(pool=POOL)
    def gate() -> bool:
        """`shopfusion gate`: the packaged challenger replaces the champion only if its NDCG@10
        on the newest window is not worse beyond `monitor.gate_tolerance`. Report:
        `reports/monitor/gate.json`; the decision goes to the registry history."""
        run_stage("gate")
        decision = read_json("reports/monitor/gate.json")
        print("gate:", decision["reason"])
        return bool(decision["promote"])

    @task
    def reload(promoted: bool) -> str:
        """Tell a running service (`SHOPFUSION_SERVICE_URL`) to switch to a newly promoted
        champion, with the admin key; none running: nothing to do, it loads the champion when
        it starts."""
        import httpx

        from shopfusion.config import load_params
        from shopfusion.serving.auth import admin_key

        url = os.environ.get("SHOPFUSION_SERVICE_URL", "http://127.0.0.1:3000")
        if not promoted:
            return "champion unchanged"
        key = admin_key(project_root() / load_params(project_root() / "params.yaml").serve.api_key_file)
        try:
            return httpx.post(f"{url}/admin/reload", json={}, headers={"x-api-key": key}, timeout=120).text
        except httpx.HTTPError as exc:
            return f"no service at {url} ({exc}); it loads the champion when it starts"

    trained = train.expand(model=model_line_up())
    features() >> fuse() >> evaluate() >> trained >> package() >> reload(gate())


shopfusion_train()
