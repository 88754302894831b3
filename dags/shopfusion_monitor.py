"""Hourly: Evidently drift/quality report; on drift, emit the retrain-request asset, which
schedules the train DAG with no person involved."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from shopfusion.dags.stages import POOL, RETRAIN, RETRIES, read_json, report_link, run_stage


@dag(dag_id="shopfusion_monitor", schedule="@hourly", catchup=False, tags=["shopfusion"],
     is_paused_upon_creation=False,  # drift must trigger retraining with no person involved
     default_args={**RETRIES, "execution_timeout": timedelta(minutes=30)})
def shopfusion_monitor():
    """### Watch the champion for drift; request retraining when it drifts

    Hourly. Compares the champion bundle's reference window with the events that arrived
    since (validated batches and the service's feedback log) and with what was served.

    - **reads** the champion bundle (`reference.parquet`), `data/validated/`, `data/feedback/`,
      the request log `data/serving/requests.jsonl`
    - **writes** `reports/monitor/decision.json` (+ `decisions.jsonl`), one Evidently HTML
      report per run, and the run in the Evidently workspace (`reports/monitor/workspace`)
    - **on drift** publishes the retrain-request asset, which schedules `shopfusion_train`
    """

    @task(pool=POOL)
    def monitor() -> bool:
        """`shopfusion monitor`: one Evidently drift test per monitored column plus served-
        traffic signals (coverage, exposure Gini, CTR); writes `reports/monitor/decision.json`
        and the HTML report linked in this log. Returns whether retraining is requested."""
        run_stage("monitor")
        decision = read_json("reports/monitor/decision.json")
        if decision.get("report"):
            print("Evidently report:", report_link(decision["report"]))
        print("decision:", decision["status"], decision["failed_tests"])
        return bool(decision["retrain_requested"])

    @task.short_circuit
    def drifted(retrain: bool) -> bool:
        """Stops the run here unless the monitor found drift."""
        return retrain

    @task(outlets=[RETRAIN])
    def request_retraining() -> None:
        """Publishes the retrain-request asset: `shopfusion_train` is scheduled on it."""
        print("drift found: retrain requested")

    drifted(monitor()) >> request_retraining()


shopfusion_monitor()
