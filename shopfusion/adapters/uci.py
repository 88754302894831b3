"""UCI Online Retail (CC BY 4.0, Chen 2015): invoices become purchase events.

Kept faithfully, bad rows included (cancellations with negative quantities, missing
customer ids, postage codes): the validation stage quarantines them with reasons.
InvoiceDate is UK local time; it is read as UTC (at most one hour off in summer).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopfusion.adapters import require
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS
from shopfusion.datagen import ShopData

FILE = "uci-online-retail/online_retail.csv.gz"


def load(shared_dir: Path) -> ShopData:
    raw = pd.read_csv(require(shared_dir / FILE),
                      dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    ts = pd.to_datetime(raw["InvoiceDate"], utc=True)
    events = pd.DataFrame({
        "event_id": "uci" + pd.Series(range(len(raw))).astype(str),
        "user_id": raw["CustomerID"].str.removesuffix(".0"),
        "item_id": raw["StockCode"],
        "event_type": "purchase",
        "query": None,
        "session_id": raw["InvoiceNo"],
        "ts": ts,
        "price": raw["UnitPrice"],
        "quantity": raw["Quantity"],
    })
    return ShopData(CATALOG.conform(_catalog(raw, ts)), EVENTS.conform(events), JUDGMENTS.empty())


def _catalog(raw: pd.DataFrame, ts: pd.Series) -> pd.DataFrame:
    """One row per StockCode: its most frequent description, median positive price, first sale."""
    desc = (raw.dropna(subset=["Description"])
            .groupby(["StockCode", "Description"]).size().rename("n").reset_index()
            .sort_values(["StockCode", "n"], ascending=[True, False])
            .drop_duplicates("StockCode").set_index("StockCode")["Description"].str.strip())
    g = raw.assign(ts=ts, pos_price=raw["UnitPrice"].where(raw["UnitPrice"] > 0)).groupby("StockCode")
    items = pd.DataFrame({"created_at": g["ts"].min(), "price": g["pos_price"].median()})
    title = desc.reindex(items.index).fillna(pd.Series(items.index, index=items.index))
    # No category in the source: the last word of the description names the product kind
    # ("WHITE METAL LANTERN" -> lantern), a coarse but real grouping.
    kind = title.str.split().str[-1].str.lower().fillna("other")
    return pd.DataFrame({
        "item_id": items.index,
        "title": title.to_numpy(),
        "description": desc.reindex(items.index).to_numpy(),
        "category_path": ("Retail/" + kind).to_numpy(),
        "brand": None,
        "price": items["price"].to_numpy(),
        "created_at": items["created_at"].to_numpy(),
    })
