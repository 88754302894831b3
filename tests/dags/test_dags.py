"""The DAG folder imports cleanly, and the DAGs run for real (`airflow dags test`) on a
small packaged project: ingest publishes validated data, monitor requests retraining only
on drift."""

import json
import shutil

import pytest
import yaml

from tests.conftest import BIN, REPO, run_cmd


def test_dag_folder_imports_without_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors
    assert set(bag.dags) == {"shopfusion_ingest", "shopfusion_train", "shopfusion_monitor"}
    train = bag.dags["shopfusion_train"]
    assert not train.is_paused_upon_creation  # it must react to assets
    assert {t.task_id for t in train.tasks} >= {"features", "train", "fuse", "evaluate", "package", "gate",
                                                 "reload"}
    # the serving fits continue evaluate's test-cut fits (warm start)
    assert "evaluate" in train.get_task("train").upstream_task_ids
    outlets = [o.uri for t in bag.dags["shopfusion_monitor"].tasks for o in t.outlets]
    assert [u.rstrip("/") for u in outlets] == ["shopfusion://retrain-request"]


def test_every_dag_and_task_says_what_it_does_in_the_ui():
    """The UI's Docs panels: each DAG says what it reads, writes and where its report is."""
    from airflow.dag_processing.dagbag import DagBag

    for dag in DagBag(dag_folder=str(REPO / "dags")).dags.values():
        assert all(word in dag.doc_md for word in ("reads", "writes", "report")), dag.dag_id
        assert all(t.doc_md and len(t.doc_md) > 40 for t in dag.tasks), dag.dag_id


def test_train_dag_maps_the_line_up_from_params():
    from airflow.dag_processing.dagbag import DagBag

    from shopfusion.config import load_params

    train = DagBag(dag_folder=str(REPO / "dags")).dags["shopfusion_train"].get_task("train")
    line_up = list(load_params(REPO / "params.yaml").train.models)
    assert list(train.op_kwargs_expand_input.value["model"]) == line_up


@pytest.fixture(scope="module")
def airflow(pipeline_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("airflow") / "project"
    shutil.copytree(pipeline_project[0], root, symlinks=True)
    home = root / ".airflow"
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "false", "SHOPFUSION_ROOT": str(root),
           "BENTOML_HOME": str(root / ".bentoml")}
    run_cmd(str(BIN / "airflow"), "db", "migrate", cwd=root, env=env)
    run_cmd(str(BIN / "airflow"), "pools", "set", "shopfusion_stages", "1", "pipeline stages",
            cwd=root, env=env)
    return root, env


def airflow_cli(airflow, *args: str) -> str:
    root, env = airflow
    return run_cmd(str(BIN / "airflow"), *args, cwd=root, env=env)


def json_rows(output: str) -> list[dict]:
    """The JSON table a CLI command printed among its log lines."""
    return json.loads(next(line for line in output.splitlines() if line.startswith("[")))


def last_run_states(airflow, dag_id: str) -> dict[str, str]:
    """Task id -> state of the DAG's newest run, from the metadata DB (not log text)."""
    runs = json_rows(airflow_cli(airflow, "dags", "list-runs", dag_id, "-o", "json"))
    newest = max(runs, key=lambda r: r["run_after"] or r["start_date"])
    tasks = json_rows(airflow_cli(airflow, "tasks", "states-for-dag-run", dag_id, newest["run_id"],
                                  "-o", "json"))
    return {t["task_id"]: t["state"] for t in tasks}


QUEUED_RETRAINS = """
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
from airflow.utils.session import create_session
with create_session() as s:
    events = (s.query(AssetEvent).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
              .filter(AssetModel.uri.like("shopfusion://retrain-request%")).count())
    queued = s.query(AssetDagRunQueue).filter(AssetDagRunQueue.target_dag_id == "shopfusion_train").count()
print(events, queued)
"""


def retrain_events(airflow) -> tuple[int, int]:
    """(retrain-request asset events, train DAG runs queued by assets)."""
    root, env = airflow
    out = run_cmd(str(BIN / "python"), "-c", QUEUED_RETRAINS, cwd=root, env=env)
    events, queued = out.split()[-2:]
    return int(events), int(queued)


def set_generator(root, **generator):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generator"].update(generator)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.rmtree(root / "data/raw", ignore_errors=True)  # a new landing (generator ids repeat)


@pytest.mark.integration
def test_ingest_then_monitor_requests_retraining_only_on_drift(airflow):
    root, _ = airflow
    set_generator(root, start="2026-11-05", days=20,
                  drift={"start_fraction": 0.0, "price_shift": 1.6, "category_shift": 0.0,
                         "new_item_burst": 0, "activity_multiplier": 1.0})
    airflow_cli(airflow, "dags", "test", "shopfusion_ingest")
    assert set(last_run_states(airflow, "shopfusion_ingest").values()) == {"success"}
    assert (root / "data/validated/events.parquet").is_file()
    before = retrain_events(airflow)
    airflow_cli(airflow, "dags", "test", "shopfusion_monitor")
    assert json.loads((root / "reports/monitor/decision.json").read_text())["retrain_requested"]
    assert last_run_states(airflow, "shopfusion_monitor")["request_retraining"] == "success"
    events, queued = retrain_events(airflow)
    assert events == before[0] + 1 and queued >= 1  # the train DAG is due

    set_generator(root, start="2026-11-03",
                  drift={"start_fraction": 1.0, "price_shift": 1.0, "category_shift": 0.0,
                         "new_item_burst": 0, "activity_multiplier": 1.0})
    airflow_cli(airflow, "dags", "test", "shopfusion_ingest")
    airflow_cli(airflow, "dags", "test", "shopfusion_monitor")
    assert not json.loads((root / "reports/monitor/decision.json").read_text())["retrain_requested"]
    assert last_run_states(airflow, "shopfusion_monitor")["request_retraining"] == "skipped"
    assert retrain_events(airflow)[0] == events
