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
    return from_lines(read_lines(shared_dir))


def read_lines(shared_dir: Path) -> pd.DataFrame:
    text = {"InvoiceNo": str, "StockCode": str, "CustomerID": str}
    return pd.read_csv(require(shared_dir / FILE), dtype=text)


def from_lines(raw: pd.DataFrame) -> ShopData:
    """The source's invoice lines (as read by `read_lines`) in the contracts."""
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
    """One row per StockCode from its first invoice line in time (file order breaks ties): when
    it was first sold, its description and (positive) price there. Nothing from later lines,
    so a model fit at a cut reads nothing of an item that the log after the cut decided."""
    first = (raw.assign(ts=ts).sort_values("ts", kind="stable")
             .drop_duplicates("StockCode").set_index("StockCode"))
    desc = first["Description"].str.strip()
    title = desc.fillna(pd.Series(first.index, index=first.index))
    # No category in the source: the last word of the description names the product kind
    # ("WHITE METAL LANTERN" -> lantern), a coarse but real grouping.
    kind = title.str.split().str[-1].str.lower().fillna("other")
    return pd.DataFrame({
        "item_id": first.index,
        "title": title.to_numpy(),
        "description": desc.to_numpy(),
        "category_path": ("Retail/" + kind).to_numpy(),
        "brand": None,
        "price": first["UnitPrice"].where(first["UnitPrice"] > 0).to_numpy(),
        "created_at": first["ts"].to_numpy(),
    })
