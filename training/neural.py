"""Torch recommenders behind the common interface: data preparation and training loops.

The nn.Modules live in training/models/; this module turns interactions into tensors, trains
them (CUDA + bf16 autocast when present), and scores the catalog.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shopfusion.progress import track
from shopfusion.training.data import Dataset, Interactions
from shopfusion.training.models.base import Factored


def pad_left(seqs: list[np.ndarray], length: int) -> np.ndarray:
    """(N, length) int64 of item index + 1, left-padded with 0."""
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-length:]
        if len(s):
            out[r, -len(s):] = s + 1
    return out


def chunks(seqs: list[np.ndarray], length: int) -> list[np.ndarray]:
    """Cut long sequences into overlapping windows of `length` from the end (step length-1)."""
    out = []
    for s in seqs:
        if len(s) < 2:
            continue
        end = len(s)
        while end > 1:
            out.append(s[max(0, end - length): end])
            end -= length - 1
    return out


@dataclass(frozen=True)
class EarlyStop:
    """Validation users scored after every epoch: training stops once NDCG@10 has not improved
    for `patience` epochs (or after `max_s` seconds) and keeps the best epoch's weights."""

    users: np.ndarray
    history: list[np.ndarray]
    targets: np.ndarray
    seen: list[np.ndarray] | None  # items not ranked per user (history excluded), or None
    patience: int
    max_s: float

    def ndcg(self, scores: np.ndarray) -> float:
        from shopfusion.training.metrics import ndcg_per_user, target_ranks

        if self.seen is not None:
            for row, (items, target) in enumerate(zip(self.seen, self.targets)):
                scores[row, items[items != target]] = -np.inf
        return float(ndcg_per_user(target_ranks(scores, self.targets), 10).mean())


