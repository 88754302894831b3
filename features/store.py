"""Open the Feast store for a project root and profile; apply, materialize, read, push.

The checked-in feature_store*.yaml files are the configuration; this module only makes their
relative paths absolute for the given root, so tests and the stage can use any folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from shopfusion.config import FeaturesConfig

if TYPE_CHECKING:
    from feast import FeatureStore

REPO = Path(__file__).resolve().parent / "repo"
PROFILES = {"sqlite": "feature_store.yaml", "redis": "feature_store.redis.yaml"}


class StoreNotReady(RuntimeError):
    """The online store is missing or stale; the message says which command fixes it."""


def store_config(root: Path, cfg: FeaturesConfig) -> dict:
    if cfg.profile not in PROFILES:
        raise ValueError(f"features.profile must be one of {sorted(PROFILES)}, got {cfg.profile!r}")
    conf = yaml.safe_load((REPO / PROFILES[cfg.profile]).read_text())
    feast_dir = Path(root).resolve() / "data" / "feast"
    conf["registry"] = str(feast_dir / Path(conf["registry"]).name)
    if cfg.profile == "sqlite":
        conf["online_store"]["path"] = str(feast_dir / Path(conf["online_store"]["path"]).name)
    else:
        conf["online_store"]["connection_string"] = cfg.redis_connection
    conf["repo_path"] = str(REPO)
    return conf


def open_store(root: Path, cfg: FeaturesConfig) -> FeatureStore:
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    conf = store_config(root, cfg)
    Path(conf["registry"]).parent.mkdir(parents=True, exist_ok=True)
    return FeatureStore(config=RepoConfig(**conf))


class FeatureReader:
    """Online reads for request paths, with feature services resolved once.

    Feast rebuilds a FeatureService from the registry proto, under runtime type checks, on
    every lookup (~3 ms, more than the read itself), so a reader keeps them.
    """

    def __init__(self, store: FeatureStore):
        self.store = store
        self._services: dict = {}

    def service(self, name: str):
        if name not in self._services:
            try:
                self._services[name] = self.store.get_feature_service(name, allow_cache=True)
            except Exception as exc:  # feast raises its own FeatureServiceNotFoundException
                raise StoreNotReady(f"feature service {name!r} is not registered; "
                                    "run `shopfusion features` first") from exc
        return self._services[name]

    def read(self, service: str, entity_rows: list[dict]) -> dict[str, list]:
        """Values keyed "view__feature"; unknown entities come back as None, not errors."""
        return self.store.get_online_features(features=self.service(service), entity_rows=entity_rows,
                                              full_feature_names=True).to_dict()


def online_features(store: FeatureStore, service: str, entity_rows: list[dict]) -> dict[str, list]:
    """One-off read (tests, scripts); request paths keep a FeatureReader."""
    return FeatureReader(store).read(service, entity_rows)


def check_fresh(store: FeatureStore, max_age: pd.Timedelta, now: pd.Timestamp) -> None:
    """Raise StoreNotReady when no view was ever materialized or the newest load is too old."""
    views = store.list_feature_views()
    if not views:
        raise StoreNotReady("no feature views registered; run `shopfusion features` first")
    loaded = [v.most_recent_end_time for v in views if v.materialization_intervals]
    if not loaded:
        raise StoreNotReady("online store was never materialized; run `shopfusion features`")
    newest = pd.Timestamp(max(loaded))
    newest = newest.tz_localize("UTC") if newest.tzinfo is None else newest
    if now - newest > max_age:
        raise StoreNotReady(f"online store is stale: last materialized {newest}, "
                            f"older than {max_age}; rerun `shopfusion features`")
