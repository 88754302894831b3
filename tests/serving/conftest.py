"""A real `bentoml serve` of the packaged small project, over HTTP on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, free_port


def warm(readyz: httpx.Response) -> bool:
    """Ready, and nothing still warming (the search index, the online store) in the background."""
    is_json = readyz.headers.get("content-type", "").startswith("application/json")
    if readyz.status_code != 200 or not is_json:
        return False
    return not readyz.json().get("warming")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Server:
    def __init__(self, root: Path, **env: str):
        self.root, self.port = root, free_port()
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "SHOPFUSION_ROOT": str(root),
                    "BENTOML_HOME": str(root / ".bentoml"), "BENTOML_DO_NOT_TRACK": "true", **env}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 120) -> Server:
        self.log = open(self.root / f"serve-{self.port}.log", "ab")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [str(BIN / "bentoml"), "serve", "shopfusion.serving.service:ShopFusion", "--port",
             str(self.port), "--host", "127.0.0.1"], cwd=self.root, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / f"serve-{self.port}.log").read_text()[-3000:]
            try:
                if warm(httpx.get(self.url + "/readyz", timeout=1)):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"bentoml serve not ready in {timeout} s")

    def stop(self, timeout: float = 30) -> None:
        """Stop the arbiter and every worker: a worker outliving it holds the port a restart binds."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while self.proc and group_alive(self.proc.pid):
            if time.monotonic() > deadline:
                os.killpg(self.proc.pid, 9)
            time.sleep(0.2)
        self.log.close()

    def post(self, route: str, body: dict | None = None, timeout: float = 30, **kw) -> httpx.Response:
        return httpx.post(self.url + route, json=body or {}, timeout=timeout, **kw)

    def admin(self, route: str, body: dict | None = None) -> httpx.Response:
        """An admin call with the key the service generated (or was given)."""
        from shopfusion.serving.auth import KEY_ENV, admin_key

        key = self.env.get(KEY_ENV) or admin_key(self.root / ".secrets/api_key")
        return self.post(route, body, headers={"x-api-key": key}, timeout=120)


@pytest.fixture(scope="session")
def served_project(pipeline_project, tmp_path_factory) -> Path:
    """A copy of the pipeline project: serving writes to its online store and logs."""
    root = tmp_path_factory.mktemp("served") / "project"
    shutil.copytree(pipeline_project[0], root, symlinks=True)
    return root


@pytest.fixture(scope="module")
def server(served_project):
    srv = Server(served_project).start()
    yield srv
    srv.stop()
