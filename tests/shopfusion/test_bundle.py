"""The bundle's content version: the same content, the same version, whatever the manifest."""

from shopfusion.bundle import bundle_version


def test_version_follows_content_not_the_manifest(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models/a.bin").write_bytes(b"weights")
    (tmp_path / "manifest.json").write_text('{"packaged_at": "now"}')
    first = bundle_version(tmp_path)
    (tmp_path / "manifest.json").write_text('{"packaged_at": "later"}')
    assert bundle_version(tmp_path) == first and len(first) == 16
    (tmp_path / "models/a.bin").write_bytes(b"weightz")
    assert bundle_version(tmp_path) != first
