"""Matrix factorization for implicit feedback, trained with BPR (Rendle et al. 2009)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class MFConfig:
    n_users: int
    n_items: int
    dim: int = 64
    l2: float = 1e-5


class MF(nn.Module):
    def __init__(self, cfg: MFConfig):
        super().__init__()
        self.cfg = cfg
        self.user = nn.Embedding(cfg.n_users, cfg.dim)
        self.item = nn.Embedding(cfg.n_items, cfg.dim)
        self.item_bias = nn.Embedding(cfg.n_items, 1)
        for emb in (self.user, self.item):
            nn.init.normal_(emb.weight, std=0.05)
        nn.init.zeros_(self.item_bias.weight)

    def pair_score(self, users: Tensor, items: Tensor) -> Tensor:  # (B,), (B,) -> (B,)
        return (self.user(users) * self.item(items)).sum(-1) + self.item_bias(items).squeeze(-1)

    def loss(self, users: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        diff = self.pair_score(users, pos) - self.pair_score(users, neg)
        reg = self.user(users).pow(2).sum(-1) + self.item(pos).pow(2).sum(-1) + self.item(neg).pow(2).sum(-1)
        return -nn.functional.logsigmoid(diff).mean() + self.cfg.l2 * reg.mean()

    def item_table(self) -> Tensor:  # (n_items, D + 1): scored against [user vector, 1]
        return torch.cat([self.item.weight, self.item_bias.weight], -1)
