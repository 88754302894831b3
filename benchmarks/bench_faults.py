"""The service under broken dependencies and hostile input, on a project's own pipeline output:

- recommend p50/p99 for distinct users with the online store healthy, then with it frozen
  (SIGSTOP on a real Redis), 4 concurrent clients, and /readyz latency meanwhile;
- the worker killed (kill -9) while clients send feedback: seconds until /readyz answers again,
  and acknowledged events missing from the durable log afterwards;
- schemathesis over every endpoint, each body also sent under other content types: 5xx count.

    python -m benchmarks.bench_faults [--root PROJECT]   # PROJECT: after `make demo` (default: .)

The project is copied to a scratch folder first (its online store moves to a Redis there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from benchmarks.bench_serving import stop
from benchmarks.common import machine, record
from benchmarks.fuzz_openapi import server_errors

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
CODE = ("shopfusion", "validation", "features", "training", "serving", "monitoring", "dags")
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("redis-server did not start")


def copy_project(src: Path, dst: Path, redis: str) -> dict:
    """The project's data and artifacts, with this checkout's code (a project folder holds the
    stage packages, which the service imports first from its working directory)."""
    skip = shutil.ignore_patterns(".venv", ".git", ".dvc", "__pycache__", "serve-*.log")

    def ignore(folder, names):  # the code folders at the top only (.bentoml/models/shopfusion stays)
        return set(skip(folder, names)) | (set(CODE) & set(names) if Path(folder) == src else set())

    shutil.copytree(src, dst, ignore=ignore, symlinks=True)
    for folder in CODE:
        shutil.copytree(REPO / folder, dst / folder, ignore=shutil.ignore_patterns("__pycache__"))
    params = (dst / "params.yaml").read_text().replace("profile: sqlite", "profile: redis")
    params = params.replace("redis_connection: localhost:6379", f"redis_connection: {redis}")
    (dst / "params.yaml").write_text(params)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "SHOPFUSION_ROOT": str(dst),
           "BENTOML_HOME": str(dst / ".bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    subprocess.run([str(BIN / "shopfusion"), "features"], cwd=dst, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return env


def serve(root: Path, port: int, env: dict) -> subprocess.Popen:
    with open(root / "serve.log", "wb") as log:
        proc = subprocess.Popen([str(BIN / "bentoml"), "serve", "shopfusion.serving.service:ShopFusion",
                                 "--port", str(port)], cwd=root, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}", 600)
    return proc


def wait_ready(url: str, timeout_s: float, warm: bool = True) -> float:
    """Seconds until /readyz says ready (our JSON answer, not BentoML's while it starts) and,
    with `warm`, nothing is still warming in the background."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        try:
            r = httpx.get(url + "/readyz", timeout=1)
            ours = r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json")
            if ours and (not warm or not r.json().get("warming")):
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("service not ready")


def recommend_latencies(url: str, users: list[str]) -> tuple[list[float], int]:
    """(each request's ms, how many answers were degraded), CLIENTS at a time."""
    def one(user):
        t0 = time.perf_counter()
        body = httpx.post(url + "/recommend", json={"user_id": user, "k": 10}, timeout=60).json()
        return (time.perf_counter() - t0) * 1000, body["degraded"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        out = list(pool.map(one, users))
    return [ms for ms, _ in out], sum(d for _, d in out)


def readyz_ms(url: str, n: int = 20) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        httpx.get(url + "/readyz", timeout=10)
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.02)
    return out


def worker_pid(port: int) -> int:
    """The BentoML worker holding the socket (circusd's child running the service)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    pids = [int(p.split("=")[1]) for p in out.replace(")", ",").split(",") if p.startswith("pid=")]
    names = {p: Path(f"/proc/{p}/comm").read_text().strip() for p in pids}
    return next(p for p, name in names.items() if name != "circusd")


def restart_under_feedback(url: str, port: int, root: Path, users: list[str], items: list[str]) -> dict:
    """kill -9 the worker while a client sends feedback; ready-again seconds and lost events."""
    acked, stop_flag = [], threading.Event()

    def client():
        i = 0
        while not stop_flag.is_set():
            event = {"event_id": f"restart-{i}", "user_id": users[i % len(users)],
                     "item_id": items[i % len(items)], "event_type": "click", "session_id": "bench",
                     "ts": pd.Timestamp.now(tz="UTC").isoformat(), "price": 1.0, "quantity": 1}
            i += 1
            try:
                r = httpx.post(url + "/feedback", json={"events": [event]}, timeout=10)
                if r.status_code == 200 and r.json()["accepted"] == 1:
                    acked.append(event["event_id"])
            except httpx.HTTPError:
                time.sleep(0.05)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(3)
    os.kill(worker_pid(port), signal.SIGKILL)
    killed = time.perf_counter()
    time.sleep(0.2)  # the old worker's socket may answer for a moment
    wait_ready(url, 300, warm=False)
    ready_s = time.perf_counter() - killed
    wait_ready(url, 300)
    warm_s = time.perf_counter() - killed
    time.sleep(2)
    stop_flag.set()
    thread.join()
    logged = "".join(p.read_text() for p in (root / "data/feedback").glob("events-*.jsonl"))
    lost = [e for e in acked if f'"{e}"' not in logged]
    return {"worker_restart_ready_s": ready_s, "worker_restart_warm_s": warm_s,
            "worker_restart_acked_events": len(acked),
            "worker_restart_lost_events": len(lost)}


def percentile(ms: list[float], q: float) -> float:
    return float(np.percentile(ms, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--users", type=int, default=200, help="distinct users per phase")
    args = parser.parse_args()
    redis, redis_url = start_redis()
    scratch = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    root = scratch / "project"
    try:
        env = copy_project(args.root.resolve(), root, redis_url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = serve(root, port, env)
        export = root / "models/export"
        users = pd.read_parquet(export / "users.parquet")["user_id"].tolist()
        items = pd.read_parquet(export / "items.parquet")["item_id"].tolist()
        rng = np.random.default_rng(0)
        drawn = [str(u) for u in rng.choice(users, 3 * args.users, replace=False)]
        healthy, healthy_degraded = recommend_latencies(url, drawn[: args.users])
        redis.send_signal(signal.SIGSTOP)
        try:
            probe = []
            prober = threading.Thread(target=lambda: probe.extend(readyz_ms(url, 40)))
            prober.start()
            frozen, frozen_degraded = recommend_latencies(url, drawn[args.users: 2 * args.users])
            prober.join()
        finally:
            redis.send_signal(signal.SIGCONT)
        time.sleep(6)  # the breaker's back-off
        restart = restart_under_feedback(url, port, root, drawn[2 * args.users:], items)
        sent, n_5xx, errors = server_errors(url, max_examples=30)
        stop(proc)
    finally:
        redis.send_signal(signal.SIGCONT)
        redis.terminate()
    figures = {
        "store_healthy_recommend_p99_ms": percentile(healthy, 99),
        "store_frozen_recommend_p50_ms": percentile(frozen, 50),
        "store_frozen_recommend_p99_ms": percentile(frozen, 99),
        "store_frozen_p99_over_healthy_p99": percentile(frozen, 99) / percentile(healthy, 99),
        "store_frozen_degraded_share": frozen_degraded / len(frozen),
        "store_frozen_readyz_max_ms": max(probe),
        "schemathesis_all_content_types_requests": sent,
        "schemathesis_all_content_types_5xx": n_5xx,
        **restart,
    }
    print(json.dumps({**figures, "healthy_degraded": healthy_degraded, "machine": machine(),
                      "errors": errors[:5]}, indent=2))
    record(**figures)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
