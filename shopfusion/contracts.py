"""Data contracts: the one source of truth for event, catalog and judgment schemas.

Validation suites, Feast entities and serving request models derive from these
definitions instead of restating them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pandas as pd
import pyarrow as pa

EVENT_TYPES = ("view", "click", "add_to_cart", "purchase")
# Landed beside an event's contract columns by an adapter that could not read its line (the
# reason, as text); the validate stage quarantines every row that carries one.
PARSE_ERROR = "parse_error"

# Logical type -> (arrow type, pandas dtype, python type for request models)
_TYPES: dict[str, tuple[pa.DataType, str, type]] = {
    "string": (pa.string(), "string[pyarrow]", str),  # arrow-backed: fast hashing and isna
    "int": (pa.int64(), "Int64", int),
    "float": (pa.float64(), "float64", float),
    "timestamp": (pa.timestamp("us", tz="UTC"), "datetime64[us, UTC]", dt.datetime),
}


_NS_MIN, _NS_MAX = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")


class ContractError(ValueError):
    """A frame does not fit its contract; the message names the offending columns."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of _TYPES
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    description: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.type][0]

    @property
    def pandas_dtype(self) -> str:
        return _TYPES[self.type][1]

    def python_type(self, max_chars: int | None = None) -> Any:
        """The type a request model uses: allowed sets become Literals, minimums constraints,
        strings at most `max_chars` long (a request must not carry megabytes in one field)."""
        import pydantic

        if self.allowed:
            return Literal[self.allowed]
        base = _TYPES[self.type][2]
        if self.min is not None:
            return Annotated[base, pydantic.Field(ge=self.min)]
        if base is str and max_chars is not None:
            return Annotated[base, pydantic.Field(max_length=max_chars)]
        return base

    def cast(self, s: pd.Series, strict: bool = True) -> pd.Series:
        """Cast to this column's dtype: strict raises on a bad cell, lenient makes it null."""
        if self.type == "timestamp":
            errors = "raise" if strict else "coerce"
            return pd.to_datetime(s, utc=True, errors=errors).astype(self.pandas_dtype)
        if self.type == "string":
            return s.astype(self.pandas_dtype)
        if strict:
            return s.astype(self.pandas_dtype)
        num = pd.to_numeric(s, errors="coerce")
        if self.type == "int":
            num = num.astype(float)  # integers beyond int64 arrive as Python ints: make them floats
            num = num.where((num == num.round()) & (num.abs() < 2.0 ** 63))  # 2.5 units is not a quantity
        return num.astype(self.pandas_dtype)

    def cast_value(self, value: Any) -> Any:
        """One value of the request model's type (or None) cast as `cast` casts it in a column:
        None for null; ValueError where `cast` makes the cell null and flags it."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        if self.type == "timestamp":
            ts = pd.Timestamp(value)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            if not _NS_MIN <= ts <= _NS_MAX:  # pandas' column range; a lone Timestamp has more
                raise ValueError(f"{self.name}: {value} is outside {_NS_MIN} .. {_NS_MAX}")
            return ts
        if self.type == "int" and not -(2**63) <= value < 2**63:
            raise ValueError(f"{self.name}: {value} does not fit in 64 bits")
        return _TYPES[self.type][2](value)

    def takes(self, value: Any) -> bool:
        """Whether `value` is of the request model's type for this column (or None)."""
        return value is None or (isinstance(value, _TYPES[self.type][2]) and not isinstance(value, bool))


@dataclass(frozen=True)
class Contract:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    timestamp: str | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if not c.nullable]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame({c.name: pd.Series(dtype=c.pandas_dtype) for c in self.columns})

    def conform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return `df` with exactly the contract's columns, in order, cast to contract dtypes.

        Raises ContractError naming missing columns or columns whose values cannot be cast.
        Row-level rules (nulls, ranges) are the validation stage's job, not this one's.
        """
        missing = [n for n in self.names if n not in df.columns]
        if missing:
            raise ContractError(f"{self.name}: missing column(s) {missing}")
        out, bad = {}, []
        for c in self.columns:
            try:
                out[c.name] = c.cast(df[c.name])
            except (TypeError, ValueError, OverflowError) as exc:
                bad.append(f"{c.name} ({c.type}): {exc}")
        if bad:
            raise ContractError(f"{self.name}: cannot cast " + "; ".join(bad))
        return pd.DataFrame(out, index=df.index)

    def to_arrow(self, df: pd.DataFrame) -> pa.Table:
        return pa.Table.from_pandas(self.conform(df), schema=self.arrow_schema(), preserve_index=False)

    def request_fields(self, max_chars: int | None = None) -> dict[str, tuple[Any, Any]]:
        """(type, default) pairs for `pydantic.create_model`: nullable columns are optional."""
        types = {c.name: c.python_type(max_chars) for c in self.columns}
        return {c.name: ((types[c.name] | None, None) if c.nullable else (types[c.name], ...))
                for c in self.columns}


EVENTS = Contract(
    name="events",
    columns=(
        Column("event_id", "string", description="unique id of the event"),
        Column("user_id", "string", description="shopper id (pseudonymized in logs)"),
        Column("item_id", "string", description="catalog item id"),
        Column("event_type", "string", allowed=EVENT_TYPES, description="funnel step"),
        Column("query", "string", nullable=True, description="search query that led here"),
        Column("session_id", "string", description="visit the event belongs to"),
        Column("ts", "timestamp", description="when the event happened (UTC)"),
        Column("price", "float", nullable=True, min=0.0, description="unit price at event time"),
        Column("quantity", "int", min=1, description="units (1 for non-purchases)"),
    ),
    key=("event_id",),
    timestamp="ts",
)

CATALOG = Contract(
    name="catalog",
    columns=(
        Column("item_id", "string"),
        Column("title", "string"),
        Column("description", "string", nullable=True),
        Column("category_path", "string", description="'Top/Sub' category path"),
        Column("brand", "string", nullable=True),
        Column("price", "float", nullable=True, min=0.0),
        Column("created_at", "timestamp", description="when the item became available"),
    ),
    key=("item_id",),
    timestamp="created_at",
)

JUDGMENTS = Contract(
    name="judgments",
    columns=(
        Column("query", "string"),
        Column("item_id", "string"),
        Column("relevance", "int", min=0, description="graded: 0 irrelevant .. 3 exact"),
    ),
    key=("query", "item_id"),
)

CONTRACTS = {c.name: c for c in (EVENTS, CATALOG, JUDGMENTS)}
