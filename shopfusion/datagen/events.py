"""Synthetic sessions: taste-driven and item-to-item visits, a click/cart/purchase funnel, drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopfusion.config import GeneratorConfig
from shopfusion.datagen.catalog import Catalog, item_ids
from shopfusion.datagen.queries import query_text
from shopfusion.datagen.users import Users
from shopfusion.progress import track

VISIT_GAP_S = 45.0  # mean seconds between item visits in a session
FUNNEL_GAP_S = (2.0, 20.0)  # seconds between funnel steps on one item
SUCCESSOR_WEIGHTS = np.array([0.45, 0.25, 0.18, 0.12])
OVERSAMPLE = 1.2  # sessions generated beyond the expected need; whole sessions are dropped after


class _Sampler:
    """Draws 'fresh' items from user tastes, honouring drift and item launch dates."""

    def __init__(self, cfg: GeneratorConfig, cat: Catalog, users: Users, rng: np.random.Generator):
        self.cfg, self.cat, self.users, self.rng = cfg, cat, users, rng
        shifted_tops = rng.choice(len(cat.tops), size=min(2, len(cat.tops)), replace=False)
        self.shift_leaves = np.flatnonzero(np.isin(np.arange(cat.n_leaves) // cat.n_subs, shifted_tops)
                                           & cat.has_items)
        old = cat.created_s <= 0
        best_old = np.argsort(-np.where(old, cat.popularity, -1.0))
        self.fallback = best_old[0]

    def fresh(self, users: np.ndarray, drifted: np.ndarray) -> np.ndarray:
        rng, cat = self.rng, self.cat
        leaf = self.users.sample_leaf(users, rng)
        shift = drifted & (rng.random(len(users)) < self.cfg.drift.category_shift)
        leaf[shift] = rng.choice(self.shift_leaves, shift.sum())
        # Brand loyalty: among a few popular candidates prefer the user's favourite brand.
        cands = np.stack([cat.sample_in_category(leaf, rng) for _ in range(3)], axis=1)
        fav = self.users.fav_brand[users, cat.top[cands[:, 0]]]
        match = cat.brand[cands] == fav[:, None]
        loyal = (rng.random(len(users)) < self.cfg.brand_loyalty) & match.any(axis=1)
        pick = np.where(loyal, match.argmax(axis=1), 0)
        return cands[np.arange(len(users)), pick]

    def launched(self, items: np.ndarray, users: np.ndarray, drifted: np.ndarray,
                 times: np.ndarray) -> np.ndarray:
        """Replace items not yet launched at `times` by fresh draws (then a safe fallback)."""
        for _ in range(3):
            bad = self.cat.created_s[items] > times
            if not bad.any():
                return items
            items[bad] = self.fresh(users[bad], drifted[bad])
        items[self.cat.created_s[items] > times] = self.fallback
        return items


def simulate_events(cfg: GeneratorConfig, cat: Catalog, users: Users,
                    rng: np.random.Generator) -> pd.DataFrame:
    f = cfg.funnel
    window_s = cfg.days * 86_400
    events_per_visit = 1 + f.click * (1 + f.add_to_cart * (1 + f.purchase))
    n_sessions = int(np.ceil(cfg.n_events * OVERSAMPLE / events_per_visit / cfg.mean_session_len))
    start = np.sort(daily_rhythm(rng.uniform(0, window_s, n_sessions), cfg))
    drifted = start >= cfg.drift.start_fraction * window_s
    mean_len = np.where(drifted, cfg.mean_session_len * cfg.drift.activity_multiplier,
                        cfg.mean_session_len)
    length = np.minimum(rng.geometric(1.0 / np.maximum(mean_len, 1.0)), cfg.max_session_len)
    session_user = users.sample_active(start, rng)
    sampler = _Sampler(cfg, cat, users, rng)

    visits: list[tuple[np.ndarray, ...]] = []
    clock = start.copy()
    prev = np.zeros(n_sessions, dtype=np.int64)
    for t in track(range(int(length.max())), "simulating sessions"):
        s = np.flatnonzero(length > t)
        u, d = session_user[s], drifted[s]
        item = sampler.fresh(u, d)
        if t > 0:
            clock[s] += rng.exponential(VISIT_GAP_S, len(s))
            follow = rng.random(len(s)) < cfg.p_transition
            k = rng.choice(cat.successors.shape[1], len(s), p=_succ_weights(cat.successors.shape[1]))
            item = np.where(follow, cat.successors[prev[s], k], item)
        item = sampler.launched(item, u, d, clock[s])
        prev[s] = item
        visits.append((s, item, clock[s].copy(), np.full(len(s), t)))

    sess, item, vtime, pos = (np.concatenate(x) for x in zip(*visits))
    return _funnel(cfg, cat, users, rng, sess, session_user[sess], item, vtime, pos,
                   drifted[sess])


def daily_rhythm(seconds: np.ndarray, cfg: GeneratorConfig) -> np.ndarray:
    """Move uniform start times within their day so that starts follow 1 + a*cos(2pi(h - peak)/24):
    the inverse of that density's CDF, so a = 0 leaves every time (and the random stream) as it was."""
    a = cfg.diurnal_amplitude
    if not a:
        return seconds
    day, within = np.divmod(seconds, 86_400.0)
    grid = np.linspace(0.0, 1.0, 4097)
    phase = 2 * np.pi * (grid - cfg.diurnal_peak_hour / 24)
    cdf = grid + a / (2 * np.pi) * (np.sin(phase) - np.sin(phase[0]))
    return day * 86_400.0 + np.interp(within / 86_400.0, cdf, grid) * 86_400.0


