import dataclasses

import pandas as pd
import pytest

from shopfusion.config import CorruptionConfig, ValidateConfig
from shopfusion.datagen import ShopData
from shopfusion.datagen.corrupt import corrupt
from shopfusion.io import write_batch

KINDS = [f.name for f in dataclasses.fields(CorruptionConfig)]
NOW = pd.Timestamp("2026-11-25", tz="UTC")
FAST = ValidateConfig(data_docs=False)

# The reason a validator must give for each kind of corruption.
EXPECTED_REASON = {
    "null_key": "expect_column_values_to_not_be_null:",
    "duplicate": "expect_column_values_to_be_unique:event_id",
    "unknown_item": "expect_column_values_to_be_in_set:item_id+catalog",
    "wrong_type": "expect_column_values_to_be_of_type:price",
    "negative_price": "expect_column_values_to_be_between:price",
    "future_timestamp": "expect_column_values_to_be_between:ts",
}


def corrupted_tables(shop: ShopData, rate: float = 0.01, seed: int = 1):
    events, truth = corrupt(shop.events, CorruptionConfig(**{k: rate for k in KINDS}), seed=seed)
    return {"events": events, "catalog": shop.catalog, "judgments": shop.judgments}, truth


@pytest.fixture
def landed(tmp_path, small_shop):
    """A 1%-per-kind corrupted batch landed under tmp_path/data/raw."""
    tables, truth = corrupted_tables(small_shop)
    write_batch(ShopData(tables["catalog"], tables["events"], tables["judgments"]),
                tmp_path / "data/raw", "test")
    return tmp_path, truth
