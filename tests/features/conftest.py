import dataclasses
import shutil
import socket
import subprocess
import time

import pytest

from shopfusion.config import FeaturesConfig
from shopfusion.features.stage import FeaturePaths, run

NO_TEXT = FeaturesConfig(embed_text=False)


def feature_paths(root):
    return FeaturePaths(root=root, validated=root / "data/validated", out=root / "data/features",
                        reports=root / "reports", text_cache=root / ".cache/text.parquet")


def land_validated(root, shop):
    (root / "data/validated").mkdir(parents=True, exist_ok=True)
    shop.events.to_parquet(root / "data/validated/events.parquet", index=False)
    shop.catalog.to_parquet(root / "data/validated/catalog.parquet", index=False)


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory, small_shop):
    """A Feast project built from the small shop, SQLite online store, no text embeddings."""
    from shopfusion.features.store import open_store

    root = tmp_path_factory.mktemp("feast")
    land_validated(root, small_shop)
    summary = run(NO_TEXT, feature_paths(root))
    return open_store(root, NO_TEXT), root, summary


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free loopback port, for the scale-out profile."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not installed (.ci/run installs it: apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_store(tmp_path_factory, small_shop, redis_url):
    from shopfusion.features.store import open_store

    cfg = dataclasses.replace(NO_TEXT, profile="redis", redis_connection=redis_url)
    root = tmp_path_factory.mktemp("feast_redis")
    land_validated(root, small_shop)
    run(cfg, feature_paths(root))
    return open_store(root, cfg), root
