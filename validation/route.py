"""Route rows: cast to the contract, evaluate rule masks, split validated vs quarantine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopfusion.contracts import Contract, ContractError
from shopfusion.validation.rules import Rule

TYPE_REASON = "expect_column_values_to_be_of_type:{}"  # checked while casting, not by GE


@dataclass
class Routed:
    validated: pd.DataFrame  # contract-typed rows that passed every rule
    quarantine: pd.DataFrame  # rows as landed, plus a `reasons` list column
    counts: dict[str, int]  # rows flagged per reason (a row can carry several)

    @property
    def n_in(self) -> int:
        return len(self.validated) + len(self.quarantine)


def check_columns(raw: pd.DataFrame, contract: Contract) -> None:
    missing = [c for c in contract.names if c not in raw.columns]
    if missing:
        raise ContractError(
            f"{contract.name}: schema broken, missing column(s) {missing} "
            f"(expect_table_columns_to_match_set); found {list(raw.columns)}"
        )


def cast(raw: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Cast to contract dtypes cell by cell; uncastable cells become null and are flagged."""
    check_columns(raw, contract)
    typed, wrong = {}, {}
    for col in contract.columns:
        s = raw[col.name]
        try:
            typed[col.name] = col.cast(s)
        except (TypeError, ValueError, OverflowError):
            typed[col.name] = col.cast(s, strict=False)
            bad = (s.notna() & typed[col.name].isna()).to_numpy()
            if bad.any():
                wrong[TYPE_REASON.format(col.name)] = bad
    return pd.DataFrame(typed, index=raw.index), wrong


def route(raw: pd.DataFrame, typed: pd.DataFrame, masks: dict[str, np.ndarray]) -> Routed:
    """Rows flagged by any mask go to quarantine with every reason that applies."""
    names = list(masks)
    matrix = np.column_stack([masks[n] for n in names]) if names else np.zeros((len(raw), 0), bool)
    bad = matrix.any(axis=1)
    reasons = [[names[j] for j in np.flatnonzero(row)] for row in matrix[bad]]
    quarantine = raw[bad].copy()
    quarantine["reasons"] = reasons
    counts = {n: int(matrix[:, j].sum()) for j, n in enumerate(names)}
    return Routed(typed[~bad].reset_index(drop=True), quarantine.reset_index(drop=True), counts)


def evaluate(typed: pd.DataFrame, rules: list[Rule]) -> dict[str, np.ndarray]:
    return {rule.reason: rule.violates(typed) for rule in rules}


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts, every kind of missing value as None (as the row twins give them): JSON-ready,
    and comparable across the two paths. Row by row: a whole-frame astype/where costs more."""
    return [{k: None if _missing(v) else v for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)
