"""The train / fuse / evaluate stages end to end on files, as DVC runs them."""

import json

import pytest

from shopfusion.training.fuser import METHODS
from shopfusion.training.stage import TrainPaths, evaluate, fuse, leave_last_out_report, train_model
from tests.training.conftest import fast

pytestmark = pytest.mark.integration


@pytest.fixture
def paths(tmp_path, small_shop, dataset):
    import pandas as pd

    (tmp_path / "validated").mkdir()
    small_shop.events.to_parquet(tmp_path / "validated/events.parquet")
    small_shop.catalog.to_parquet(tmp_path / "validated/catalog.parquet")
    text = pd.DataFrame({"item_id": dataset.item_ids, "text_embedding": list(dataset.item_text)})
    (tmp_path / "features").mkdir()
    text.to_parquet(tmp_path / "features/item_text.parquet")
    return TrainPaths(validated=tmp_path / "validated", item_text=tmp_path / "features/item_text.parquet",
                      models=tmp_path / "models", reports=tmp_path / "reports")


def test_train_writes_a_model_and_its_manifest(paths):
    manifest = train_model("sasrec", fast(), paths)
    assert (paths.trained("sasrec") / "model.pt").is_file()
    saved = json.loads((paths.trained("sasrec") / "manifest.json").read_text())
    assert saved == manifest and len(saved["data_version"]) == 16 and saved["final_loss"] > 0


def test_fuse_then_evaluate_reads_the_test_window_once(paths):
    cfg = fast(models=("popularity", "itemknn", "sasrec", "text"))
    tuned = fuse(cfg, paths)
    assert set(tuned["weights"]) == set(cfg.models) and (paths.fusion / "stacker.txt").is_file()
    assert tuned["method"] == max(tuned["selection_ndcg@10"], key=tuned["selection_ndcg@10"].get)
    report = evaluate(cfg, paths)
    assert set(report["fusion"]) == set(METHODS) and report["served"] == tuned["method"]
    for m in [*report["models"].values(), *report["fusion"].values()]:
        assert 0 <= m["ndcg@10"] <= m["recall@10"] <= m["recall@50"] <= 1
        assert m["sampled100_hr@10"] >= m["hr@10"]  # sampled metrics flatter models
    summary = report["summary"]  # chosen on validation, judged on test
    assert summary["best_single"] == tuned["single"] and summary["best_fusion"] == tuned["method"]
    assert summary["fusion_gain_rel"] > 0 and summary["fusion_gain_oracle_rel"] >= summary["fusion_gain_rel"]
    assert report["candidate_recall"]["@100"] >= report["candidate_recall"]["@50"] > 0.5
    assert (paths.reports / "metrics.json").is_file() and (paths.reports / "metrics_at_k.png").is_file()
    assert report["protocol"]["test_users"] > 50


def test_evaluate_without_fusion_says_what_to_run(paths):
    with pytest.raises(FileNotFoundError, match="run `shopfusion fuse` first"):
        evaluate(fast(), paths)


def test_leave_last_out_is_its_own_report(paths):
    cfg = fast(models=("popularity", "itemknn"), leave_last_out=True)
    report = leave_last_out_report(cfg, paths)
    assert set(report["models"]) == {"popularity", "itemknn"}
    assert report["models"]["itemknn"]["ndcg@10"] > 0
    assert json.loads((paths.reports / "leave_last_out.json").read_text()) == report
    assert "skipped" in leave_last_out_report(fast(), paths)


def test_the_torch_models_fit_once_in_full_and_the_later_fits_continue_it(paths, small_shop):
    """fuse fits at the validation cut, evaluate continues that fit to the test cut, the serving
    fit continues the test-cut one; the next fuse on new data continues its predecessor's,
    until a full fit is due (train.warm_start.full_every) or asked for. On unchanged data a
    rerun fits in full: `dvc repro` stays a function of its inputs."""
    import dataclasses

    from shopfusion.config import WarmStartConfig

    def land(share: float) -> None:  # the log up to this time quantile: each batch adds days
        events = small_shop.events
        events[events["ts"] <= events["ts"].quantile(share)].to_parquet(paths.validated / "events.parquet")

    cfg = fast(models=("popularity", "sasrec"), fusion_min_users=1,
               warm_start=WarmStartConfig(enabled=True, full_every=2))
    land(0.9)
    assert fuse(cfg, paths)["warm_started"] == []  # nothing kept yet: a full fit
    assert evaluate(cfg, paths)["warm_started"] == ["sasrec"]
    manifest = train_model("sasrec", cfg, paths)
    assert manifest["warm_from"].endswith("warm/test/sasrec.pt")
    assert train_model("popularity", cfg, paths)["warm_from"] is None
    assert fuse(cfg, paths)["warm_started"] == []  # the same data again
    land(0.95)
    assert fuse(cfg, paths)["warm_started"] == ["sasrec"]  # new data: the previous run's fit
    land(0.97)
    assert fuse(cfg, paths)["warm_started"] == []  # two warm fits in a row: full_every is due
    land(1.0)
    assert fuse(cfg, paths, full=True)["warm_started"] == []
    land(0.9)  # an older log: the kept fit has seen events after this cut
    assert fuse(cfg, paths)["warm_started"] == []
    cold = dataclasses.replace(cfg, warm_start=WarmStartConfig(enabled=False))
    assert evaluate(cold, paths)["warm_started"] == []
    assert train_model("sasrec", cold, paths)["warm_from"] is None
