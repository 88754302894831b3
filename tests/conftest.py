"""Shared fixtures: a small deterministic shop, and the real data in ../shared/data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shopfusion.config import GeneratorConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def small_config(**overrides) -> GeneratorConfig:
    base = GeneratorConfig(n_users=800, n_items=600, n_events=30_000, days=30,
                           n_judged_queries=40)
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="session")
def small_shop():
    from shopfusion.datagen import generate

    return generate(small_config())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
