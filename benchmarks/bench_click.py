"""The click -> recommend loop, beside the fastest no-op BentoML service.

What a shopper does: a click (`/feedback`), then the next `/recommend`, which must be based on
that click. Driven by the same Python generator against the service and both no-ops (sync
and async APIs; the faster is the floor), on a project built by `dvc repro` (`--root`, default
this checkout after `make demo`):

- pairs/s with 8 clients, each on its own connection: a user drawn from the whole user base
  with a Zipf frequency, their click, then their recommend (checked: `based_on[0]` is the
  clicked item) -> `click_recommend_pairs_ratio_vs_noop`, pair p50/p99;
- a single click sent while a 1,000-event feedback request is being accepted: its latency
  (`feedback_click_during_batch_ms`, median of 5);
- freshness at half load: recommend traffic at half the rate the service saturates at (open
  loop, measured first in the same run), and meanwhile 200 click -> recommend probes, each
  until the answer is based on the click -> `feedback_to_recommend_p99_ms_half_load`.

Run: python -m benchmarks.bench_click [--root DIR] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from benchmarks.bench_serving import BIN, REPO, ZIPF_EXPONENT, _latency, click, serve, stop
from benchmarks.common import machine, record

CLIENTS = 8
MAX_IN_FLIGHT = 32  # the half-load generator's bound on outstanding requests
PORTS = {"service": 3321, "sync": 3322, "async": 3323}


class Traffic:
    """Users drawn long-tailed from the whole user base, items uniformly from the catalog."""

    def __init__(self, users: list[str], items: list[str], seed: int = 0):
        self.rng = np.random.default_rng(seed)
        weights = 1.0 / np.arange(1, len(users) + 1) ** ZIPF_EXPONENT
        self.users, self.p = self.rng.permutation(users), weights / weights.sum()
        self.items, self.n = items, itertools.count()

    def user(self) -> str:
        return str(self.users[self.rng.choice(len(self.users), p=self.p)])

    def click(self, user: str) -> tuple[str, dict]:
        item = str(self.items[self.rng.integers(len(self.items))])
        return item, {"events": [click(user, item, next(self.n))]}


async def pairs(url: str, users: list[str], items: list[str], seconds: float, check: bool) -> dict:
    """CLIENTS loops of click then recommend for one user; pairs/s and pair latency. Each
    client has its own share of the users, so no other client's click lands in between."""
    latencies, stale = [], 0
    deadline = time.perf_counter() + seconds

    async def client(traffic: Traffic) -> None:
        nonlocal stale
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1)) as c:
            while time.perf_counter() < deadline:
                user = traffic.user()
                item, body = traffic.click(user)
                t0 = time.perf_counter()
                (await c.post("/feedback", json=body)).raise_for_status()
                answer = await c.post("/recommend", json={"user_id": user, "k": 10})
                answer = answer.raise_for_status().json()
                latencies.append((time.perf_counter() - t0) * 1000)
                stale += check and answer["based_on"][:1] != [item]

    t0 = time.perf_counter()
    await asyncio.gather(*(client(Traffic(users[i::CLIENTS], items, i)) for i in range(CLIENTS)))
    return {"pairs_per_s": len(latencies) / (time.perf_counter() - t0), "stale": stale, **_latency(latencies)}


async def saturating_rps(url: str, traffic: Traffic, seconds: float) -> float:
    """Recommend requests/s with CLIENTS closed-loop clients (no clicks)."""
    done, deadline = 0, time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            while time.perf_counter() < deadline:
                (await c.post("/recommend", json={"user_id": traffic.user(), "k": 10})).raise_for_status()
                done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done / (time.perf_counter() - t0)


async def freshness_at(url: str, traffic: Traffic, rps: float, probes: int = 200) -> list[float]:
    """ms from a click to a recommend based on it, while recommends arrive at `rps` (open loop)."""
    stop_load = asyncio.Event()

    async def load(c: httpx.AsyncClient) -> None:
        tasks, t0 = set(), time.perf_counter()
        for n in itertools.count():
            if stop_load.is_set():
                break
            await asyncio.sleep(max(0.0, t0 + n / rps - time.perf_counter()))
            if len(tasks) >= MAX_IN_FLIGHT:  # behind: shed this one rather than queue without end
                continue
            task = asyncio.create_task(c.post("/recommend", json={"user_id": traffic.user(), "k": 10}))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def probe(c: httpx.AsyncClient) -> list[float]:
        samples = []
        for _ in range(probes):
            user = traffic.user()
            item, body = traffic.click(user)
            t0 = time.perf_counter()
            (await c.post("/feedback", json=body)).raise_for_status()
            for _ in range(50):
                answer = (await c.post("/recommend", json={"user_id": user, "k": 10})).json()
                if answer["based_on"][:1] == [item]:
                    break
            else:
                raise AssertionError(f"a click on {item} never reached recommend")
            samples.append((time.perf_counter() - t0) * 1000)
        return samples

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=64)) as c, \
            httpx.AsyncClient(base_url=url, timeout=30) as p:
        loader = asyncio.create_task(load(c))
        await asyncio.sleep(1)
        try:
            return await probe(p)
        finally:
            stop_load.set()
            await loader


