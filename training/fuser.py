"""What the fuse stage decides, as one object from tuning to serving: the method that serves,
the weights, the top-list depths and the stacker, saved together in one folder.

The fuse stage writes it, the evaluate stage reads it back to score the test window, the
package stage copies the folder into the bundle, and the service's engine loads it from there:
the method cannot come from one place and the weights from another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopfusion.training.fusion import Candidates, candidates, dense, rank_fusion, weighted
from shopfusion.training.stacker import Stacker

METHODS = ("weighted", "rrf", "borda", "stacker")
SPEC = "fusion.json"
STACKER = "stacker.txt"


@dataclass
class Fuser:
    method: str  # the one that serves: stacker | weighted (rrf, borda: offline comparisons)
    weights: dict[str, float]  # per model, for weighted fusion; its keys are the fused models
    depth: int  # top-list length each model contributes to weighted and rank fusion
    stacker: Stacker
    valid_ndcg: dict[str, float] = field(default_factory=dict)  # each model's, as tuned

    def __post_init__(self):
        if self.method not in ("stacker", "weighted"):
            raise ValueError(f"fusion method {self.method!r}: serving takes stacker or weighted")

    @property
    def models(self) -> list[str]:
        return list(self.weights)

    def view_depth(self, floor: int = 0) -> int:
        """How deep each model's top list must be for the serving method (at least `floor`)."""
        return max(floor, self.depth, self.stacker.depth if self.method == "stacker" else 0)

    def score(self, views: dict, item_feats: np.ndarray, history_len: np.ndarray,
              method: str | None = None) -> tuple[Candidates, np.ndarray]:
        """(candidates, (B, C) fused scores) by `method` (default: the serving one). Weighted
        fusion uses the weights of the models present, all equal if none of those has one."""
        method = method or self.method
        if method == "stacker":
            cand = candidates(views, self.stacker.depth)
            return cand, self.stacker.score(cand, item_feats, history_len)
        cand = candidates(views, self.depth)
        if method == "weighted":
            weights = {n: w for n, w in self.weights.items() if n in views}
            return cand, weighted(cand, weights if any(weights.values()) else dict.fromkeys(views, 1.0))
        return cand, rank_fusion(cand, method)

    def dense_scores(self, views: dict, item_feats: np.ndarray, history_len: np.ndarray,
                     n_items: int) -> dict[str, np.ndarray]:
        """Every method's (users, n_items) scores, -inf outside its candidates (offline)."""
        return {m: dense(cand.items, fused, n_items)
                for m in METHODS for cand, fused in [self.score(views, item_feats, history_len, m)]}

    def save(self, folder: Path, **extra) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        self.stacker.save(folder / STACKER)
        spec = {"method": self.method, "weights": self.weights, "fusion_depth": self.depth,
                "stacker_depth": self.stacker.depth, "valid_ndcg@10": self.valid_ndcg, **extra}
        (folder / SPEC).write_text(json.dumps(spec, indent=2))
        return spec

    @classmethod
    def load(cls, folder: Path) -> Fuser:
        if not (folder / SPEC).exists():
            raise FileNotFoundError(f"no tuned fusion in {folder}; run `shopfusion fuse` first")
        spec = json.loads((folder / SPEC).read_text())
        return cls(spec["method"], spec["weights"], spec["fusion_depth"],
                   Stacker.load(folder / STACKER, spec["stacker_depth"]), spec["valid_ndcg@10"])
