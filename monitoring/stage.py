"""The `monitor` stage: the champion's reference window vs what arrived since, plus what
was served. Writes an HTML report per run (also added to the Evidently Workspace) and a
JSON decision record; `retrain_requested` is what the Airflow monitor DAG acts on.

Run: `shopfusion monitor`; browse: `evidently ui --workspace reports/monitor/workspace`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.bundle import champion_bundle, monitored_frame
from shopfusion.config import Params
from shopfusion.contracts import EVENTS
from shopfusion.logs import feedback_log, request_log
from shopfusion.monitoring.drift import detect
from shopfusion.privacy import pseudonymize

CTR_WINDOW = pd.Timedelta(minutes=30)  # a click this soon after a recommendation counts for it


def current_events(params: Params, root: Path, since: pd.Timestamp) -> pd.DataFrame:
    """Validated events and feedback-log events newer than the champion's data."""
    frames = []
    validated = root / "data/validated/events.parquet"
    if validated.exists():
        frames.append(pd.read_parquet(validated))
    fb = feedback_log(root / params.serve.feedback_dir).read()
    if len(fb):
        frames.append(fb)
    if not frames:
        return EVENTS.empty()
    events = pd.concat(frames, ignore_index=True)  # both with UTC `ts`
    return events[events["ts"] > since].drop_duplicates("event_id")


def served_signals(params: Params, root: Path, events: pd.DataFrame, n_items: int,
                   since: pd.Timestamp) -> dict:
    """Prediction drift and online proxies from the request log: catalog coverage, exposure
    concentration (Gini, a popularity-bias / fairness signal), and click-through / conversion
    of served recommendations (a click or purchase of a served item within 30 minutes)."""
    log = request_log(root / params.serve.request_log).read()
    if not len(log) or "endpoint" not in log:
        return {"recommend_requests": 0}
    rec = log[(log["endpoint"] == "recommend") & (log["ts"] > since)]
    if not len(rec):
        return {"recommend_requests": 0}
    shown = rec.explode("items").dropna(subset=["items"]).reset_index(drop=True)
    shown["row"] = np.arange(len(shown))
    exposure = np.sort(shown["items"].value_counts().to_numpy())
    counts = np.concatenate([np.zeros(max(n_items - len(exposure), 0)), exposure])
    gini = float(1 - 2 * np.sum(np.cumsum(counts) / counts.sum()) / len(counts) + 1 / len(counts))
    out = {"recommend_requests": len(rec), "catalog_coverage": len(exposure) / max(n_items, 1),
           "exposure_gini": gini, "degraded_share": float(rec.get("degraded", pd.Series(False)).mean())}
    if len(events):
        ev = events.assign(user=events["user_id"].map(pseudonymize), items=events["item_id"])
        joined = shown.merge(ev[["user", "items", "event_type", "ts"]], on=["user", "items"],
                             suffixes=("", "_ev"))
        hit = joined[(joined["ts_ev"] > joined["ts"]) & (joined["ts_ev"] <= joined["ts"] + CTR_WINDOW)]
        engaged = hit["event_type"].isin(["click", "add_to_cart", "purchase"])
        out["ctr"] = hit.loc[engaged, "row"].nunique() / len(shown)
        out["conversion"] = hit.loc[hit["event_type"] == "purchase", "row"].nunique() / len(shown)
    return out


def run(params: Params, root: Path = Path("."), now: pd.Timestamp | None = None) -> dict:
    from bentoml.exceptions import NotFound

    mon, now = params.monitor, now or pd.Timestamp.now(tz="UTC")
    out = Path(root) / mon.reports_dir
    try:
        tag, bundle = champion_bundle(params, root)
    except NotFound:  # nothing trained yet: the ingest -> train path comes first
        decision = {"status": "no_champion", "drift": False, "retrain_requested": False,
                    "failed_tests": [], "decided_at": now.isoformat(), "report": None,
                    "reason": "no packaged model to monitor yet: run the pipeline (train DAG) first"}
        write_record(out, "decision", decision)
        return decision
    manifest = json.loads((bundle / "manifest.json").read_text())
    since = pd.Timestamp(manifest["data_end"])
    reference = pd.read_parquet(bundle / "reference.parquet")
    events = current_events(params, root, since)
    catalog = pd.read_parquet(bundle / "items.parquet")
    validated_catalog = root / "data/validated/catalog.parquet"
    if validated_catalog.exists():
        catalog = pd.concat([pd.read_parquet(validated_catalog), catalog], ignore_index=True)
    decision, snapshots = detect(reference, monitored_frame(events, catalog, mon.new_item_days), mon)
    served = served_signals(params, root, events, manifest["items"], since)
    flags = []
    if served.get("exposure_gini", 0) > mon.max_exposure_gini:
        flags.append(f"exposure_gini {served['exposure_gini']:.3f} > {mon.max_exposure_gini}")
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    decision.update(champion=tag, window_since=since.isoformat(), decided_at=now.isoformat(),
                    served=served, flags=flags, retrain_requested=decision["drift"], report=None,
                    summary_report=None)
    for key, snapshot in zip(("report", "summary_report"), snapshots):
        decision[key] = str(out / f"{key.replace('_', '-')}-{stamp}.html")
        snapshot.save_html(decision[key])
        add_to_workspace(snapshot, Path(root) / mon.workspace)
    write_record(out, "decision", decision)
    return decision


def write_record(out: Path, name: str, record: dict) -> None:
    """The latest record as <name>.json, and every one appended to <name>s.jsonl."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(record, indent=2, default=str))
    with open(out / f"{name}s.jsonl", "a") as f:
        f.write(json.dumps(record, default=str) + "\n")


def add_to_workspace(snapshot, path: Path, project_name: str = "shopfusion") -> None:
    """Keep every run browsable: `evidently ui --workspace <path>`."""
    from evidently.ui.workspace import Workspace

    ws = Workspace.create(str(path))
    found = ws.search_project(project_name)
    project = found[0] if found else ws.create_project(project_name,
                                                       description="ShopFusion drift monitoring")
    ws.add_run(project.id, snapshot)
