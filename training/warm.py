"""Warm-started retraining: a torch model continues from an earlier fit instead of starting cold.

The earlier fit's rows are matched to the new fit's by id (user, item, category and brand ids,
not positions: a new batch re-codes them), new ones start at the mean of the known rows, and the
fit then runs `warm_epochs` over every event before its cut. Two chains use it:

- the protocol: the model fit at the validation cut continues to the test cut (`evaluate`),
  which continues on all events (the serving fit, `train`);
- retrains: the validation-cut fit continues from the previous run's validation-cut fit
  (`models/warm/valid`, kept between runs) when the data changed, that fit's cut is not later
  than the new one's (it would have seen the new validation window) and fewer than
  `train.warm_start.full_every` warm fits have followed the last full one (`--full` forces one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

WARM_STATE = "warm.json"


def row_map(old: pd.Index, new: pd.Index) -> np.ndarray:
    """For each new id, its row in the old fit (-1 when the old fit never had it)."""
    return old.get_indexer(new)


def carry_rows(old, new, mapping: np.ndarray, offset: int) -> None:
    """Copy an embedding table's rows into a larger/re-ordered one, in place: row `offset + i`
    of `new` takes old row `offset + mapping[i]`; rows with no old row take the old rows' mean.
    The first `offset` rows (padding) are copied as they are."""
    import torch

    with torch.no_grad():
        known = torch.as_tensor(mapping >= 0)
        source = torch.as_tensor(np.maximum(mapping, 0) + offset)
        body = old[offset:]
        fill = body.mean(0) if len(body) else torch.zeros_like(new[0])
        rows = torch.where(known[:, None], old[source], fill.to(old.dtype))
        new[offset:] = rows.to(new.dtype)
        new[:offset] = old[:offset]


def transfer(old_module, new_module, row_tables: dict[str, tuple[str, int]],
             old_ids: dict[str, pd.Index], new_ids: dict[str, pd.Index]) -> None:
    """Parameters of `old_module` into `new_module` (buffers are data, set by the new fit):
    tables in `row_tables` (parameter -> (what a row stands for: "user", "item", ...; padding
    rows)) by id, others where the shape is unchanged; the rest keep their fresh initialisation
    (another width, or a category table that grew: no ids to match its rows by)."""
    old = dict(old_module.named_parameters())
    for name, param in new_module.named_parameters():
        kind, offset = row_tables.get(name, (None, 0))
        if name not in old:
            continue
        if kind in old_ids and kind in new_ids and old[name].shape[1:] == param.shape[1:]:
            carry_rows(old[name].detach(), param.data, row_map(old_ids[kind], new_ids[kind]), offset)
        elif old[name].shape == param.shape:
            param.data.copy_(old[name].detach())


@dataclass(frozen=True)
class WarmState:
    """What a kept fit says about itself, beside its weights."""

    cut: float  # the fit saw events before this time
    generation: int  # warm fits since the last full one (0 = this one was full)
    data_version: str

    def save(self, folder: Path, name: str) -> None:
        (folder / f"{name}.{WARM_STATE}").write_text(json.dumps(vars(self), indent=2))

    @staticmethod
    def load(folder: Path, name: str) -> WarmState | None:
        path = folder / f"{name}.{WARM_STATE}"
        return WarmState(**json.loads(path.read_text())) if path.exists() else None


def next_generation(folder: Path, name: str, cut: float, version: str, full_every: int) -> int | None:
    """The generation a fit of model `name` at `cut` on data `version` would have if it
    continued the one kept in `folder`; None when a full fit is due: none kept, kept after the
    cut, `full_every` warm fits in a row, or kept on this very data (a rerun with other params:
    the full fit keeps `dvc repro` a function of its inputs)."""
    state = WarmState.load(folder, name)
    if (state is None or not (folder / f"{name}.pt").exists() or state.cut > cut
            or state.generation + 1 >= full_every or state.data_version == version):
        return None
    return state.generation + 1
