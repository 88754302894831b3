"""Changes an upstream system makes to a batch without telling anyone, at magnitude `m` (1.0: a
clear change): drift kinds no monitored column was designed for, to test the monitor on.

Each takes (events, catalog, m, rng) and returns the changed (events, catalog).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def conversion_drop(events, catalog, m, rng):
    """A share of purchases logged as add-to-cart (a checkout tracking change)."""
    purchase = (events["event_type"] == "purchase").to_numpy() & (rng.random(len(events)) < 0.5 * m)
    return events.assign(event_type=events["event_type"].where(~purchase, "add_to_cart")), catalog


def hours_moved(events, catalog, m, _rng):
    """Active hours moved (a new market's time zone, a logging clock change)."""
    return events.assign(ts=pd.to_datetime(events["ts"], utc=True) + pd.Timedelta(hours=6 * m)), catalog


def unknown_category(events, catalog, m, rng):
    """A share of items' categories silently mapped to "unknown" upstream."""
    lost = rng.random(len(catalog)) < 0.3 * m
    return events, catalog.assign(category_path=catalog["category_path"].where(~lost, "unknown"))


def prices_in_cents(events, catalog, m, rng):
    """A share of rows with their price in cents (one upstream source switched units)."""
    cents = rng.random(len(events)) < m
    return events.assign(price=np.where(cents, events["price"] * 100, events["price"])), catalog


UPSTREAM = {"conversion_drop": conversion_drop, "active_hours": hours_moved,
            "unknown_category": unknown_category, "prices_in_cents": prices_in_cents}
