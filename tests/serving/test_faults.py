"""The service when what it depends on breaks, and when clients send what they really send: a
real Redis refused, frozen (SIGSTOP) and emptied; corrupt and tampered bundles at reload and at
start; oversize bodies and other content types. `/readyz` must answer fast throughout."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import httpx
import pandas as pd
import pytest

from shopfusion.registry import Registry
from tests.conftest import BIN, redis_server, run_cmd
from tests.serving.conftest import Server
from tests.serving.test_service import event

pytestmark = pytest.mark.integration
READYZ_MS = 100


def readyz(srv: Server) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = httpx.get(srv.url + "/readyz", timeout=5)
    return (time.perf_counter() - t0) * 1000, r.json()


def answers_fast(probes: list[tuple[float, dict]]) -> bool:
    """/readyz within 100 ms (the median of the probes: one HTTP round trip on a busy 2-core
    box can be descheduled), and none near a store timeout's scale of seconds."""
    ms = sorted(p[0] for p in probes)
    return ms[len(ms) // 2] < READYZ_MS and ms[-1] < 1000


def until_healthy(srv: Server, users: list[str], within_s: float = 20) -> dict:
    """Recommend fresh users until an answer is not degraded (the breaker closed again)."""
    deadline = time.monotonic() + within_s
    for user in users:
        _, body = recommend_ms(srv, user)
        if not body["degraded"] or time.monotonic() > deadline:
            return body
        time.sleep(0.5)
    return body


@pytest.fixture(scope="module")
def users(served_project):
    return pd.read_parquet(served_project / "models/export/users.parquet")["user_id"].tolist()


@pytest.fixture(scope="module")
def on_redis(served_project, tmp_path_factory):
    """A copy of the served project whose online store is a real Redis, and its service."""
    root = tmp_path_factory.mktemp("redis_served") / "project"
    shutil.copytree(served_project, root, symlinks=True)
    with redis_server() as (url, proc):
        params = (root / "params.yaml").read_text().replace("profile: sqlite", "profile: redis").replace(
            "redis_connection: localhost:6379", f"redis_connection: {url}")
        (root / "params-redis.yaml").write_text(params)
        run_cmd(str(BIN / "shopfusion"), "features", "--params", "params-redis.yaml", cwd=root,
                env={"BENTOML_HOME": str(root / ".bentoml")})
        srv = Server(root, SHOPFUSION_PARAMS=str(root / "params-redis.yaml")).start()
        try:
            yield srv, proc, url
        finally:
            srv.stop()


def recommend_ms(srv: Server, user: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    body = srv.post("/recommend", {"user_id": user, "k": 5}).json()
    return (time.perf_counter() - t0) * 1000, body


def test_a_frozen_store_degrades_answers_quickly_and_recovers(on_redis, users):
    srv, redis, _ = on_redis
    healthy = [recommend_ms(srv, u) for u in users[:10]]
    assert not any(body["degraded"] for _, body in healthy)
    redis.send_signal(signal.SIGSTOP)
    try:
        frozen = [recommend_ms(srv, u) for u in users[10:30]]
        probes = [readyz(srv) for _ in range(5)]
    finally:
        redis.send_signal(signal.SIGCONT)
    assert all(body["degraded"] and "online_store" in body["dropped"] for _, body in frozen)
    assert max(ms for ms, _ in frozen) < 2000  # no request waits on the store
    assert answers_fast(probes), probes
    assert probes[-1][1]["degraded"]["online_store"]["state"] in ("open", "failing")
    assert not until_healthy(srv, users[31:60])["degraded"]  # after the breaker's back-off


def test_an_emptied_store_is_degraded_not_a_cold_start(on_redis, users):
    srv, _, url = on_redis
    assert not until_healthy(srv, users[60:90])["degraded"]
    host, port = url.split(":")
    subprocess.run([shutil.which("redis-cli") or "redis-cli", "-h", host, "-p", port, "FLUSHALL"], check=True)
    _, body = recommend_ms(srv, users[91])
    assert body["degraded"] and "no features" in body["dropped"]["online_store"]
    _, stranger = recommend_ms(srv, "never-seen-user")
    assert stranger["cold_start"] and not stranger["degraded"]


def test_a_refused_store_degrades_every_endpoint_quickly(on_redis, users):
    srv, redis, _ = on_redis
    redis.terminate()
    redis.wait(10)
    timings = [recommend_ms(srv, u) for u in users[100:108]]
    assert all(body["degraded"] for _, body in timings) and max(ms for ms, _ in timings) < 2000
    assert answers_fast([readyz(srv) for _ in range(5)])
    assert srv.post("/similar", {"item_id": srv.post("/recommend", {"k": 1}).json()["items"][0]["item_id"]}
                    ).status_code == 200


# --- bundles -----------------------------------------------------------------------------
def copy_bundle(root, tag: str, new_version: str) -> str:
    """The champion's bundle stored again under another version, as a separate process would."""
    code = (
        "import bentoml, shutil, sys\n"
        "src = bentoml.models.get(sys.argv[1])\n"
        "with bentoml.models.create('shopfusion:' + sys.argv[2], metadata={}) as m:\n"
        "    shutil.copytree(src.path, m.path, dirs_exist_ok=True)\n"
        "print(bentoml.models.get('shopfusion:' + sys.argv[2]).path)\n")
    out = run_cmd(str(BIN / "python"), "-c", code, tag, new_version, cwd=root,
                  env={"BENTOML_HOME": str(root / ".bentoml")})
    return out.strip().splitlines()[-1]


@pytest.fixture
def bundle_project(served_project, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(served_project, root, symlinks=True)
    return root, Registry(root / "data/serving/registry.json")


def test_a_tampered_champion_is_refused_at_reload_and_skipped_at_start(bundle_project):
    root, registry = bundle_project
    good = registry.champion
    path = copy_bundle(root, good, "tampered1")
    with open(f"{path}/models/sasrec/model.pt", "r+b") as f:  # 64 KB overwritten inside a tensor
        f.seek(4096)
        f.write(os.urandom(65536))
    srv = Server(root).start()
    try:
        registry.promote("shopfusion:tampered1", "test: a corrupt challenger")
        refused = srv.admin("/admin/reload")
        assert refused.status_code == 409 and "corrupt or tampered" in refused.json()["message"]
        assert refused.json()["error"] == "conflict"
        assert srv.post("/metadata").json()["model_tag"] == good  # the champion keeps serving
        assert srv.post("/recommend", {"k": 3}).status_code == 200
        srv.stop()
        srv.start()  # the registry still names the corrupt one: the previous good one serves
        _, ready = readyz(srv)
        assert ready["model_tag"] == good and "shopfusion:tampered1" in ready["degraded"]["skipped_bundles"]
    finally:
        srv.stop()


def test_no_servable_bundle_stops_the_server_with_one_line(bundle_project):
    root, registry = bundle_project
    path = copy_bundle(root, registry.champion, "truncated1")
    model = f"{path}/models/sasrec/model.pt"
    os.truncate(model, os.path.getsize(model) // 2)
    registry._write({"champion": "shopfusion:truncated1", "history": []})
    srv = Server(root)
    with pytest.raises(AssertionError, match="no servable bundle"):
        srv.start(timeout=90)  # start() asserts the process is alive and shows the log tail
    assert srv.proc.wait(30) == 1  # before any worker started: no restart loop
    log = (root / f"serve-{srv.port}.log").read_text()
    assert log.count("shopfusion: no servable bundle") == 1 and "truncated1" in log
    srv.log.close()


# --- requests ------------------------------------------------------------------------------
def test_oversize_and_foreign_bodies_are_refused_in_one_error_shape(server, served_project):
    big = server.post("/feedback", {"events": [event("u", "i", "e", query="x" * 2_000_000)]})
    assert big.status_code == 413 and big.json()["error"] == "too_large"
    long_query = server.post("/feedback", {"events": [event("u", "i", "e", query="x" * 10_000)]})
    assert long_query.status_code == 400 and long_query.json()["error"] == "invalid_request"
    assert "query" in long_query.json()["field"]
    form = httpx.post(server.url + "/recommend", content=b"a=1", timeout=10,
                      headers={"content-type": "multipart/form-data; boundary=x"})
    assert form.status_code == 415 and form.json()["error"] == "unsupported_media_type"
    missing = server.post("/similar", {"item_id": "no-such-item"})
    assert missing.status_code == 404 and set(missing.json()) == {"error", "message"}
    admin = server.post("/admin/reload")
    assert admin.status_code == 401 and admin.json()["error"] == "unauthorized"
    log = (server.root / f"serve-{server.port}.log").read_text()
    assert "Traceback" not in log  # client mistakes are logged in one line, at INFO
