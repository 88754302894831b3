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


def apply_and_materialize(store: FeatureStore, objects: list, end: pd.Timestamp) -> None:
    """Register the definitions, then load the latest feature rows up to `end` online."""
    store.apply(objects)
    store.materialize_incremental(end_date=end.to_pydatetime())


def online_features(store: FeatureStore, service: str, entity_rows: list[dict]) -> dict[str, list]:
    """Feature values (keys "view__feature") for the entity rows; unknown entities come back
    as None, not errors."""
    try:
        fs = store.get_feature_service(service)
    except Exception as exc:  # feast raises its own FeatureServiceNotFoundException
        raise StoreNotReady(f"feature service {service!r} is not registered; "
                            "run `shopfusion features` first") from exc
    return store.get_online_features(features=fs, entity_rows=entity_rows,
                                     full_feature_names=True).to_dict()


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
