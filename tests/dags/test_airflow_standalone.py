"""The documented one-command start (`scripts/airflow.sh start`, i.e. `make airflow`) for real:
`airflow standalone` on a small packaged project, driven over the REST API and through the UI
in headless Chromium (Playwright), as a user would."""

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.common import airflow_api, finished_run
from tests.conftest import REPO, free_port, run_cmd

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / "test-artifacts"))


@pytest.fixture(scope="module")
def standalone(pipeline_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("standalone") / "project"
    shutil.copytree(pipeline_project[0], root, symlinks=True)
    port = free_port()
    env = {"SHOPFUSION_ROOT": str(root), "AIRFLOW_HOME": str(root / ".airflow"), "AIRFLOW_PORT": str(port),
           "SHOPFUSION_SERVICE_URL": f"http://127.0.0.1:{free_port()}"}  # no service: reload is a no-op
    script = str(REPO / "scripts/airflow.sh")
    run_cmd(script, "start", cwd=root, env=env)
    passwords = root / ".airflow/simple_auth_manager_passwords.json.generated"
    password = json.loads(passwords.read_text())["admin"]
    try:
        yield f"http://localhost:{port}", password, root
    finally:
        run_cmd(script, "stop", cwd=root, env=env)


def test_credentials_are_the_owners_and_never_logged(standalone):
    _, password, root = standalone
    home = root / ".airflow"
    assert (home / "simple_auth_manager_passwords.json.generated").stat().st_mode & 0o777 == 0o600
    assert password not in (home / "standalone.log").read_text()


def api(standalone):
    url, _, root = standalone
    return airflow_api(url, root / ".airflow")


def run_state(client, dag_id: str, run_id: str, timeout_s: float) -> str:
    return finished_run(client, dag_id, time.monotonic() + timeout_s, run_id_pattern=run_id)["state"]


def test_rest_api_needs_a_token_and_triggers_a_run(standalone):
    url, _, root = standalone
    assert httpx.get(f"{url}/api/v2/dags").status_code == 401
    client = api(standalone)
    dags = {d["dag_id"]: d for d in client.get("/dags").json()["dags"]}
    assert set(dags) == {"shopfusion_ingest", "shopfusion_train", "shopfusion_monitor"}
    assert not any(d["is_paused"] for d in dags.values())
    assert not client.get("/importErrors").json()["import_errors"]
    run = client.post("/dags/shopfusion_monitor/dagRuns", json={"logical_date": None}).json()
    assert run_state(client, "shopfusion_monitor", run["dag_run_id"], 300) == "success"
    assert json.loads((root / "reports/monitor/decision.json").read_text())["status"]


def test_ui_login_trigger_train_and_see_it_succeed(standalone):
    from playwright.sync_api import expect, sync_playwright

    url, password, root = standalone
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(url)
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{url}/")
            page.goto(f"{url}/dags/shopfusion_train")
            page.get_by_role("button", name="Trigger Dag").click()
            page.get_by_role("dialog").get_by_role("button", name="Trigger").click()
            expect(page.get_by_role("dialog")).to_be_hidden()

            client = api(standalone)
            runs = client.get("/dags/shopfusion_train/dagRuns",
                              params={"run_type": "manual"}).json()["dag_runs"]
            assert len(runs) == 1 and runs[0]["triggered_by"] == "ui"
            assert run_state(client, "shopfusion_train", runs[0]["dag_run_id"], 1200) == "success"

            page.goto(f"{url}/dags/shopfusion_train/runs/{runs[0]['dag_run_id']}")
            expect(page.get_by_text("success").first).to_be_visible(timeout=30_000)
        finally:
            page.screenshot(path=str(ARTIFACTS / "airflow-train-run.png"), full_page=True)
            browser.close()
    assert json.loads((root / "reports/monitor/gate.json").read_text())["decided_at"]
