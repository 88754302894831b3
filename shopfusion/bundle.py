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
STORE_RECORD = "model.yaml"  # what the BentoML model store adds beside a saved bundle
REFERENCE = "reference.parquet"  # monitored_frame() of the newest training events
ITEMS = "items.parquet"
DAY = pd.Timedelta(days=1)
CHECKOUT_STEPS = ("add_to_cart", "purchase")


def champion_bundle(params: Params, root: Path, tag: str | None = None) -> tuple[str, Path]:
    """A bundle's tag and folder in the BentoML model store: `tag`, by default the champion
    (the newest version if none was promoted yet)."""
    import bentoml

    model = bentoml.models.get(tag or champion_history(params, root)[0])
    return str(model.tag), Path(model.path)


class BundleError(ValueError):
    """A bundle that must not serve: unreadable, incomplete, or not the content it claims."""


def read_manifest(bundle: Path) -> dict:
    return json.loads((Path(bundle) / MANIFEST).read_text())


def verify(bundle: Path) -> dict:
    """The manifest of a bundle whose content hash matches its recorded version; else a
    BundleError naming the problem (a truncated or overwritten file changes the hash)."""
    bundle = Path(bundle)
    try:
        manifest = read_manifest(bundle)
    except (OSError, ValueError) as exc:
        raise BundleError(f"bundle {bundle}: unreadable manifest ({type(exc).__name__}: {exc})") from exc
    actual = bundle_version(bundle)
    if actual != manifest.get("version"):
        raise BundleError(f"bundle {bundle}: content hash {actual} does not match its version "
                          f"{manifest.get('version')} (corrupt or tampered)")
    return manifest


def champion_history(params: Params, root: Path) -> list[str]:
    """The champion's tag, then earlier champions, newest first: what to fall back to."""
    state = Registry(root / params.serve.registry).read()
    tags = [state["champion"]] + [h["tag"] for h in reversed(state["history"])]
    return list(dict.fromkeys(t for t in tags if t)) or [f"{params.serve.model_name}:latest"]


def bundle_version(folder: Path) -> str:
    """Content hash of the bundle: the same inputs, the same version, in models/export and in
    the BentoML model store alike. Manifests (at any depth) carry times, not content."""
    digest = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.name == MANIFEST or (f.parent == folder and f.name == STORE_RECORD):
            continue
        digest.update(str(f.relative_to(folder)).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def monitored_frame(events: pd.DataFrame, catalog: pd.DataFrame, new_item_days: float) -> pd.DataFrame:
    """Per event, the signals the monitor compares: event_type, category_top, price, new_item
    (yes/no), session_events (how many events its visit has: user activity, stable while the
    user mix changes), hour (UTC hour of day: a moved daily rhythm), checkout (on cart and
    purchase events only, which of the two: the conversion rate, which the event mix as a whole
    dilutes ~10x; empty elsewhere, and Evidently drops empty values before testing)."""
    items = catalog.drop_duplicates("item_id").set_index("item_id")
    ts = pd.to_datetime(events["ts"], utc=True)
    created = pd.to_datetime(events["item_id"].map(items["created_at"]), utc=True)
    per_session = events.groupby("session_id")["session_id"].transform("size") if len(events) else ts
    category = events["item_id"].map(items["category_path"]).astype(str)
    event_type = events["event_type"].astype(str)
    return pd.DataFrame({
        "event_type": event_type.to_numpy(),
        "category_top": category.str.split("/").str[0].to_numpy(),
        "price": pd.to_numeric(events["price"], errors="coerce").to_numpy(dtype=float),
        "new_item": np.where((ts - created) / DAY < new_item_days, "new", "established"),
        "session_events": pd.to_numeric(per_session).to_numpy(dtype=float),
        "hour": ts.dt.hour.astype(str).to_numpy(),
        "checkout": event_type.where(event_type.isin(CHECKOUT_STEPS)).to_numpy(dtype=object),
    })
