"""Champion/challenger gate: the packaged challenger replaces the champion only if its
offline NDCG@10 on the newest test window is not worse beyond a tolerance.

Both are measured on the same window of the current data: the challenger by the evaluate
stage (its models fit before the window), the champion by scoring that window with the served
champion bundle. When the champion's own data reaches into the window it would be judged on
events it trained on, so its recorded test figure is used instead (and the record says so).
Every decision, with both metric sets, goes to the registry history and reports/monitor.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.config import Params
from shopfusion.registry import Registry


def champion_on_window(bundle: Path, params: Params) -> dict:
    """NDCG@10 (and recall@10) of the champion bundle on the current test window."""
    from shopfusion.serving.engine import Engine
    from shopfusion.training.evaluate import splits
    from shopfusion.training.fusion import dense
    from shopfusion.training.metrics import next_item_metrics, target_ranks
    from shopfusion.training.stage import TrainPaths, load_dataset

    data = load_dataset(TrainPaths())
    _, test = splits(data, params.train)
    engine = Engine(bundle, params.serve)
    to_current = data.item_ids.get_indexer(engine.item_index)  # champion index -> current index
    ok = to_current >= 0
    scores = np.full((len(test.users), data.interactions.n_items), -np.inf, np.float32)
    requests = [(str(data.user_ids[user]), engine.known_items(list(data.item_ids[history])))
                for user, history in zip(test.users, test.history)]
    # as the service batches: users scored together, each call within the models' time budget
    size = params.serve.max_batch
    for start in range(0, len(requests), size):
        batch = engine.fused_scores_batch(requests[start: start + size])
        for row, scored in enumerate(batch, start):
            scores[row, to_current[ok]] = dense(scored.items, scored.fused, len(engine.item_index))[ok]
    scores = np.nan_to_num(scores, neginf=-1e30)
    metrics = next_item_metrics(target_ranks(scores, test.targets), ks=(10,))
    return {"ndcg@10": metrics["ndcg@10"], "recall@10": metrics.get("recall@10"),
            "test_cut": float(test.cut), "users": len(test.users), "basis": "scored on the newest window"}


def run(params: Params, root: Path = Path(".")) -> dict:
    import bentoml

    from shopfusion.monitoring.stage import write_record

    registry = Registry(root / params.serve.registry)
    manifest = json.loads((root / "models/export/manifest.json").read_text())
    challenger = f"{params.serve.model_name}:{manifest['version']}"
    record = {"challenger": challenger, "champion": registry.champion,
              "challenger_metrics": manifest.get("evaluation"), "tolerance": params.monitor.gate_tolerance,
              "decided_at": pd.Timestamp.now(tz="UTC").isoformat()}
    if registry.champion is None or registry.champion == challenger:
        record.update(promote=registry.champion is None,
                      reason="no champion yet" if registry.champion is None else "already champion")
    elif not manifest.get("evaluation"):
        record.update(promote=False, reason="challenger has no test-window evaluation")
    else:
        champ_bundle = Path(bentoml.models.get(registry.champion).path)
        champ_manifest = json.loads((champ_bundle / "manifest.json").read_text())
        test_cut = manifest["evaluation"]["test_cut"]
        if pd.Timestamp(champ_manifest["data_end"]).timestamp() <= test_cut:
            champ = champion_on_window(champ_bundle, params)
        else:
            champ = {**(champ_manifest.get("evaluation") or {"ndcg@10": 0.0}),
                     "basis": "champion trained on the newest window: its recorded test figure"}
        record["champion_metrics"] = champ
        floor = champ["ndcg@10"] * (1 - params.monitor.gate_tolerance)
        better = manifest["evaluation"]["ndcg@10"] >= floor
        record.update(promote=bool(better), reason=(
            f"challenger NDCG@10 {manifest['evaluation']['ndcg@10']:.4f} "
            f"{'>=' if better else '<'} champion {champ['ndcg@10']:.4f} "
            f"x (1 - {params.monitor.gate_tolerance})"))
    if record["promote"]:
        registry.promote(challenger, record["reason"], challenger_metrics=record["challenger_metrics"],
                         champion_metrics=record.get("champion_metrics"))
    write_record(root / params.monitor.reports_dir, "gate", record)
    return record