def fit_module(module, make_batches, epochs: int, lr: float, seed: int, label: str,
               validate=None, stop: EarlyStop | None = None) -> tuple[list[float], int]:
    """AdamW over `make_batches(rng)` for each epoch: (mean loss per epoch, epochs kept). With
    `stop`, `validate()` (validation NDCG@10) after each epoch decides when to stop."""
    import torch

    from shopfusion.training.device import autocast, device

    dev = device()
    module.to(dev).train()
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    history = []
    best, kept, best_state, t0 = -np.inf, epochs, None, time.monotonic()
    for epoch in track(range(epochs), f"training {label}"):
        module.train()
        losses = []
        for batch in make_batches(rng):
            with autocast(dev):
                loss = module.loss(*[torch.as_tensor(b, device=dev) for b in batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.append(float(np.mean(losses)) if losses else float("nan"))
        if stop is None:
            continue
        score = validate()
        if score > best:
            best, kept = score, epoch + 1
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        if epoch + 1 - kept >= stop.patience or time.monotonic() - t0 > stop.max_s:
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return history, kept


def _batches(n: int, size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    return [order[i: i + size] for i in range(0, n, size)]


def _run(module, fn, inputs: np.ndarray | None = None, batch: int = 1024) -> np.ndarray:
    """fn(inputs) in eval mode on the local device, in batches, as float32 numpy (fn() when
    there are no inputs)."""
    import torch

    from shopfusion.training.device import device

    dev = device()
    if module.training or next(module.parameters()).device != dev:
        module.to(dev).eval()  # once: walking the module tree costs ~1 ms per serving call
    with torch.no_grad():
        if inputs is None:
            return fn().float().cpu().numpy()
        parts = [fn(torch.as_tensor(inputs[i: i + batch], device=dev)).float().cpu().numpy()
                 for i in range(0, len(inputs), batch)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class Trained(Factored):
    """A torch model: fixed epochs, or early stopping on validation users set by the caller;
    from scratch, or continuing an earlier fit for `warm_epochs` (training/warm.py)."""

    _early_stop: EarlyStop | None = None
    _warm: Trained | None = None
    epochs_used: int | None = None
    warm_from: bool = False  # whether the last fit continued an earlier one
    ids: dict | None = None  # what the last fit's table rows stand for: kind -> pd.Index
    ROW_TABLES: dict[str, tuple[str, int]] = {}  # parameter -> (kind of row, padding rows)

    def early_stopping(self, stop: EarlyStop | None) -> None:
        self._early_stop = stop

    def warm_start(self, previous: Trained | None) -> None:
        """Continue `previous` at the next fit (None: from scratch)."""
        self._warm = previous if previous is not None and previous.ids is not None else None

    def _train(self, module, make_batches, data: Dataset, **ids) -> None:
        """Fit `module` (fresh), first taking the warm start's weights when there is one. `ids`:
        what the rows of tables other than users' and items' stand for (pd.Index each)."""
        from shopfusion.training.warm import transfer

        ids, epochs, previous = {"user": data.user_ids, "item": data.item_ids, **ids}, self.epochs, self._warm
        if previous is not None:
            transfer(previous.module, module, self.ROW_TABLES, previous.ids, ids)
            epochs = self.warm_epochs
        self.module, self.ids, self.warm_from, self._warm = module, ids, previous is not None, None
        self.losses, self.epochs_used = fit_module(module, make_batches, epochs, self.lr, self.seed,
                                                   self.name, self.validation_ndcg, self._early_stop)

    def validation_ndcg(self) -> float:
        stop = self._early_stop
        return stop.ndcg(self.queries(stop.users, stop.history) @ self.item_matrix().T)


class SASRecRecommender(Trained):
    name = "sasrec"
    ROW_TABLES = {"item_emb.weight": ("item", 1)}

    def __init__(self, dim=64, max_len=50, blocks=2, heads=2, dropout=0.2, epochs=20,
                 batch_size=128, lr=1e-3, seed=0, warm_epochs=3):
        self.hp = dict(dim=dim, max_len=max_len, blocks=blocks, heads=heads, dropout=dropout)
        self.epochs, self.batch_size, self.lr, self.seed = epochs, batch_size, lr, seed
        self.warm_epochs = warm_epochs
        self.module, self.losses = None, []

    def fit(self, train: Interactions, data: Dataset) -> None:
        self._vectors = None  # item statistics of an earlier fit
        import torch

        from shopfusion.training.models.sasrec import SASRec, SASRecConfig

        torch.manual_seed(self.seed)
        module = SASRec(SASRecConfig(n_items=train.n_items, **self.hp))
        length = self.hp["max_len"] + 1
        seqs = pad_left(chunks(train.sequences(), length), length)
        self._train(module, lambda rng: ((seqs[b],) for b in _batches(len(seqs), self.batch_size, rng)), data)

    def queries(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        return _run(self.module, self.module.query, pad_left(history, self.hp["max_len"]))

    def item_matrix(self) -> np.ndarray:
        return _run(self.module, lambda: self.module.item_emb.weight[1:])


class MFRecommender(Trained):
    name = "mf"
    ROW_TABLES = {"user.weight": ("user", 0), "item.weight": ("item", 0), "item_bias.weight": ("item", 0)}

    def __init__(self, dim=64, l2=1e-5, epochs=20, batch_size=2048, lr=5e-3, seed=0, warm_epochs=5):
        self.dim, self.l2, self.epochs, self.warm_epochs = dim, l2, epochs, warm_epochs
        self.batch_size, self.lr, self.seed = batch_size, lr, seed
        self.module, self.known, self.losses = None, None, []

    def fit(self, train: Interactions, data: Dataset) -> None:
        self._vectors = None  # item statistics of an earlier fit
        import torch

        from shopfusion.training.models.mf import MF, MFConfig

        torch.manual_seed(self.seed)
        module = MF(MFConfig(train.n_users, train.n_items, self.dim, self.l2))
        users, items = train.user, train.item
        self.known = np.bincount(users, minlength=train.n_users) > 0

        def batches(rng):
            for b in _batches(len(users), self.batch_size, rng):
                yield users[b], items[b], rng.integers(0, train.n_items, len(b))
        self._train(module, batches, data)

    def queries(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        """[user vector, 1] against [item vector, item bias]; a user unseen in training (or -1)
        gets a zero vector: the item prior only."""
        known = (users >= 0) & self.known[np.maximum(users, 0)]
        user = _run(self.module, self.module.user, np.maximum(users, 0)) * known[:, None]
        return np.hstack([user, np.ones((len(users), 1), np.float32)])

    def item_matrix(self) -> np.ndarray:
        return _run(self.module, self.module.item_table)


class TwoTowerRecommender(Trained):
    name = "two_tower"
    ROW_TABLES = {"item_id.weight": ("item", 1), "category.weight": ("category", 0),
                  "brand.weight": ("brand", 0)}

    def __init__(self, dim=64, max_len=20, temperature=0.05, epochs=10, batch_size=512, lr=2e-3, seed=0,
                 warm_epochs=2):
        self.dim, self.max_len, self.temperature = dim, max_len, temperature
        self.epochs, self.batch_size, self.lr, self.seed = epochs, batch_size, lr, seed
        self.warm_epochs = warm_epochs
        self.module, self.losses = None, []

    def fit(self, train: Interactions, data: Dataset) -> None:
        self._vectors = None  # item statistics of an earlier fit
        import torch

        from shopfusion.training.models.two_tower import TwoTower, TwoTowerConfig

        torch.manual_seed(self.seed)
        side = item_side_features(data, train)
        module = TwoTower(TwoTowerConfig(train.n_items, side["n_categories"], side["n_brands"],
                                         side["text"].shape[1], self.dim, self.temperature),
                          *[torch.as_tensor(side[k]) for k in ("text", "category", "brand", "price")])
        hist, target = [], []
        for s in train.sequences():
            for t in range(1, len(s)):
                hist.append(s[max(0, t - self.max_len): t])
                target.append(s[t])
        hist_a, target_a = pad_left(hist, self.max_len), np.array(target, dtype=np.int64)
        freq = np.bincount(target_a, minlength=train.n_items) + 1.0
        log_q = np.log(freq / freq.sum()).astype(np.float32)

        def batches(rng):
            for b in _batches(len(target_a), self.batch_size, rng):
                yield hist_a[b], target_a[b], log_q
        self._train(module, batches, data, category=side["categories"], brand=side["brands"])

    def queries(self, users: np.ndarray, history: list[np.ndarray]) -> np.ndarray:
        return _run(self.module, self.module.users, pad_left(history, self.max_len))

    def item_matrix(self) -> np.ndarray:
        return _run(self.module, self.module.item_matrix)


def item_side_features(data: Dataset, train: Interactions) -> dict:
    """Item tower inputs from the catalog and text embeddings, aligned with item indices. Log
    prices are standardised over the items `train` interacted with: the prices of items
    listed after a cut do not shape the inputs of a model fit at it."""
    import pandas as pd

    items = data.items
    cat, categories = pd.factorize(items["category_path"].astype(str))
    brand, brands = pd.factorize(items["brand"].astype(str))
    cat, brand = cat.astype(np.int64), brand.astype(np.int64)
    price = np.log1p(np.nan_to_num(items["price"].astype(float).to_numpy()).clip(min=0))
    known = price[np.unique(train.item)] if len(train.item) else price
    price = ((price - known.mean()) / (known.std() + 1e-6)).astype(np.float32)
    text = data.item_text if data.item_text is not None else np.zeros((len(items), 1), np.float32)
    return {"text": text.astype(np.float32), "category": cat, "brand": brand, "price": price,
            "n_categories": int(cat.max()) + 1, "n_brands": int(brand.max()) + 1,
            "categories": pd.Index(categories), "brands": pd.Index(brands)}
