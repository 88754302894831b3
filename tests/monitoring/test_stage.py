"""Monitor and gate on a real packaged project: a drifted batch after the champion's data
requests retraining and a clean one does not; a worse challenger is rejected, a better one is
promoted and then served after a reload."""

import json
import shutil
import subprocess
import time

import httpx
import pytest
import yaml

from shopfusion.registry import Registry
from tests.conftest import BIN, REPO, free_port, run_cmd
from tests.serving.conftest import Server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(pipeline_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("monitored") / "project"
    shutil.copytree(pipeline_project[0], root, symlinks=True)
    return root


def shop(root, args=(), **generator):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generator"].update(generator)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    if "ingest" in args:  # a new landing: the generator reuses event ids across batches
        shutil.rmtree(root / "data/raw", ignore_errors=True)
    env = {"BENTOML_HOME": str(root / ".bentoml")}
    return run_cmd(str(BIN / "shopfusion"), *args, cwd=root, env=env)


def monitor(root) -> dict:
    shop(root, ["monitor"])
    return json.loads((root / "reports/monitor/decision.json").read_text())


def test_no_champion_yet_gives_a_clear_decision(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path)
    run_cmd(str(BIN / "shopfusion"), "monitor", cwd=tmp_path,
            env={"BENTOML_HOME": str(tmp_path / ".bentoml")})
    decision = json.loads((tmp_path / "reports/monitor/decision.json").read_text())
    assert decision["status"] == "no_champion" and not decision["retrain_requested"]


def test_drifted_batch_requests_retraining_clean_batch_does_not(project):
    shop(project, ["ingest"], start="2026-11-05", days=20, seed=7,
         drift={"start_fraction": 0.0, "price_shift": 1.6, "category_shift": 0.0, "new_item_burst": 0,
                "activity_multiplier": 1.0})
    shop(project, ["validate"])
    drifted = monitor(project)
    assert drifted["retrain_requested"] and "ValueDrift:price" in drifted["failed_tests"]
    assert (project / drifted["report"]).is_file()
    assert list((project / "reports/monitor/workspace").rglob("*.json"))
    shop(project, ["ingest"], start="2026-11-03",
         drift={"start_fraction": 1.0, "price_shift": 1.0, "category_shift": 0.0, "new_item_burst": 0,
                "activity_multiplier": 1.0})
    shop(project, ["validate"])
    clean = monitor(project)
    assert clean["status"] == "ok" and not clean["retrain_requested"], clean["columns"]
    assert len(evidently_ui_snapshots(project / "reports/monitor/workspace")) == 4  # 2 runs x 2 reports


def evidently_ui_snapshots(workspace) -> list[dict]:
    """The runs `evidently ui --workspace ...` (as documented) shows for the project."""
    port = free_port()
    ui = subprocess.Popen([str(BIN / "evidently"), "ui", "--workspace", str(workspace), "--port", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                projects = httpx.get(f"http://127.0.0.1:{port}/api/projects").json()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        [project] = [p for p in projects if p["name"] == "shopfusion"]
        return httpx.get(f"http://127.0.0.1:{port}/api/projects/{project['id']}/snapshots").json()
    finally:
        ui.terminate()
        ui.wait(30)


def test_worse_challenger_rejected_better_one_promoted_and_served(pipeline_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("gated") / "project"
    shutil.copytree(pipeline_project[0], root, symlinks=True)
    env = {"BENTOML_HOME": str(root / ".bentoml")}
    registry = Registry(root / "data/serving/registry.json")
    full = registry.champion
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["models"] = ["popularity"]
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    run_cmd(str(BIN / "dvc"), "repro", "gate", cwd=root, env=env)
    worse = json.loads((root / "reports/monitor/gate.json").read_text())
    assert not worse["promote"] and registry.champion == full
    assert worse["challenger_metrics"]["ndcg@10"] < worse["champion_metrics"]["ndcg@10"]

    registry.promote(worse["challenger"], "test: a weaker model is serving")
    srv = Server(root).start()
    try:
        assert srv.post("/metadata").json()["model_tag"] == worse["challenger"]
        params["train"]["models"] = ["popularity", "itemknn", "mf", "two_tower", "sasrec", "text"]
        (root / "params.yaml").write_text(yaml.safe_dump(params))
        run_cmd(str(BIN / "dvc"), "repro", "gate", cwd=root, env=env)
        better = json.loads((root / "reports/monitor/gate.json").read_text())
        assert better["promote"] and registry.champion == better["challenger"] != worse["challenger"]
        assert better["challenger_metrics"]["ndcg@10"] > worse["challenger_metrics"]["ndcg@10"]
        assert srv.admin("/admin/reload").json()["serving"] == better["challenger"]
        assert srv.post("/metadata").json()["model_tag"] == better["challenger"]
        assert srv.post("/recommend", {"k": 3}).status_code == 200
    finally:
        srv.stop()
    assert run_cmd(str(BIN / "shopfusion"), "rollback", cwd=root, env=env)
    assert registry.champion == worse["challenger"]
