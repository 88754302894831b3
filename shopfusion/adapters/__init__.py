"""Adapters that read the real public data in ../shared/data (in place) into the contracts."""

from __future__ import annotations

from pathlib import Path

from shopfusion.datagen import ShopData


class SourceError(FileNotFoundError):
    """A real data source is missing or unreadable."""


def require(path: Path) -> Path:
    if not path.is_file():
        raise SourceError(f"data file not found: {path} (set ingest.shared_data_dir in params.yaml)")
    return path


def load_real(source: str, shared_dir: Path) -> ShopData:
    """Load one real dataset by name: 'uci', 'ml100k' or 'esci'."""
    from shopfusion.adapters import esci, movielens, uci

    loaders = {"uci": uci.load, "ml100k": movielens.load, "esci": esci.load}
    if source not in loaders:
        raise ValueError(f"unknown source {source!r}; choose from {sorted(loaders)}")
    return loaders[source](Path(shared_dir))
