"""Feast objects (entities, sources, feature views, services), built for a features folder.

Both `feast apply` (through features/repo/definitions.py) and the stage use `build()`, so the
definitions exist once. Field lists follow the transforms in features/transforms.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shopfusion.config import FeaturesConfig
from shopfusion.contracts import EVENT_TYPES

TS = "event_timestamp"
PUSH_SOURCE = "user_recent_push"


def build(data_dir: Path, cfg: FeaturesConfig) -> list:
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource
    from feast.types import Array, Float32, Int64, String, UnixTimestamp
    from feast.value_type import ValueType

    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING,
                  description="A shopper (pseudonymized id)")
    item = Entity(name="item", join_keys=["item_id"], value_type=ValueType.STRING,
                  description="A catalog item")

    def source(name: str) -> FileSource:
        return FileSource(name=name, path=str(Path(data_dir).resolve() / f"{name}.parquet"),
                          timestamp_field=TS)

    counts = [Field(name=f"{t}_{w}d", dtype=Int64) for t in EVENT_TYPES for w in cfg.windows_days]
    as_of = Field(name="features_as_of", dtype=UnixTimestamp)
    ttl = timedelta(days=cfg.ttl_days)
    w_max = max(cfg.windows_days)

    user_activity = FeatureView(
        name="user_activity", entities=[user], ttl=ttl, source=source("user_activity"),
        schema=[*counts, Field(name=f"price_level_{w_max}d", dtype=Float32), as_of],
        description="Events by type over trailing windows; mean price paid (price level)")
    recent_push = PushSource(name=PUSH_SOURCE, batch_source=source("user_recent"))
    user_recent = FeatureView(
        name="user_recent", entities=[user], ttl=ttl, source=recent_push,
        schema=[Field(name="recent_items", dtype=Array(String)),
                Field(name="last_item_id", dtype=String), Field(name="last_event_type", dtype=String),
                Field(name="favourite_category", dtype=String),
                Field(name="favourite_brand", dtype=String)],
        description="Recent item sequence and affinities; updated in real time by push")
    rates = [Field(name=f"{r}_{w}d", dtype=Float32) for r in ("ctr", "cvr") for w in cfg.windows_days]
    item_popularity = FeatureView(
        name="item_popularity", entities=[item], ttl=ttl, source=source("item_popularity"),
        schema=[*counts, *rates, as_of], description="Popularity, click-through and conversion")
    item_catalog = FeatureView(
        name="item_catalog", entities=[item], ttl=None, source=source("item_catalog"),
        schema=[Field(name="title", dtype=String), Field(name="category_path", dtype=String),
                Field(name="category_top", dtype=String), Field(name="brand", dtype=String),
                Field(name="price", dtype=Float32),
                Field(name="same_category_brand", dtype=Array(String))],
        description="Catalog attributes and same-category-brand neighbours (knowledge graph)")
    item_graph = FeatureView(
        name="item_graph", entities=[item], ttl=ttl, source=source("item_graph"),
        schema=[Field(name="co_view_neighbours", dtype=Array(String)), as_of],
        description="Items viewed next in the same session (behavioural item graph)")
    views = [user_activity, user_recent, item_popularity, item_catalog, item_graph]
    if cfg.embed_text:
        views.append(FeatureView(
            name="item_text", entities=[item], ttl=None, source=source("item_text"),
            schema=[Field(name="text_embedding", dtype=Array(Float32))],
            description="MiniLM embedding of title + description"))
    by_name = {v.name: v for v in views}
    families = {
        "popularity_v1": ["item_popularity"],
        "cooccurrence_v1": ["item_graph", "item_catalog"],
        "sequential_v1": ["user_recent"],
        "recommend_request_v1": ["user_activity", "user_recent"],  # what one request fetches
        "two_tower_v1": ["user_activity", "user_recent", "item_catalog", "item_popularity", "item_text"],
        "text_v1": ["item_catalog", "item_text"],
        "stacker_v1": list(by_name),
    }
    services = [FeatureService(name=name, features=[by_name[v] for v in members if v in by_name])
                for name, members in families.items()]
    return [user, item, recent_push, *views, *services]
