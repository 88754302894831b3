"""The `features` stage: validated events in, Feast sources + registry + online store out.

Run: `shopfusion features` or `dvc repro features`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopfusion.config import FeaturesConfig
from shopfusion.features import transforms as tf
from shopfusion.io import read_parquet
from shopfusion.progress import track


@dataclass(frozen=True)
class FeaturePaths:
    root: Path = Path(".")  # data/feast (registry, online store) lives under it
    validated: Path = Path("data/validated")
    out: Path = Path("data/features")
    reports: Path = Path("reports/features")
    text_cache: Path = Path(".cache/text_embeddings.parquet")


def build_sources(events: pd.DataFrame, catalog: pd.DataFrame, cfg: FeaturesConfig,
                  text_cache: Path) -> dict[str, pd.DataFrame]:
    """Every Feast source table, computed from validated events and catalog."""
    if events.empty:
        raise ValueError("features: no validated events; run `shopfusion validate` first")
    origin = tf.origin_of(events)
    steps = {
        "user_activity": lambda: tf.window_counts(events, "user_id", cfg, origin),
        "item_popularity": lambda: tf.item_rates(tf.window_counts(events, "item_id", cfg, origin), cfg),
        "item_catalog": lambda: tf.item_catalog_features(catalog, cfg.neighbours),
        "item_graph": lambda: tf.co_view_graph(events, cfg, origin),
    }
    if cfg.embed_text:
        from shopfusion.features.text import embed_items

        steps["item_text"] = lambda: embed_items(catalog, text_cache, cfg.embedding_batch)
    out = {name: make() for name, make in track(steps.items(), "computing features")}
    out["user_recent"] = tf.recent_sequences(events, out["user_activity"][["user_id", tf.TS]],
                                             catalog, cfg.recent_items)
    return out


def run(cfg: FeaturesConfig, paths: FeaturePaths = FeaturePaths(),
        now: pd.Timestamp | None = None) -> dict:
    from shopfusion.adapters.interactions import has_item_text
    from shopfusion.features.definitions import build
    from shopfusion.features.store import open_store

    now = now or pd.Timestamp.now(tz="UTC")
    for name in ("events", "catalog"):
        if not (paths.validated / f"{name}.parquet").exists():
            raise FileNotFoundError(f"features: no validated {name} in {paths.validated}; "
                                    "run `shopfusion validate` first")
    events = read_parquet(paths.validated / "events.parquet")
    catalog = read_parquet(paths.validated / "catalog.parquet")
    if cfg.embed_text and not has_item_text(catalog):
        print("features: items carry no text (ids only): no text embeddings, the text model is skipped",
              file=sys.stderr)
        cfg = dataclasses.replace(cfg, embed_text=False)
        (paths.out / "item_text.parquet").unlink(missing_ok=True)
    t0 = time.perf_counter()
    sources = build_sources(events, catalog, cfg, paths.text_cache)
    paths.out.mkdir(parents=True, exist_ok=True)
    for name, df in sources.items():
        df.to_parquet(paths.out / f"{name}.parquet", index=False)
    computed = time.perf_counter() - t0

    store = open_store(paths.root, cfg)
    store.apply(build(paths.out, cfg))
    if any(v.materialization_intervals for v in store.list_feature_views()):
        store.materialize_incremental(end_date=now.to_pydatetime())
    else:  # first load: from the oldest row (catalog items predate the events), whatever the ttl
        start = min(df[tf.TS].min() for df in sources.values())
        store.materialize(start_date=start.to_pydatetime(), end_date=now.to_pydatetime())
    summary = {
        "profile": cfg.profile,
        "materialized_to": now.isoformat(),
        "rows": {name: len(df) for name, df in sources.items()},
        "compute_s": round(computed, 2),
        "total_s": round(time.perf_counter() - t0, 2),
    }
    paths.reports.mkdir(parents=True, exist_ok=True)
    (paths.reports / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
