"""Synthetic shop generator: deterministic under a seed, vectorized numpy.

`generate(cfg)` returns catalog, events and search judgments under the data contracts;
the corruption knobs in `cfg.corruption` are applied by `corrupt()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfusion.config import GeneratorConfig
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS


@dataclass
class ShopData:
    catalog: pd.DataFrame
    events: pd.DataFrame
    judgments: pd.DataFrame


def generate(cfg: GeneratorConfig) -> ShopData:
    from shopfusion.datagen.catalog import build_catalog, catalog_frame
    from shopfusion.datagen.events import simulate_events
    from shopfusion.datagen.queries import build_judgments
    from shopfusion.datagen.users import build_users

    rng = np.random.default_rng(cfg.seed)
    cat = build_catalog(cfg, rng)
    users = build_users(cfg, cat, rng)
    events = simulate_events(cfg, cat, users, rng)
    start = pd.Timestamp(cfg.start, tz="UTC")
    return ShopData(
        catalog=CATALOG.conform(catalog_frame(cat, start, rng)),
        events=EVENTS.conform(events),
        judgments=JUDGMENTS.conform(build_judgments(cat, cfg.n_judged_queries, rng)),
    )
