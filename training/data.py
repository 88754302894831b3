"""Training data: integer-coded interactions and honest splits (temporal, leave-last-out).

Reads exported Parquet with pandas alone, so training also runs on a GPU box that has torch
but not the MLOps stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Implicit feedback strength per event type.
EVENT_WEIGHT = {"view": 1.0, "click": 2.0, "add_to_cart": 3.0, "purchase": 4.0}


@dataclass
class Interactions:
    """Events as aligned integer arrays, time-ordered; items index the whole catalog."""

    user: np.ndarray
    item: np.ndarray
    ts: np.ndarray  # seconds since epoch
    weight: np.ndarray
    session: np.ndarray
    n_users: int
    n_items: int

    def where(self, keep: np.ndarray) -> Interactions:
        return Interactions(self.user[keep], self.item[keep], self.ts[keep], self.weight[keep],
                            self.session[keep], self.n_users, self.n_items)

    def before(self, cut: float) -> Interactions:
        return self.where(self.ts < cut)

    def sequences(self, max_len: int | None = None) -> list[np.ndarray]:
        """Each user's items in time order, consecutive repeats collapsed (a view then a click
        of one item is one step)."""
        seqs, _ = self.steps()
        return [s[-max_len:] for s in seqs] if max_len else seqs

    def steps(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per user: the items of their steps and the time each step began."""
        order = np.lexsort((self.ts, self.user))
        u, it, ts = self.user[order], self.item[order], self.ts[order]
        new_step = np.r_[True, (u[1:] != u[:-1]) | (it[1:] != it[:-1])]
        u, it, ts = u[new_step], it[new_step], ts[new_step]
        bounds = np.searchsorted(u, np.arange(self.n_users + 1))
        pairs = [(it[bounds[i]: bounds[i + 1]], ts[bounds[i]: bounds[i + 1]]) for i in range(self.n_users)]
        return [p[0] for p in pairs], [p[1] for p in pairs]


@dataclass
class Dataset:
    interactions: Interactions
    user_ids: pd.Index
    item_ids: pd.Index
    items: pd.DataFrame  # catalog rows aligned with item_ids (title, category_path, brand, ...)
    item_created: np.ndarray  # seconds since epoch
    item_text: np.ndarray | None = None  # (n_items, d) text embeddings, when exported


def load(events: pd.DataFrame, catalog: pd.DataFrame, item_text: pd.DataFrame | None = None) -> Dataset:
    """Code events and catalog; `item_text` (item_id, text_embedding) is the exported
    feature-store table, aligned here to item indices (zeros for items without text)."""
    items = catalog.drop_duplicates("item_id").reset_index(drop=True)
    extra = pd.Index(events["item_id"].unique()).difference(items["item_id"])
    if len(extra):  # validated data has none; tolerate raw data
        items = pd.concat([items, pd.DataFrame({"item_id": extra})], ignore_index=True)
    item_ids = pd.Index(items["item_id"])
    ev = events.sort_values("ts", kind="stable")
    user_codes, user_ids = pd.factorize(ev["user_id"])
    seconds = ev["ts"].astype("int64").to_numpy() / 1e6  # datetime64[us]
    session = pd.factorize(ev["session_id"])[0]
    inter = Interactions(
        user=user_codes.astype(np.int64), item=item_ids.get_indexer(ev["item_id"]).astype(np.int64),
        ts=seconds, weight=ev["event_type"].map(EVENT_WEIGHT).fillna(1.0).to_numpy(np.float32),
        session=session.astype(np.int64), n_users=len(user_ids), n_items=len(item_ids))
    created = pd.to_datetime(items.get("created_at"), utc=True)
    created_s = (created.astype("int64").to_numpy() / 1e9 if created is not None
                 else np.zeros(len(items)))
    text = None
    if item_text is not None and len(item_text):
        emb = np.stack(item_text["text_embedding"].to_numpy()).astype(np.float32)
        text = np.zeros((len(item_ids), emb.shape[1]), np.float32)
        pos = item_ids.get_indexer(item_text["item_id"])
        text[pos[pos >= 0]] = emb[pos >= 0]
    return Dataset(inter, pd.Index(user_ids), item_ids, items, np.nan_to_num(created_s), text)


@dataclass
class Split:
    """Models train on events before `cut`; each evaluated user has one target step."""

    name: str
    cut: float
    train: Interactions
    users: np.ndarray  # evaluated users
    targets: np.ndarray  # their target item
    history: list[np.ndarray] = field(repr=False, default_factory=list)  # per evaluated user


def next_item_split(data: Dataset, name: str, cut: float, end: float, max_len: int,
                    seed: int = 0, max_users: int | None = None) -> Split:
    """Temporal split with live histories, as the product serves: models are frozen at `cut`;
    for each user active in [cut, end) one step in that window is drawn at random as the target,
    and the history is everything the user did before it (window events included, since the
    real-time loop feeds them to the models). Parameters never see the window. Over `max_users`
    users, a seeded random sample of them: every model scores the whole catalog for each
    evaluated user, and users x items matrices must fit in memory (100k items)."""
    rng = np.random.default_rng(seed)
    seqs, times = data.interactions.steps()
    users, targets, history = [], [], []
    for u, (seq, ts) in enumerate(zip(seqs, times)):
        candidates = np.flatnonzero((ts >= cut) & (ts < end) & (np.arange(len(seq)) >= 1))
        if len(candidates) == 0:
            continue
        t = rng.choice(candidates)
        users.append(u)
        targets.append(seq[t])
        history.append(seq[max(0, t - max_len): t])
    if max_users is not None and len(users) > max_users:
        keep = np.sort(rng.choice(len(users), max_users, replace=False))
        users, targets, history = ([x[i] for i in keep] for x in (users, targets, history))
    return Split(name, cut, data.interactions.before(cut), np.array(users, dtype=np.int64),
                 np.array(targets, dtype=np.int64), history)


def leave_last_out(data: Dataset, max_len: int, min_len: int = 3, held: int = 1,
                   max_users: int | None = None, seed: int = 0) -> Split:
    """Per-user leave-one-out (the common paper protocol): each user's `held`-th step from the
    end is the target (1: the last, the test item; 2: the second-last, the validation item),
    everything before it the history, and every event from that step's start on is out of
    training. Users with at least `min_len` + 1 steps, so the validation and test splits hold the
    same users; over `max_users`, a seeded sample of them (users x items scores in memory).
    Not temporal across users."""
    inter = data.interactions
    seqs, times = inter.steps()
    users = np.array([u for u, s in enumerate(seqs) if len(s) >= min_len + 1], dtype=np.int64)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    history = [seqs[u][:-held][-max_len:] for u in users]
    targets = np.array([seqs[u][-held] for u in users], dtype=np.int64)
    start = np.full(inter.n_users, np.inf)  # held-out step's start, per user (inf: all kept)
    start[users] = [times[u][-held] for u in users]
    train = inter.where(inter.ts < start[inter.user])
    name = "leave_last_out" if held == 1 else f"leave_{held}_out"
    return Split(name, float(train.ts.max()) if len(train.ts) else 0.0, train, users, targets, history)