async def click_during_batch(url: str, traffic: Traffic, users: list[str], rounds: int = 5) -> float:
    """Median ms of one click sent 20 ms after a 1,000-event request from other users."""
    samples = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        for _ in range(rounds):
            batch = {"events": [traffic.click(u)[1]["events"][0] for u in users[:1000]]}
            big = asyncio.create_task(c.post("/feedback", json=batch))
            await asyncio.sleep(0.02)
            t0 = time.perf_counter()
            (await c.post("/feedback", json=traffic.click(traffic.user())[1])).raise_for_status()
            samples.append((time.perf_counter() - t0) * 1000)
            (await big).raise_for_status()
    return float(np.median(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=REPO, help="a project after `dvc repro`")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    root = args.root.resolve()
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "BENTOML_HOME": str(root / ".bentoml"),
           "SHOPFUSION_ROOT": str(root), "BENTOML_DO_NOT_TRACK": "true"}
    export = root / "models/export"
    users = pd.read_parquet(export / "users.parquet")["user_id"].astype(str).tolist()
    items = pd.read_parquet(export / "items.parquet")["item_id"].astype(str).tolist()
    url = {name: f"http://127.0.0.1:{port}" for name, port in PORTS.items()}
    procs = {"sync": serve("benchmarks.noop_service:Noop", REPO, PORTS["sync"], env),
             "async": serve("benchmarks.noop_service:NoopAsync", REPO, PORTS["async"], env)}
    try:
        procs["service"] = serve("shopfusion.serving.service:ShopFusion", root, PORTS["service"], env)
        noop = {kind: asyncio.run(pairs(url[kind], users, items, args.seconds, False))
                for kind in ("sync", "async")}
        served = asyncio.run(pairs(url["service"], users, items, args.seconds, True))
        for kind in ("sync", "async"):  # bracketing: the machine's speed drifts between runs
            again = asyncio.run(pairs(url[kind], users, items, args.seconds, False))
            noop[kind]["pairs_per_s"] = (noop[kind]["pairs_per_s"] + again["pairs_per_s"]) / 2
        floor = max(noop, key=lambda kind: noop[kind]["pairs_per_s"])
        print("pairs", served, noop, flush=True)
        during_batch = asyncio.run(click_during_batch(url["service"], Traffic(users, items, 1), users))
        saturated = asyncio.run(saturating_rps(url["service"], Traffic(users, items, 2), args.seconds))
        print("click during a batch", during_batch, "saturating rps", saturated, flush=True)
        fresh = asyncio.run(freshness_at(url["service"], Traffic(users, items, 3), saturated / 2))
    finally:
        for proc in procs.values():
            stop(proc)
    figures = {
        "click_recommend_pairs_per_s": served["pairs_per_s"],
        "click_recommend_pairs_ratio_vs_noop": served["pairs_per_s"] / noop[floor]["pairs_per_s"],
        "click_recommend_pair_p50_ms": served["p50_ms"], "click_recommend_pair_p99_ms": served["p99_ms"],
        "click_recommend_stale_answers": served["stale"],
        "feedback_click_during_batch_ms": during_batch,
        "recommend_saturating_rps_python_clients": saturated,
        "feedback_to_recommend_p99_ms_half_load": _latency(fresh)["p99_ms"],
        "feedback_to_recommend_p50_ms_half_load": _latency(fresh)["p50_ms"],
    }
    print({"served": served, "noop": noop, "floor": floor, "items": len(items), "users": len(users)})
    print(machine(), pd.Timestamp.now(tz="UTC").isoformat(), {k: round(v, 2) for k, v in figures.items()})
    record(**figures)


if __name__ == "__main__":
    main()
