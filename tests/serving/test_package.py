import json

import pytest

from shopfusion.serving.package import save_to_store


def test_manifest_with_missing_figures_is_still_stored(tmp_path, monkeypatch):
    """A bundle packaged before any evaluation (`evaluation: null`) must reach the store."""
    pytest.importorskip("bentoml")
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    manifest = {"version": "abc123", "data_version": "d1", "evaluation": None,
                "models": {"mf": {"trained_at": None, "params": {"dim": 8}}}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    (bundle / "weights.bin").write_bytes(b"0")

    import bentoml

    tag = save_to_store(bundle, "shopfusion-test")
    stored = bentoml.models.get(tag)
    assert stored.info.metadata["models"] == {"mf": {"params": {"dim": 8}}}
    assert "evaluation" not in stored.info.metadata
    assert json.loads((bundle / "manifest.json").read_text())["evaluation"] is None
    assert save_to_store(bundle, "shopfusion-test") == tag  # stored once
