"""Feast online latency (issue #5): push -> visible, and the feature fetch a request makes,
SQLite vs Redis, each beside a raw read of the same store as the floor.

Builds a store from a generated shop (50k users), then measures in one process. A request
fetches the `recommend_request_v1` service (user_activity + user_recent, 19 features).
Run: `python -m benchmarks.bench_feast` (needs `redis-server` on PATH; it starts its own).
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, record
from shopfusion.config import FeaturesConfig, load_params

SERVICE = "recommend_request_v1"
VIEWS = ("user_activity", "user_recent")


def pct(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def build(root: Path, cfg: FeaturesConfig) -> None:
    from shopfusion.datagen import generate
    from shopfusion.features.stage import FeaturePaths, run

    gen = dataclasses.replace(load_params().generator, n_events=500_000, n_users=50_000, n_items=5_000)
    shop = generate(gen)
    (root / "data/validated").mkdir(parents=True, exist_ok=True)
    shop.events.to_parquet(root / "data/validated/events.parquet", index=False)
    shop.catalog.to_parquet(root / "data/validated/catalog.parquet", index=False)
    run(cfg, FeaturePaths(root=root, validated=root / "data/validated", out=root / "data/features",
                          reports=root / "reports", text_cache=root / "cache.parquet"))


def entity_keys(users: list[str]):
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    keys = [EntityKey(join_keys=["user_id"], entity_values=[Value(string_val=u)]) for u in users]
    return keys, [serialize_entity_key(k, entity_key_serialization_version=3) for k in keys]


def raw_sqlite(db: Path):
    from feast.protos.feast.types.Value_pb2 import Value

    conn = sqlite3.connect(db)

    def read(users: list[str]) -> int:
        _, keys = entity_keys(users)
        n = 0
        for view in VIEWS:
            rows = conn.execute(f"SELECT entity_key, feature_name, value FROM shopfusion_{view} "
                                f"WHERE entity_key IN ({','.join('?' * len(keys))})", keys).fetchall()
            n += len([Value.FromString(v) for _, _, v in rows])
        return n
    return read


def raw_redis(url: str):
    import redis
    from feast.infra.online_stores.helpers import _redis_key
    from feast.protos.feast.types.Value_pb2 import Value

    host, port = url.split(":")
    client = redis.Redis(host=host, port=int(port))

    def read(users: list[str]) -> int:
        protos, _ = entity_keys(users)
        pipe = client.pipeline(transaction=False)
        for k in protos:
            pipe.hgetall(_redis_key("shopfusion", k))
        n = 0
        for fields in pipe.execute():
            n += len([Value.FromString(v) for f, v in fields.items() if not f.startswith(b"_ts")])
        return n
    return read


def measure(fetch, users: np.ndarray, batch: int, n: int, rng) -> tuple[float, float]:
    fetch(list(users[:batch]))  # warm caches and connections
    times = []
    for _ in range(n):
        ids = list(rng.choice(users, batch, replace=False))
        t0 = time.perf_counter()
        fetch(ids)
        times.append(time.perf_counter() - t0)
    return pct(times)


def _feast_reader(reader):
    return lambda ids: reader.read(SERVICE, [{"user_id": u} for u in ids])


def push_to_visible(store, n: int) -> tuple[float, float]:
    from shopfusion.features.realtime import push_events
    from shopfusion.features.store import FeatureReader

    reader = FeatureReader(store)
    times = []
    for i in range(n):
        item, user = f"i{i % 97}", f"bench-user-{i % 13}"
        t0 = time.perf_counter()
        push_events(store, [{"user_id": user, "item_id": item, "event_type": "click",
                             "ts": pd.Timestamp.now(tz="UTC")}], n_recent=20)
        while reader.read("sequential_v1", [{"user_id": user}])[
                "user_recent__recent_items"][0][0] != item:
            pass
        times.append(time.perf_counter() - t0)
    return pct(times)


def start_redis() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"127.0.0.1:{port}"


def main() -> None:
    from shopfusion.features.store import FeatureReader, open_store

    rng = np.random.default_rng(0)
    proc, url = start_redis()
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = dataclasses.replace(load_params().features, embed_text=False)
            profiles = {"sqlite": base, "redis": dataclasses.replace(base, profile="redis",
                                                                    redis_connection=url)}
            for name, cfg in profiles.items():
                root = Path(tmp) / name
                build(root, cfg)
                store = open_store(root, cfg)
                users = pd.read_parquet(root / "data/features/user_activity.parquet")["user_id"].unique()
                feast_read = _feast_reader(FeatureReader(store))
                raw = raw_sqlite(root / "data/feast/online.db") if name == "sqlite" else raw_redis(url)
                for batch, n in ((1, 2000), (100, 300)):
                    results[(name, batch, "feast")] = measure(feast_read, users, batch, n, rng)
                    results[(name, batch, "raw")] = measure(raw, users, batch, n, rng)
                results[(name, "push")] = push_to_visible(store, 500)
    finally:
        proc.terminate()
    print(f"{machine()}; {len(users):,} users; p50/p99 ms")
    for key, (p50, p99) in results.items():
        print(f"  {key}: {p50:.2f} / {p99:.2f}")
    record(
        feast_push_visible_p99_ms_sqlite=results[("sqlite", "push")][1],
        feast_push_visible_p99_ms_redis=results[("redis", "push")][1],
        feast_online_read_p99_ms_sqlite=results[("sqlite", 1, "feast")][1],
        feast_online_read_p99_ms_redis=results[("redis", 1, "feast")][1],
        feast_online_read_100_p99_ms_sqlite=results[("sqlite", 100, "feast")][1],
        feast_online_read_100_p99_ms_redis=results[("redis", 100, "feast")][1],
        feast_raw_read_p99_ms_sqlite=results[("sqlite", 1, "raw")][1],
        feast_raw_read_100_p99_ms_sqlite=results[("sqlite", 100, "raw")][1],
        feast_raw_read_p99_ms_redis=results[("redis", 1, "raw")][1],
        feast_raw_read_100_p99_ms_redis=results[("redis", 100, "raw")][1],
    )


if __name__ == "__main__":
    main()
