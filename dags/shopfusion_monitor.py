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
    @task(pool=POOL)
    def monitor() -> bool:
        run_stage("monitor")
        decision = read_json("reports/monitor/decision.json")
        if decision.get("report"):
            print("Evidently report:", report_link(decision["report"]))
        print("decision:", decision["status"], decision["failed_tests"])
        return bool(decision["retrain_requested"])

    @task.short_circuit
    def drifted(retrain: bool) -> bool:
        return retrain

    @task(outlets=[RETRAIN])
    def request_retraining() -> None:
        print("drift found: retrain requested")

    drifted(monitor()) >> request_retraining()


shopfusion_monitor()
