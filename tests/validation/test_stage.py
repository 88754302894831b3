"""The validate stage end to end: GE suites, outputs, batch verdicts, clear input errors."""

import dataclasses
import json

import pandas as pd
import pytest

from shopfusion.config import ValidateConfig
from shopfusion.contracts import ContractError
from shopfusion.datagen import ShopData
from shopfusion.io import write_batch
from shopfusion.validation.stage import BatchRejected, StagePaths, run
from tests.conftest import small_config
from tests.validation.conftest import EXPECTED_REASON, FAST, NOW, corrupted_tables


def paths(root):
    return StagePaths(raw=root / "data/raw", validated=root / "data/validated",
                      quarantine=root / "data/quarantine", reports=root / "reports",
                      history=root / "data/history.jsonl")


def test_ge_suites_agree_with_routing_and_build_data_docs(landed):
    root, truth = landed
    summary = run(ValidateConfig(), paths(root), now=NOW)
    ev = summary["tables"]["events"]
    assert ev["rows_lost"] == 0 and ev["quarantined"] == (truth != "").sum()
    for table in summary["tables"].values():
        assert table["ge_disagreements"] == {}
    failed = {r for r, res in ev["ge"].items() if not res["success"]}
    # Every GE-checked corruption is seen by GE itself, not only by the pandas twins.
    for reason in ("expect_column_values_to_be_unique:event_id",
                   "expect_column_values_to_be_between:price",
                   "expect_column_values_to_be_between:ts"):
        assert reason in failed and ev["ge"][reason]["unexpected"] > 0
    assert all(res["error"] is None for res in ev["ge"].values())
    docs = root / "reports/gx/uncommitted/data_docs/local_site"
    assert (docs / "index.html").is_file() and any((docs / "validations/events").rglob("*.html"))


def test_outputs_hold_every_row_with_reasons(landed):
    root, truth = landed
    run(FAST, paths(root), now=NOW)
    validated = pd.read_parquet(root / "data/validated/events.parquet")
    quarantine = pd.read_parquet(root / "data/quarantine/events.parquet")
    assert len(validated) + len(quarantine) == len(truth)
    assert quarantine["reasons"].map(len).min() >= 1
    flat = {r.split(":")[0] + ":" for rs in quarantine["reasons"] for r in rs}
    assert {e.split(":")[0] + ":" for e in EXPECTED_REASON.values()} <= flat
    summary = json.loads((root / "reports/summary.json").read_text())
    assert summary["success"] and summary["tables"]["events"]["by_reason"]


def test_too_many_bad_rows_rejects_the_batch_and_keeps_previous_data(tmp_path, small_shop):
    p = paths(tmp_path)
    good, _ = corrupted_tables(small_shop, rate=0.0)
    write_batch(ShopData(good["catalog"], good["events"], good["judgments"]), p.raw, "good")
    run(FAST, p, now=NOW)
    before = pd.read_parquet(p.validated / "events.parquet")

    bad, _ = corrupted_tables(small_shop, rate=0.06)  # 36% of rows broken
    write_batch(ShopData(bad["catalog"], bad["events"], bad["judgments"]), p.raw, "good")
    with pytest.raises(BatchRejected, match="max_bad_share") as err:
        run(FAST, p, now=NOW)
    assert "expect_column_values_to_be_unique:event_id" in str(err.value)
    pd.testing.assert_frame_equal(pd.read_parquet(p.validated / "events.parquet"), before)
    assert not json.loads((p.reports / "summary.json").read_text())["success"]


def test_batch_size_far_from_recent_batches_is_rejected(tmp_path, small_shop):
    p = paths(tmp_path)
    write_batch(small_shop, p.raw, "a")
    run(FAST, p, now=NOW)
    tiny = ShopData(small_shop.catalog, small_shop.events.head(100), small_shop.judgments)
    write_batch(tiny, tmp_path / "tiny", "b")
    with pytest.raises(BatchRejected, match="expect_table_row_count_to_be_between"):
        run(FAST, dataclasses.replace(p, raw=tmp_path / "tiny"), now=NOW)


def test_null_rate_jump_is_rejected(tmp_path, small_shop):
    p = paths(tmp_path)
    write_batch(small_shop, p.raw, "a")
    run(FAST, p, now=NOW)
    no_prices = small_shop.events.assign(price=None)
    write_batch(ShopData(small_shop.catalog, no_prices, small_shop.judgments), tmp_path / "b", "b")
    with pytest.raises(BatchRejected, match="non_null_values.*:price"):
        run(FAST, dataclasses.replace(p, raw=tmp_path / "b"), now=NOW)


def test_stale_batch_is_rejected_when_freshness_is_on(tmp_path, small_shop):
    write_batch(small_shop, tmp_path / "data/raw", "a")
    cfg = ValidateConfig(data_docs=False, max_staleness_days=7)
    with pytest.raises(BatchRejected, match="freshness"):
        run(cfg, paths(tmp_path), now=NOW)
    start = pd.Timestamp(small_config().start, tz="UTC")
    run(cfg, paths(tmp_path), now=start + pd.Timedelta(days=small_config().days + 1))


def test_missing_batch_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `shopfusion ingest` first"):
        run(FAST, paths(tmp_path), now=NOW)


def test_unreadable_parquet_is_a_clear_error(tmp_path, small_shop):
    write_batch(small_shop, tmp_path / "data/raw", "a")
    (tmp_path / "data/raw/catalog.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="cannot read catalog Parquet"):
        run(FAST, paths(tmp_path), now=NOW)


def test_wrong_columns_name_the_missing_ones(tmp_path, small_shop):
    broken = small_shop.events.drop(columns=["session_id"])
    write_batch(ShopData(small_shop.catalog, broken, small_shop.judgments), tmp_path / "data/raw", "a")
    with pytest.raises(ContractError, match=r"schema broken, missing column\(s\) \['session_id'\]"):
        run(FAST, paths(tmp_path), now=NOW)
    assert not (tmp_path / "data/validated").exists()


def test_rows_lost_is_counted_from_the_files(landed, monkeypatch):
    """A row that goes missing between routing and disk shows up in rows_lost: the count reads
    the landed and written files back instead of trusting the routing that split them."""
    import shopfusion.validation.stage as stage

    publish = stage._publish

    def drops_a_row(out_dir, tables):
        publish(out_dir, {n: t.iloc[1:] if n == "events" and out_dir.name == "validated" else t
                          for n, t in tables.items()})

    monkeypatch.setattr(stage, "_publish", drops_a_row)
    root, truth = landed
    ev = run(ValidateConfig(), paths(root), now=NOW)["tables"]["events"]
    assert ev["rows_landed"] == len(truth) and ev["rows_lost"] == 1


def test_real_uci_data_is_routed_without_loss(tmp_path, shared_data):
    from shopfusion.adapters import load_real

    write_batch(load_real("uci", shared_data), tmp_path / "data/raw", "uci")
    summary = run(FAST, paths(tmp_path), now=NOW)
    ev = summary["tables"]["events"]
    assert ev["rows_in"] == 541_909 and ev["rows_lost"] == 0
    assert ev["by_reason"]["expect_column_values_to_not_be_null:user_id"] == 135_080
    assert ev["by_reason"]["expect_column_values_to_be_between:quantity"] >= 9_288
    assert 0.25 < ev["quarantined"] / ev["rows_in"] < 0.3
