"""Real public data read in place from ../shared/data into the contracts."""

import pandas as pd
import pytest

from shopfusion.adapters import SourceError, load_real
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS


def _conforms(data):
    for df, contract in [(data.events, EVENTS), (data.catalog, CATALOG), (data.judgments, JUDGMENTS)]:
        pd.testing.assert_frame_equal(contract.conform(df), df)


def test_uci_online_retail(shared_data):
    data = load_real("uci", shared_data)
    _conforms(data)
    ev = data.events
    # Figures from the dataset's PROVENANCE.md: nothing dropped, bad rows kept for validation.
    assert len(ev) == 541_909
    assert ev["user_id"].isna().sum() == 135_080
    assert ev["session_id"].nunique() == 25_900 and ev["item_id"].nunique() == 4_070
    assert (ev["quantity"] < 0).sum() >= 9_288
    assert ev["ts"].min() == pd.Timestamp("2010-12-01 08:26", tz="UTC")
    assert ev["user_id"].dropna().str.fullmatch(r"\d+").all()  # '17850.0' -> '17850'
    assert set(data.catalog["item_id"]) == set(ev["item_id"])
    assert data.catalog.set_index("item_id").loc["85123A", "category_path"] == "Retail/holder"


def test_movielens_100k(shared_data):
    data = load_real("ml100k", shared_data)
    _conforms(data)
    ev = data.events
    assert len(ev) == 100_000 and ev["user_id"].nunique() == 943
    assert len(data.catalog) == 1_682
    assert set(ev["event_type"]) == {"view", "click", "purchase"}
    toy_story = data.catalog.set_index("item_id").loc["1"]
    assert toy_story["title"] == "Toy Story" and toy_story["category_path"] == "Movies/Animation"
    first = ev.groupby("item_id")["ts"].min()
    created = data.catalog.set_index("item_id")["created_at"]
    assert (created.reindex(first.index) == first).all()


def test_esci_judgments(shared_data):
    data = load_real("esci", shared_data)
    _conforms(data)
    j = data.judgments
    assert len(j) == 6_678 and j["query"].nunique() == 150
    assert j["relevance"].value_counts().to_dict() == {3: 3_389, 2: 1_898, 0: 1_086, 1: 305}
    assert data.events.empty and data.catalog.empty


def test_missing_source_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="data file not found"):
        load_real("uci", tmp_path)


def test_unknown_source_is_rejected(shared_data):
    with pytest.raises(ValueError, match="unknown source 'amazon'"):
        load_real("amazon", shared_data)


def _rewrite_after(rows, ts, cut, columns, seed=0):
    """Rows at or after `cut` with `columns` shuffled among them, and a third of them deleted:
    the future rewritten."""
    import numpy as np

    rng = np.random.default_rng(seed)
    later = (ts >= cut).to_numpy()
    out = rows.copy()
    for col in columns:
        out.loc[later, col] = rng.permutation(out.loc[later, col].to_numpy())
    return out[~later | (rng.random(len(out)) > 1 / 3)]


@pytest.mark.parametrize("source", ["uci", "ml100k"])
def test_catalog_rows_read_nothing_after_a_cut(shared_data, source):
    """An item's catalog row (created_at, price, title, category: model and stacker inputs)
    is the same whatever the log says after a cut, for every item that existed before it."""
    from shopfusion.adapters import movielens, uci

    if source == "uci":
        lines = uci.read_lines(shared_data)
        ts = pd.to_datetime(lines["InvoiceDate"], utc=True)
        cut = ts.quantile(0.8)
        full = uci.from_lines(lines).catalog
        later = _rewrite_after(lines, ts, cut, ["StockCode", "Description", "UnitPrice"])
        rewritten = uci.from_lines(later).catalog
    else:
        folder = shared_data / movielens.DIR
        inter, movies = (movielens._read(folder / f"ml-100k.{n}.gz") for n in ("inter", "item"))
        ts = pd.to_datetime(inter["timestamp"].astype(float).astype("int64"), unit="s", utc=True)
        cut = ts.quantile(0.8)
        full = movielens.from_files(inter, movies).catalog
        later = _rewrite_after(inter, ts, cut, ["item_id", "rating"])
        rewritten = movielens.from_files(later, movies).catalog
    existed = full[full["created_at"] < cut].set_index("item_id").sort_index()
    assert len(existed) > 100
    again = rewritten.set_index("item_id").reindex(existed.index)
    pd.testing.assert_frame_equal(again, existed)
