"""Land a batch, validate it (quarantine report + GE Data Docs), publish validated data."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from shopfusion.dags.stages import POOL, RETRIES, VALIDATED, report_link, run_stage


@dag(dag_id="shopfusion_ingest", schedule=None, catchup=False, tags=["shopfusion"],
     is_paused_upon_creation=False,  # runs only when triggered: one click in the UI
     default_args={**RETRIES, "execution_timeout": timedelta(minutes=30)})
def shopfusion_ingest():
    """### Ingest and validate a batch of shop events

    Press **Trigger** to run the whole pipeline: this DAG lands a batch and validates it;
    publishing the validated data schedules `shopfusion_train`.

    - **reads** the source in `params.yaml` (`ingest.source`: generated shop, UCI, MovieLens,
      ESCI) and the service's accepted feedback (`data/feedback/`)
    - **writes** `data/raw/` (landed Parquet), `data/validated/`, `data/quarantine/` (each
      rejected row with its reasons)
    - **report**: `reports/validation/summary.json` and the Great Expectations Data Docs
      (`reports/validation/gx/uncommitted/data_docs/local_site/index.html`), linked in the
      `validate` task's log
    """

    @task(pool=POOL)
    def land() -> None:
        """`shopfusion ingest`: the configured source (plus accepted feedback) as Parquet
        partitioned by day under `data/raw/`, with a manifest."""
        run_stage("ingest")

    @task(pool=POOL, outlets=[VALIDATED])
    def validate() -> None:
        """`shopfusion validate`: Great Expectations rules on `data/raw/`; good rows to
        `data/validated/`, bad ones to `data/quarantine/` with reasons. A batch with too many
        bad rows fails here and leaves the previous validated data in place. On success it
        publishes the validated-data asset, which starts `shopfusion_train`. Report:
        `reports/validation/summary.json` and the Data Docs linked in this log."""
        run_stage("validate")
        print("Great Expectations Data Docs:",
              report_link("reports/validation/gx/uncommitted/data_docs/local_site/index.html"))
        print("Quarantine: data/quarantine (each row with its reasons)")

    land() >> validate()


shopfusion_ingest()
