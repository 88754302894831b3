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

# What the fuse stage compares on validation; "single" is the best single model alone, so a
# fusion that loses to it on validation is never the one that serves.
METHODS = ("single", "weighted", "rrf", "borda", "stacker")
SPEC = "fusion.json"
STACKER = "stacker.txt"


@dataclass
class Fuser:
    method: str  # the one that serves (chosen on validation, or fixed by train.fusion)
    weights: dict[str, float]  # per model, for weighted fusion; its keys are the fused models
    depth: int  # top-list length each model contributes to weighted and rank fusion
    stacker: Stacker
    valid_ndcg: dict[str, float] = field(default_factory=dict)  # each model's, on validation
    selection: dict[str, float] = field(default_factory=dict)  # each method's, out of fold
    epochs: dict[str, int] = field(default_factory=dict)  # torch models' epochs early stopping kept
    selection_windows: dict[str, list[float]] = field(default_factory=dict)  # each method's, per window

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"fusion method {self.method!r}: one of {', '.join(METHODS)}")

    @property
    def models(self) -> list[str]:
        return list(self.weights)

    @property
    def single(self) -> str:
        """The best single model on validation (the heaviest weight when none was measured)."""
        known = {n: v for n, v in self.valid_ndcg.items() if n in self.weights}
        return max(known, key=known.get) if known else max(self.weights, key=self.weights.get)

    def view_depth(self, floor: int = 0) -> int:
        """How deep each model's top list must be for the serving method (at least `floor`)."""
        return max(floor, self.depth, self.stacker.depth if self.method == "stacker" else 0)

    def score(self, views: dict, item_feats: np.ndarray, history_len: np.ndarray,
              method: str | None = None, exclude: tuple | None = None) -> tuple[Candidates, np.ndarray]:
        """(candidates, (B, C) fused scores) by `method` (default: the serving one); `exclude`
        = (each user's seen items, targets) drops seen items from the candidates."""
        method = method or self.method
        cand = candidates(views, self.stacker.depth if method == "stacker" else self.depth, exclude)
        return cand, self.fuse(cand, item_feats, history_len, method)

    def fuse(self, cand: Candidates, item_feats: np.ndarray, history_len: np.ndarray,
             method: str) -> np.ndarray:
        """(B, C) scores of `method` at candidates built at its depth. Weighted fusion uses the
        weights of the models present, all equal if none of those has one (a degraded request);
        "single" without its model is weighted fusion of the rest."""
        if method == "stacker":
            return self.stacker.score(cand, item_feats, history_len)
        if method in ("rrf", "borda"):
            return rank_fusion(cand, method)
        weights = ({self.single: 1.0} if method == "single" and self.single in cand.z else
                   {n: w for n, w in self.weights.items() if n in cand.z})
        return weighted(cand, weights if any(weights.values()) else dict.fromkeys(cand.z, 1.0))

    def dense_scores(self, views: dict, item_feats: np.ndarray, history_len: np.ndarray,
                     n_items: int, exclude: tuple | None = None) -> dict[str, np.ndarray]:
        """Every method's (users, n_items) scores, -inf outside its candidates (offline)."""
        return {m: dense(cand.items, fused, n_items)
                for m in METHODS for cand, fused in [self.score(views, item_feats, history_len, m, exclude)]}

    def save(self, folder: Path, **extra) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        self.stacker.save(folder / STACKER)
        spec = {"method": self.method, "weights": self.weights, "fusion_depth": self.depth,
                "stacker_depth": self.stacker.depth, "valid_ndcg@10": self.valid_ndcg,
                "selection_ndcg@10": self.selection, "single": self.single, "epochs_used": self.epochs,
                "selection_ndcg@10_by_window": self.selection_windows,
                **extra}
        (folder / SPEC).write_text(json.dumps(spec, indent=2))
        return spec

    @classmethod
    def load(cls, folder: Path) -> Fuser:
        if not (folder / SPEC).exists():
            raise FileNotFoundError(f"no tuned fusion in {folder}; run `shopfusion fuse` first")
        spec = json.loads((folder / SPEC).read_text())
        return cls(spec["method"], spec["weights"], spec["fusion_depth"],
                   Stacker.load(folder / STACKER, spec["stacker_depth"]), spec["valid_ndcg@10"],
                   spec.get("selection_ndcg@10", {}), spec.get("epochs_used", {}),
                   spec.get("selection_ndcg@10_by_window", {}))
