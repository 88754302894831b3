"""The packaged bundle as every stage sees it: where the champion's lives, its content
version, and the event signals it keeps as the drift reference.

The package stage writes a bundle, the service and the gate load one, the monitor compares
new events with the one it carries; the format is defined here so none of them imports another.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.config import Params
from shopfusion.registry import Registry

MANIFEST = "manifest.json"
REFERENCE = "reference.parquet"  # monitored_frame() of the newest training events
ITEMS = "items.parquet"
DAY = pd.Timedelta(days=1)


def champion_bundle(params: Params, root: Path) -> tuple[str, Path]:
    """The champion's tag and folder in the BentoML model store (newest version if none was
    promoted yet)."""
    import bentoml

    tag = Registry(root / params.serve.registry).champion or f"{params.serve.model_name}:latest"
    model = bentoml.models.get(tag)
    return str(model.tag), Path(model.path)


def read_manifest(bundle: Path) -> dict:
    return json.loads((Path(bundle) / MANIFEST).read_text())


def bundle_version(folder: Path) -> str:
    """Content hash of the bundle (excluding its manifest): the same inputs, the same version."""
    digest = hashlib.sha256()
    # manifests carry times (packaged, trained), not content
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest.update(str(f.relative_to(folder)).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def monitored_frame(events: pd.DataFrame, catalog: pd.DataFrame, new_item_days: float) -> pd.DataFrame:
    """Per event, the signals the monitor compares: event_type, category_top, price, new_item
    (yes/no), session_events (how many events its visit has: user activity, stable while the
    user mix changes)."""
    items = catalog.drop_duplicates("item_id").set_index("item_id")
    ts = pd.to_datetime(events["ts"], utc=True)
    created = pd.to_datetime(events["item_id"].map(items["created_at"]), utc=True)
    per_session = events.groupby("session_id")["session_id"].transform("size") if len(events) else ts
    category = events["item_id"].map(items["category_path"]).astype(str)
    return pd.DataFrame({
        "event_type": events["event_type"].astype(str).to_numpy(),
        "category_top": category.str.split("/").str[0].to_numpy(),
        "price": pd.to_numeric(events["price"], errors="coerce").to_numpy(dtype=float),
        "new_item": np.where((ts - created) / DAY < new_item_days, "new", "established"),
        "session_events": pd.to_numeric(per_session).to_numpy(dtype=float),
    })
