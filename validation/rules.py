"""Row rules: each is a Great Expectations expectation plus two twins that route rows.

GE gives the suite, the verdict counts and Data Docs; the vectorized pandas twin routes a
landed batch at pandas speed (GE's unexpected-index lists cost ~3x more on 1M rows); the row
twin routes the few events of a request on Python values (validation/rows.py), where pandas'
per-call overhead would dominate. Tests check that the pandas twin flags exactly the rows GE
counts and that both twins route every batch alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopfusion.contracts import Contract

Mask = Callable[[pd.DataFrame], np.ndarray]
RowMask = Callable[[list[dict]], list[bool]]  # on contract-typed values, None for null

# Content duplicates: every field but the id equal (the same line sent twice under two ids).
# `query` is left out: it is null on most rows and never distinguishes two otherwise equal ones.
EVENT_CONTENT_KEY = ("user_id", "item_id", "event_type", "session_id", "ts", "price", "quantity")


@dataclass(frozen=True)
class Rule:
    expectation: str  # GE expectation class, e.g. "ExpectColumnValuesToNotBeNull"
    kwargs: dict[str, Any]
    violates: Mask  # rows to quarantine
    violates_rows: RowMask  # the same, for rows as dicts
    # GE's unexpected count from (frame, violates-mask), where it differs from the mask's sum
    ge_count: Callable[[pd.DataFrame, np.ndarray], int] | None = None
    in_ge: bool = True  # False: checked in pandas only (documented per rule)
    columns: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", self.expectation).lower()
        return f"{name}:{'+'.join(self.columns)}"

    def to_ge(self):
        import great_expectations.expectations as gxe

        return getattr(gxe, self.expectation)(**self.kwargs)


def _each(violates: Callable[[dict], bool]) -> RowMask:
    return lambda rows: [violates(row) for row in rows]


def _not_null(col: str) -> Rule:
    return Rule("ExpectColumnValuesToNotBeNull", {"column": col},
                lambda df: df[col].isna().to_numpy(), _each(lambda r: r[col] is None), columns=(col,))


def _in_set(col: str, values: tuple[str, ...]) -> Rule:
    return Rule("ExpectColumnValuesToBeInSet", {"column": col, "value_set": list(values)},
                lambda df: (df[col].notna() & ~df[col].isin(values)).to_numpy(),
                _each(lambda r: r[col] is not None and r[col] not in values), columns=(col,))


def _between(col: str, lo: Any = None, hi: Any = None) -> Rule:
    def violates(df: pd.DataFrame) -> np.ndarray:
        s = df[col]
        bad = pd.Series(False, index=df.index)
        if lo is not None:
            bad |= s < lo
        if hi is not None:
            bad |= s > hi
        return (bad & s.notna()).fillna(False).to_numpy(dtype=bool)

    def violates_row(row: dict) -> bool:
        v = row[col]
        return v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi))

    kwargs = {"column": col, **({"min_value": lo} if lo is not None else {}),
              **({"max_value": hi} if hi is not None else {})}
    return Rule("ExpectColumnValuesToBeBetween", kwargs, violates, _each(violates_row), columns=(col,))


def _unique(cols: tuple[str, ...]) -> Rule:
    """Keep the first occurrence; quarantine the repeats. GE counts every member of a group."""
    def repeats(df: pd.DataFrame) -> np.ndarray:
        # Rows missing every key value are not compared (GE: "all_values_are_missing").
        present = df[list(cols)].notna().any(axis=1)
        return (df.duplicated(list(cols), keep="first") & present).to_numpy()

    def repeated_rows(rows: list[dict]) -> list[bool]:
        seen, out = set(), []
        for row in rows:
            key = tuple(row[c] for c in cols)
            out.append(key in seen and any(v is not None for v in key))
            seen.add(key)
        return out

    def members(df: pd.DataFrame, repeated: np.ndarray) -> int:
        # Every repeat plus one first occurrence per duplicated key, from the small subset.
        return int(repeated.sum()) + len(df.loc[repeated, list(cols)].drop_duplicates())

    if len(cols) == 1:
        return Rule("ExpectColumnValuesToBeUnique", {"column": cols[0]}, repeats, repeated_rows,
                    members, columns=cols)
    return Rule("ExpectCompoundColumnsToBeUnique",
                {"column_list": list(cols), "ignore_row_if": "all_values_are_missing"},
                repeats, repeated_rows, members, columns=cols)


def contract_rules(contract: Contract, max_values: dict[str, float] | None = None) -> list[Rule]:
    """Rules every contract implies: required columns non-null, allowed sets, minimums, key."""
    max_values = max_values or {}
    rules = [_not_null(c) for c in contract.required]
    rules += [_in_set(c.name, c.allowed) for c in contract.columns if c.allowed]
    rules += [_between(c.name, c.min, max_values.get(c.name))
              for c in contract.columns if c.min is not None or c.name in max_values]
    rules.append(_unique(contract.key))
    return rules


def event_rules(contract: Contract, catalog_ids: pd.Index, ts_bounds: tuple[pd.Timestamp, pd.Timestamp],
                max_price: float) -> list[Rule]:
    """Contract rules plus the event-specific ones: time window, content duplicates, catalog."""
    ts_col = contract.timestamp
    # An index keeps its hash table: Series.isin on Arrow strings walks the whole catalog per
    # call (~600 ms for 100k items, even for the one event of a feedback request).
    catalog = catalog_ids if isinstance(catalog_ids, pd.Index) and catalog_ids.is_unique \
        else pd.Index(catalog_ids).unique()
    in_catalog = Rule(
        # Pandas only: as a GE value_set the whole catalog would be written into the suite
        # and rendered into Data Docs on every run.
        "ExpectColumnValuesToBeInSet", {"column": "item_id"},
        lambda df: (df["item_id"].notna().to_numpy() & (catalog.get_indexer(df["item_id"]) < 0)),
        _each(lambda r: r["item_id"] is not None and r["item_id"] not in catalog),
        in_ge=False, columns=("item_id", "catalog"),
    )
    return [*contract_rules(contract, {"price": max_price}), _between(ts_col, *ts_bounds),
            _unique(EVENT_CONTENT_KEY), in_catalog]


# What a reason code (`<expectation>:<columns>`) means, for a client developer.
MESSAGES = {
    "expect_column_values_to_not_be_null": "{} is missing",
    "expect_column_values_to_be_of_type": "{} has the wrong type or format",
    "expect_column_values_to_be_in_set": "{} is not one of the allowed values",
    "expect_column_values_to_be_between": "{} is out of the accepted range",
    "expect_column_values_to_be_unique": "{} repeats another row's",
    "expect_compound_columns_to_be_unique": "the same event ({}) was sent twice",
}
SPECIAL = {
    "expect_column_values_to_be_in_set:item_id+catalog": "item_id is not in the catalog",
    "expect_column_values_to_be_between:ts": "ts is in the future or older than the accepted window",
}


def describe(reason: str) -> str:
    """A reason code in words (the code itself stays beside it as the machine-readable part)."""
    if reason in SPECIAL:
        return SPECIAL[reason]
    name, _, columns = reason.partition(":")
    return MESSAGES.get(name, name.replace("_", " ")).format(columns.replace("+", ", ") or "a value")
