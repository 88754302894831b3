"""Two-tower retrieval: a user tower over the recent items (ids and text), an item tower over
id, text embedding, category, brand and price (the feature store's item features); trained
with in-batch sampled softmax and a logQ correction for popular items (Yi et al. 2019)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class TwoTowerConfig:
    n_items: int
    n_categories: int
    n_brands: int
    text_dim: int
    dim: int = 64
    temperature: float = 0.05


class TwoTower(nn.Module):
    def __init__(self, cfg: TwoTowerConfig, item_text: Tensor, item_category: Tensor,
                 item_brand: Tensor, item_price: Tensor):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("item_text", item_text)  # (n_items, text_dim), frozen MiniLM
        self.register_buffer("item_category", item_category)  # (n_items,)
        self.register_buffer("item_brand", item_brand)
        self.register_buffer("item_price", item_price)  # (n_items,) log price, standardised
        self.item_id = nn.Embedding(cfg.n_items + 1, cfg.dim, padding_idx=0)
        self.category = nn.Embedding(cfg.n_categories, cfg.dim)
        self.brand = nn.Embedding(cfg.n_brands, cfg.dim)
        self.text = nn.Linear(cfg.text_dim, cfg.dim)
        self.item_mlp = nn.Sequential(nn.Linear(4 * cfg.dim + 1, 2 * cfg.dim), nn.GELU(),
                                      nn.Linear(2 * cfg.dim, cfg.dim))
        self.user_mlp = nn.Sequential(nn.Linear(2 * cfg.dim, 2 * cfg.dim), nn.GELU(),
                                      nn.Linear(2 * cfg.dim, cfg.dim))
        for emb in (self.item_id, self.category, self.brand):
            nn.init.normal_(emb.weight, std=0.02)

    def items(self, idx: Tensor) -> Tensor:  # (N,) item indices -> (N, D) unit vectors
        x = torch.cat([self.item_id(idx + 1), self.text(self.item_text[idx]),
                       self.category(self.item_category[idx]), self.brand(self.item_brand[idx]),
                       self.item_price[idx].unsqueeze(-1)], -1)
        return nn.functional.normalize(self.item_mlp(x), dim=-1)

    def users(self, history: Tensor) -> Tensor:  # (B, L) items + 1, 0 = pad -> (B, D)
        real = (history > 0).unsqueeze(-1).float()
        n = real.sum(1).clamp(min=1)
        ids = (self.item_id(history) * real).sum(1) / n
        idx = (history - 1).clamp(min=0)
        text = (self.text(self.item_text[idx]) * real).sum(1) / n
        return nn.functional.normalize(self.user_mlp(torch.cat([ids, text], -1)), dim=-1)

    def loss(self, history: Tensor, target: Tensor, log_q: Tensor) -> Tensor:
        """In-batch softmax: each user's target against the other targets in the batch."""
        logits = self.users(history) @ self.items(target).T / self.cfg.temperature
        logits = logits - log_q[target].unsqueeze(0)  # popular items are sampled more often
        labels = torch.arange(len(target), device=target.device)
        same = target.unsqueeze(0) == target.unsqueeze(1)  # duplicates are not negatives
        logits = logits.masked_fill(same & ~torch.eye(len(target), dtype=torch.bool,
                                                      device=target.device), float("-inf"))
        return nn.functional.cross_entropy(logits, labels)

    def item_matrix(self) -> Tensor:  # (n_items, D): the item tower over the whole catalog
        return self.items(torch.arange(self.cfg.n_items, device=self.item_text.device))
