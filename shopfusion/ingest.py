"""Ingest stage: land a batch (synthetic generator or a real adapter) as Parquet under data/.

Run: `shopfusion ingest` (reads params.yaml) or via `dvc repro ingest`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shopfusion.config import Params
from shopfusion.datagen import ShopData

if TYPE_CHECKING:
    import pandas as pd

TRUTH_FILE = "corruption_truth.parquet"


def load_source(params: Params) -> tuple[ShopData, pd.Series | None]:
    """The batch named by params.ingest.source, plus corruption ground truth when injected."""
    src = params.ingest.source
    if src != "synthetic":
        from shopfusion.adapters import load_real

        return load_real(src, Path(params.ingest.shared_data_dir)), None
    from shopfusion.datagen import generate
    from shopfusion.datagen.corrupt import corrupt

    gen = params.generator
    data = generate(gen)
    if not gen.corruption.rates():
        return data, None
    events, truth = corrupt(data.events, gen.corruption, seed=gen.seed)
    return ShopData(data.catalog, events, data.judgments), truth


def feedback_events(feedback_dir: Path) -> pd.DataFrame:
    """The events the service accepted (its durable log), in the contract; they were validated
    on arrival and are validated again with the batch they join."""
    import pandas as pd

    from shopfusion.contracts import EVENTS
    from shopfusion.logs import feedback_log

    fb = feedback_log(feedback_dir).read() if feedback_dir.is_dir() else pd.DataFrame()
    return EVENTS.conform(fb) if len(fb) else EVENTS.empty()


def with_feedback(data: ShopData, feedback_dir: Path) -> tuple[ShopData, int]:
    """Append the service's accepted events to the landed batch."""
    import pandas as pd

    fb = feedback_events(feedback_dir)
    if not len(fb):
        return data, 0
    events = pd.concat([data.events, fb.astype(data.events.dtypes.to_dict())], ignore_index=True)
    return ShopData(data.catalog, events, data.judgments), len(fb)


def land_interactions(params: Params, out: Path) -> dict:
    """Your own log, streamed in chunks (bounded memory), plus the service's feedback."""
    from shopfusion.adapters.interactions import land, landed
    from shopfusion.io import write_events

    manifest = land(params.ingest.interactions, out)
    fb = feedback_events(Path(params.serve.feedback_dir))
    if len(fb):
        write_events(landed(fb, None), out / "events", batch_id="interactions-feedback")
    manifest.update(source="interactions", feedback_events=len(fb))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def run(params: Params, out_dir: Path | None = None) -> dict:
    from shopfusion.io import write_batch

    out = Path(out_dir or params.ingest.out_dir)
    if params.ingest.source == "interactions":
        return land_interactions(params, out)
    data, truth = load_source(params)
    data, n_feedback = with_feedback(data, Path(params.serve.feedback_dir))
    seed = f"-{params.generator.seed}" if params.ingest.source == "synthetic" else ""
    manifest = write_batch(data, out, batch_id=f"{params.ingest.source}{seed}")
    manifest["source"] = params.ingest.source
    manifest["feedback_events"] = n_feedback
    if truth is not None:
        # feedback rows were appended after corruption: they are clean events ("")
        truth = truth.reindex(range(len(data.events)), fill_value="") if n_feedback else truth
        truth.rename("corruption").to_frame().to_parquet(out / TRUTH_FILE)
        manifest["corrupted_rows"] = int((truth != "").sum())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
