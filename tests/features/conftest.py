import dataclasses

import pytest

from shopfusion.config import FeaturesConfig
from shopfusion.features.stage import FeaturePaths, run
from tests.conftest import redis_server

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
    with redis_server() as (url, _):
        yield url


@pytest.fixture(scope="session")
def redis_store(tmp_path_factory, small_shop, redis_url):
    from shopfusion.features.store import open_store

    cfg = dataclasses.replace(NO_TEXT, profile="redis", redis_connection=redis_url)
    root = tmp_path_factory.mktemp("feast_redis")
    land_validated(root, small_shop)
    run(cfg, feature_paths(root))
    return open_store(root, cfg), root
