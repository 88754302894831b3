"""Land a batch, validate it (quarantine report + GE Data Docs), publish validated data."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from shopfusion.dags.stages import POOL, RETRIES, VALIDATED, report_link, run_stage


@dag(dag_id="shopfusion_ingest", schedule=None, catchup=False, tags=["shopfusion"],
     is_paused_upon_creation=False,  # runs only when triggered: one click in the UI
     default_args={**RETRIES, "execution_timeout": timedelta(minutes=30)})
def shopfusion_ingest():
    @task(pool=POOL)
    def land() -> None:
        run_stage("ingest")

    @task(pool=POOL, outlets=[VALIDATED])
    def validate() -> None:
        run_stage("validate")
        print("Great Expectations Data Docs:",
              report_link("reports/validation/gx/uncommitted/data_docs/local_site/index.html"))
        print("Quarantine: data/quarantine (each row with its reasons)")

    land() >> validate()


shopfusion_ingest()
