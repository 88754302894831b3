"""The `package` stage: trained models + fusion + the catalog they index -> one exported bundle
(DVC-tracked, `models/export`) saved as a version in the BentoML model store.

The bundle is everything a service needs to answer without the training data: each model's
weights, the fusion weights and stacker, the item and user id order the models index, item
features the stacker reads, text embeddings for search, and which items each user bought.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.bundle import ITEMS, MANIFEST, REFERENCE, bundle_version, monitored_frame, read_manifest
from shopfusion.config import Params
from shopfusion.training.fuser import Fuser
from shopfusion.training.stacker import item_age_days
from shopfusion.training.stage import TrainPaths, data_version, load_dataset

ITEM_COLUMNS = ["item_id", "title", "description", "category_path", "brand", "price", "created_at"]


@dataclass(frozen=True)
class PackagePaths:
    train: TrainPaths = TrainPaths()
    export: Path = Path("models/export")


def item_table(data, cut: float) -> pd.DataFrame:
    """Catalog rows in model index order, plus what the stacker reads per item at `cut`."""
    items = data.items.reindex(columns=ITEM_COLUMNS).copy()
    items["train_count"] = np.bincount(data.interactions.item, minlength=data.interactions.n_items)
    items["age_days"] = item_age_days(cut, data)
    return items


def reference_frame(events: pd.DataFrame, catalog: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The newest training events as the monitor sees them: the drift reference."""
    newest = events.sort_values("ts").tail(params.monitor.reference_rows)
    return monitored_frame(newest, catalog, params.monitor.new_item_days)


def evaluation(metrics_file: Path, method: str) -> dict | None:
    """The served fusion method's test-window metrics (models fit before the test cut)."""
    if not metrics_file.exists():
        return None
    report = json.loads(metrics_file.read_text())
    fused = report["fusion"].get(method) or report["fusion"]["weighted"]
    return {"method": method, "ndcg@10": fused["ndcg@10"], "test_cut": report["protocol"]["test_cut"],
            "data_version": report.get("data_version")}


def export(params: Params, paths: PackagePaths = PackagePaths()) -> dict:
    """Write the bundle folder; returns its manifest (with a content version)."""
    data = load_dataset(paths.train)
    fuser = Fuser.load(paths.train.fusion)
    out = paths.export
    if out.exists():
        shutil.rmtree(out)
    (out / "models").mkdir(parents=True)
    models = {}
    for name in fuser.models:
        src = paths.train.trained(name)
        if not (src / "model.pt").exists():
            raise FileNotFoundError(f"package: no trained {name} in {src}; run `shopfusion train`")
        shutil.copytree(src, out / "models" / name)
        models[name] = json.loads((src / "manifest.json").read_text())
    shutil.copytree(paths.train.fusion, out / "fusion")
    cut = float(data.interactions.ts.max()) if len(data.interactions.ts) else 0.0
    item_table(data, cut).to_parquet(out / ITEMS, index=False)
    pd.DataFrame({"user_id": data.user_ids.astype(str)}).to_parquet(out / "users.parquet", index=False)
    if data.item_text is not None:
        np.save(out / "item_text.npy", data.item_text)
    ev = pd.read_parquet(paths.train.validated / "events.parquet")
    ev[ev["event_type"] == "purchase"][["user_id", "item_id"]].drop_duplicates().to_parquet(
        out / "purchases.parquet", index=False)
    reference_frame(ev, data.items, params).to_parquet(out / REFERENCE, index=False)
    manifest = {
        "data_version": data_version(paths.train),
        "packaged_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "data_end": pd.Timestamp(cut, unit="s", tz="UTC").isoformat(),
        "fusion": fuser.method,
        "models": {n: {k: m.get(k) for k in ("trained_at", "data_version", "params")}
                   for n, m in models.items()},
        "items": int(data.interactions.n_items), "users": int(data.interactions.n_users),
        "evaluation": evaluation(paths.train.reports / "metrics.json", fuser.method),
    }
    manifest["version"] = bundle_version(out)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def save_to_store(folder: Path, name: str) -> str:
    """Save the bundle as `name:<version>` in the BentoML model store (BENTOML_HOME); a bundle
    already stored under that version is not stored twice. Returns the tag."""
    import bentoml
    from bentoml.exceptions import NotFound

    manifest = read_manifest(folder)
    tag = f"{name}:{manifest['version']}"
    try:
        bentoml.models.get(tag)
        return tag
    except NotFound:
        pass
    with bentoml.models.create(tag, labels={"data_version": manifest["data_version"]},
                               metadata=_without_nulls(manifest)) as model:
        shutil.copytree(folder, model.path, dirs_exist_ok=True)
    return tag


def _without_nulls(value):
    """BentoML metadata rejects None (e.g. `evaluation` when the evaluate stage has not run);
    the bundle's own manifest.json keeps the full record."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def run(params: Params, paths: PackagePaths = PackagePaths()) -> dict:
    """Export and store; promotion is the champion/challenger gate's decision (`shopfusion gate`)."""
    manifest = export(params, paths)
    tag = save_to_store(paths.export, params.serve.model_name)
    return {"tag": tag, "version": manifest["version"], "data_version": manifest["data_version"],
            "models": list(manifest["models"]), "evaluation": manifest["evaluation"]}
