"""The ingest stage lands a batch as day-partitioned Parquet with a manifest."""

import json

import pandas as pd

from shopfusion.config import CorruptionConfig, IngestConfig, Params, ServeConfig
from shopfusion.contracts import EVENTS
from shopfusion.ingest import TRUTH_FILE, run
from shopfusion.io import read_events, write_events
from tests.conftest import small_config


def params_for(tmp_path, **sections) -> Params:
    """Params whose feedback log is an empty folder, not the working directory's data/feedback."""
    return Params(serve=ServeConfig(feedback_dir=str(tmp_path / "feedback")), **sections)


def test_synthetic_batch_lands_partitioned_by_day(tmp_path):
    params = params_for(tmp_path, generator=small_config(n_events=5_000),
                        ingest=IngestConfig(out_dir=str(tmp_path)))
    manifest = run(params)
    assert manifest["events"] == 5_000 and manifest["source"] == "synthetic"
    days = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert days[0].startswith("date=2026-09-") and len(days) > 20
    events = read_events(tmp_path / "events")
    assert len(events) == 5_000 and list(events.columns) == EVENTS.names
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert not (tmp_path / TRUTH_FILE).exists()


def test_relanding_the_same_batch_is_idempotent(tmp_path, small_shop):
    for _ in range(2):
        write_events(small_shop.events, tmp_path, batch_id="b1")
    assert len(read_events(tmp_path)) == len(small_shop.events)
    write_events(small_shop.events.head(10), tmp_path, batch_id="b2")
    assert len(read_events(tmp_path)) == len(small_shop.events) + 10


def test_corrupted_batch_lands_faithfully_with_its_truth(tmp_path):
    gen = small_config(n_events=5_000, corruption=CorruptionConfig(null_key=0.02, wrong_type=0.01))
    run(params_for(tmp_path, generator=gen, ingest=IngestConfig(out_dir=str(tmp_path))))
    events = read_events(tmp_path / "events")
    truth = pd.read_parquet(tmp_path / TRUTH_FILE)["corruption"]
    assert len(events) == len(truth) == 5_000  # null timestamps land too, nothing dropped
    assert truth.value_counts().to_dict() == {"": 4_850, "null_key": 100, "wrong_type": 50}
    assert (tmp_path / "events" / "date=unknown").is_dir()


def test_real_source_lands_without_truth(tmp_path, shared_data):
    ing = IngestConfig(source="ml100k", out_dir=str(tmp_path), shared_data_dir=str(shared_data))
    manifest = run(params_for(tmp_path, ingest=ing))
    assert manifest["events"] == 100_000 and manifest["items"] == 1_682
