"""Amazon ESCI graded judgments, 150 US queries (Apache-2.0; Reddy et al. 2022).

Labels map to graded relevance E=3, S=2, C=1, I=0. No product text ships with this subset,
so it yields judgments only: enough to score a ranker over a catalog that has those ASINs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopfusion.adapters import require
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS
from shopfusion.datagen import ShopData

FILE = "esci-judgments/esci_us_judgments.csv.gz"
LABEL_TO_RELEVANCE = {"E": 3, "S": 2, "C": 1, "I": 0}


def load(shared_dir: Path) -> ShopData:
    raw = pd.read_csv(require(shared_dir / FILE), dtype=str)
    judgments = pd.DataFrame({
        "query": raw["query"],
        "item_id": raw["product_id"],
        "relevance": raw["esci_label"].map(LABEL_TO_RELEVANCE),
    })
    return ShopData(CATALOG.empty(), EVENTS.empty(), JUDGMENTS.conform(judgments))