def _succ_weights(k: int) -> np.ndarray:
    w = SUCCESSOR_WEIGHTS[:k] if k <= len(SUCCESSOR_WEIGHTS) else np.ones(k)
    return w / w.sum()


def _keep_sessions(sess: np.ndarray, ts: np.ndarray, n_events: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Rows of exactly `n_events` events: random whole sessions, so time coverage is unbiased."""
    if len(sess) < n_events:
        raise RuntimeError(f"simulated {len(sess)} events < {n_events}; raise OVERSAMPLE")
    order = np.lexsort((ts, sess))  # rows grouped by session, in time order
    counts = np.bincount(sess, minlength=sess.max() + 1)
    first = np.cumsum(counts) - counts
    perm = rng.permutation(len(counts))
    taken = np.cumsum(counts[perm])
    n_full = int(np.searchsorted(taken, n_events, side="right"))
    chosen = [order[first[s]: first[s] + counts[s]] for s in perm[:n_full]]
    deficit = n_events - (taken[n_full - 1] if n_full else 0)
    if deficit:  # the head of one more session fills the count exactly
        s = perm[n_full]
        chosen.append(order[first[s]: first[s] + deficit])
    keep = np.concatenate(chosen)
    return keep[np.argsort(ts[keep], kind="stable")]


def _funnel(cfg, cat, users, rng, sess, user, item, vtime, pos, drifted) -> pd.DataFrame:
    """Expand visits into view/click/cart/purchase events; affinity raises the click rate."""
    f = cfg.funnel
    taste = users.taste[user, cat.category[item]] / users.taste[user].max(axis=1)
    p_click = np.clip(f.click * (0.4 + 1.2 * taste), 0.0, 0.95)
    click = rng.random(len(item)) < p_click
    cart = click & (rng.random(len(item)) < f.add_to_cart)
    buy = cart & (rng.random(len(item)) < f.purchase)
    steps = [np.ones(len(item), bool), click, cart, buy]

    rows = np.concatenate([np.flatnonzero(m) for m in steps])
    stage = np.concatenate([np.full(m.sum(), i) for i, m in enumerate(steps)])
    gaps = rng.uniform(*FUNNEL_GAP_S, (len(item), 3)).cumsum(axis=1)
    offset = np.where(stage == 0, 0.0, gaps[rows, np.maximum(stage - 1, 0)])
    ts = vtime[rows] + offset
    n = len(rows)

    search_session = rng.random(sess.max() + 1) < cfg.search_share
    is_query = (stage == 0) & (pos[rows] == 0) & search_session[sess[rows]]
    query = np.full(n, None, dtype=object)
    q_rows = np.flatnonzero(is_query)
    query[q_rows] = query_text(cat, item[rows[q_rows]], rng.integers(0, 3, len(q_rows)))

    price = cat.price[item[rows]] * np.where(drifted[rows], cfg.drift.price_shift, 1.0)
    quantity = np.where(stage == 3, rng.geometric(0.7, n), 1)

    inside = np.flatnonzero(ts < cfg.days * 86_400)  # sessions running past the window end
    keep = inside[_keep_sessions(sess[rows[inside]], ts[inside], cfg.n_events, rng)]
    ts_kept = ts[keep]
    start = pd.Timestamp(cfg.start, tz="UTC")
    r = rows[keep]
    return pd.DataFrame({
        "event_id": f"e{cfg.seed}_" + pd.Series(np.arange(len(keep))).astype(str),
        "user_id": "u" + pd.Series(user[r]).astype(str),
        "item_id": item_ids(item[r]),
        "event_type": pd.Categorical.from_codes(stage[keep], ["view", "click", "add_to_cart",
                                                              "purchase"]).astype(str),
        "query": query[keep],
        "session_id": f"s{cfg.seed}_" + pd.Series(sess[r]).astype(str),
        "ts": start + pd.to_timedelta(np.round(ts_kept * 1e6).astype("int64"), unit="us"),
        "price": price[keep],
        "quantity": quantity[keep],
    })
