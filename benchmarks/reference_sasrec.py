"""A plain SASRec in the style of the widely used reference port (pmixer/SASRec.pytorch):
explicit per-block attention, LayerNorms and a Conv1d point-wise feed-forward, written out
by hand. Same architecture and config as shopfusion's model; used only as a speed baseline."""

from __future__ import annotations

import torch
from torch import nn


class PointWiseFeedForward(nn.Module):
    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.conv1 = nn.Conv1d(dim, dim, kernel_size=1)
        self.conv2 = nn.Conv1d(dim, dim, kernel_size=1)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.drop2(self.conv2(self.relu(self.drop1(self.conv1(x.transpose(-1, -2))))))
        return out.transpose(-1, -2) + x


class PlainSASRec(nn.Module):
    def __init__(self, n_items: int, dim: int, max_len: int, blocks: int, heads: int, dropout: float):
        super().__init__()
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        self.attn_norms = nn.ModuleList(nn.LayerNorm(dim, eps=1e-8) for _ in range(blocks))
        self.attns = nn.ModuleList(nn.MultiheadAttention(dim, heads, dropout) for _ in range(blocks))
        self.ffn_norms = nn.ModuleList(nn.LayerNorm(dim, eps=1e-8) for _ in range(blocks))
        self.ffns = nn.ModuleList(PointWiseFeedForward(dim, dropout) for _ in range(blocks))
        self.last_norm = nn.LayerNorm(dim, eps=1e-8)
        self.dim = dim

    def forward(self, seq):
        x = self.item_emb(seq) * self.dim ** 0.5
        x = x + self.pos_emb(torch.arange(seq.shape[1], device=seq.device))
        x = self.drop(x)
        pad = (seq == 0).unsqueeze(-1)
        x = x * ~pad
        length = seq.shape[1]
        mask = ~torch.tril(torch.ones((length, length), dtype=torch.bool, device=seq.device))
        for norm, attn, fnorm, ffn in zip(self.attn_norms, self.attns, self.ffn_norms, self.ffns):
            x = x.transpose(0, 1)
            q = norm(x)
            out, _ = attn(q, x, x, attn_mask=mask)
            x = (q + out).transpose(0, 1)
            x = ffn(fnorm(x)) * ~pad
        return self.last_norm(x)

    def loss(self, seq):
        """Full-softmax cross-entropy at the target positions only, as shopfusion's model
        computes it: catalog logits at padding would be work ours does not do."""
        inputs, targets = seq[:, :-1], seq[:, 1:]
        mask = (targets > 0) & (inputs > 0)
        logits = self(inputs)[mask] @ self.item_emb.weight[1:].T
        return nn.functional.cross_entropy(logits, targets[mask] - 1)
