"""Search quality (issue #6): graded NDCG@10 of BM25, MiniLM embeddings and the hybrid on the
generator's judged queries (default data). The hybrid weight is tuned on half of the queries
and reported on the other half.

ESCI judgments cannot be scored here: the shared subset has no product text (see
../shared/data/esci-judgments/PROVENANCE.md), so there is no catalog to retrieve from.
Run: `python -m benchmarks.bench_search`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, record
from shopfusion.config import load_params


def main() -> None:
    from shopfusion.datagen import generate
    from shopfusion.features.text import embed_items, encode
    from shopfusion.training.search import HybridSearch, evaluate_search

    shop = generate(load_params().generator)
    cat = shop.catalog
    emb = embed_items(cat, Path(".cache/text_embeddings.parquet"))
    search = HybridSearch(cat["title"], cat["description"], np.stack(emb["text_embedding"].to_numpy()),
                          encode)
    result = evaluate_search(search, shop.judgments, pd.Index(cat["item_id"]))
    print(machine(), {k: round(v, 4) for k, v in result.items()})
    record(search_ndcg10_bm25_synthetic=result["bm25"],
           search_ndcg10_embedding_synthetic=result["embedding"],
           search_ndcg10_hybrid_synthetic=result["hybrid"])


if __name__ == "__main__":
    main()
