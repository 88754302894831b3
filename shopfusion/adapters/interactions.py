"""Your own interaction log as a batch: delimited or Parquet logs with named columns, RecBole
atomic files, or sequence files, streamed chunk by chunk into the landing zone.

Nothing is dropped here: a line that does not parse (wrong field count, a time or price that
cannot be read, a sequence line without items) lands as a row whose `parse_error` says why,
and the validate stage quarantines it with that reason. Values that parse but break the
contract (an unknown event type, an item missing from the item file) are left for validation
to judge, like any other batch.

Sequence files carry no times. Order within the file is time: the k-th interaction read (over
the whole file, line by line, left to right) gets `sequence_start` + k seconds, so every
user's order is kept and the temporal protocol cuts the file by position.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.adapters import SourceError, require
from shopfusion.config import InteractionsConfig
from shopfusion.contracts import CATALOG, EVENT_TYPES, EVENTS, PARSE_ERROR
from shopfusion.io import day_strings

FIELDS = ("user", "item", "ts", "event", "rating", "session", "price", "quantity")
# Column names tried, in order, for a field the map does not name.
GUESSES = {
    "user": ("user_id", "user", "userId", "uid", "visitorid", "customer_id"),
    "item": ("item_id", "item", "itemId", "movieId", "product_id", "itemid", "iid"),
    "ts": ("ts", "timestamp", "time", "event_time", "datetime", "date"),
    "event": ("event_type", "event", "behavior", "behaviour", "action", "type"),
    "rating": ("rating", "score"),
    "session": ("session_id", "session"),
    "price": ("price",),
    "quantity": ("quantity", "qty"),
}
ITEM_FIELDS = ("item", "title", "description", "category", "brand", "price")
ITEM_GUESSES = {
    "item": GUESSES["item"],
    "title": ("title", "movie_title", "name", "product_title"),
    "description": ("description", "desc", "text"),
    "category": ("category", "category_path", "class", "genre", "genres", "categories"),
    "brand": ("brand", "manufacturer"),
    "price": ("price",),
}
FORMATS = ("csv", "tsv", "parquet", "recbole", "sequences")
NO_TEXT_CATEGORY = "Unknown"
STRING = pd.StringDtype("pyarrow")


def detect_format(path: Path, given: str) -> str:
    if given != "auto":
        if given not in FORMATS:
            raise ValueError(f"ingest.interactions.format {given!r}: auto or one of {', '.join(FORMATS)}")
        return given
    name = path.name.removesuffix(".gz")
    by_suffix = {".parquet": "parquet", ".inter": "recbole", ".csv": "csv", ".tsv": "tsv",
                 ".txt": "sequences"}
    for suffix, fmt in by_suffix.items():
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"cannot tell the format of {path.name}; pass --format ({', '.join(FORMATS)})")


def parse_map(text: str | None) -> dict[str, str]:
    """`user=COL,item=COL,...` (the CLI's --map) as a dict; unknown fields are an error."""
    if not text:
        return {}
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    bad = [p[0] for p in pairs if len(p) != 2 or p[0].strip() not in FIELDS + ITEM_FIELDS[1:]]
    if bad:
        raise ValueError(f"--map: cannot read {bad}; fields: {', '.join(FIELDS)} (as field=COLUMN)")
    return {k.strip(): v.strip() for k, v in pairs}


def resolve(columns: list[str], given: dict[str, str], guesses: dict, required: tuple[str, ...],
            what: str) -> dict[str, str]:
    """field -> column: the map's names (which must exist), else the first guess present."""
    missing = {f: c for f, c in given.items() if f in guesses and c not in columns}
    if missing:
        raise SourceError(f"{what}: no column(s) {missing} (columns: {columns})")
    out = {f: c for f, c in given.items() if f in guesses}
    for field, names in guesses.items():
        if field not in out:
            found = next((c for c in names if c in columns), None)
            if found is not None:
                out[field] = found
    absent = [f for f in required if f not in out]
    if absent:
        raise SourceError(f"{what}: no {' or '.join(absent)} column among {columns}; "
                          f"name it with --map {absent[0]}=COLUMN")
    return out


# --- reading, chunk by chunk ------------------------------------------------------------
def open_text(path: Path):
    return (gzip.open if path.name.endswith(".gz") else open)(path, "rt", encoding="utf-8")


def _strip_recbole_types(names: list[str]) -> list[str]:
    return [n.split(":")[0] for n in names]


def delimited_chunks(path: Path, delimiter: str, rows: int, recbole: bool = False
                     ) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    """(chunk of text cells, malformed lines in it) per block; header from the first line."""
    import pyarrow as pa
    from pyarrow import csv

    bad: list[str] = []

    def keep_bad(row) -> str:  # pyarrow's hook for a line with the wrong field count
        bad.append(row.text)
        return "skip"

    with open_text(path) as head:
        first = head.readline().lstrip("\ufeff").rstrip("\r\n").split(delimiter)
    names = _strip_recbole_types(first) if recbole else first
    reader = csv.open_csv(
        str(path), read_options=csv.ReadOptions(column_names=names, skip_rows=1,
                                                 block_size=max(1 << 20, rows * 40)),
        parse_options=csv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep_bad,
                                       quote_char=False if delimiter == "\t" else '"'),
        convert_options=csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                           strings_can_be_null=True))
    for batch in reader:
        yield batch.to_pandas(), bad.copy()
        bad.clear()
    if bad:
        yield pd.DataFrame(columns=names), bad.copy()


def parquet_chunks(path: Path, rows: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
        yield batch.to_pandas().astype(STRING), []


def sequence_chunks(path: Path, rows: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    """`user item` or `user item1 item2 ...` per line, as (user, item, position) rows."""
    users: list[str] = []
    items: list[str] = []
    bad: list[str] = []
    with open_text(path) as f:
        for line in f:
            tokens = line.split()
            if len(tokens) < 2:
                if line.strip():
                    bad.append(line.rstrip("\r\n"))
                continue
            users.extend([tokens[0]] * (len(tokens) - 1))
            items.extend(tokens[1:])
            if len(users) >= rows:
                yield pd.DataFrame({"user": users, "item": items}, dtype=STRING), bad
                users, items, bad = [], [], []
    if users or bad:
        yield pd.DataFrame({"user": users, "item": items}, dtype=STRING), bad


def read_chunks(path: Path, fmt: str, rows: int) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    if fmt == "parquet":
        return parquet_chunks(path, rows)
    if fmt == "sequences":
        return sequence_chunks(path, rows)
    return delimited_chunks(path, "," if fmt == "csv" else "\t", rows, recbole=fmt == "recbole")


# --- one chunk into the contract --------------------------------------------------------
def parse_times(text: pd.Series, unit: str) -> pd.Series:
    """Epoch seconds or milliseconds (`auto`: ms above 1e11) or ISO strings, UTC; NaT where
    a value cannot be read."""
    if unit not in ("auto", "s", "ms", "iso"):
        raise ValueError(f"ingest.interactions.ts_unit {unit!r}: auto, s, ms or iso")
    number = pd.to_numeric(text, errors="coerce") if unit != "iso" else pd.Series(np.nan, index=text.index)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    is_number = number.notna() & (number.abs() < 1e16)
    if is_number.any():
        n = number[is_number]
        millis = n.abs() > 1e11 if unit == "auto" else pd.Series(unit == "ms", index=n.index)
        seconds = n.where(~millis, n / 1000.0)
        out[is_number] = pd.to_datetime(seconds, unit="s", utc=True)
    rest = text.notna() & ~is_number
    if rest.any() and unit in ("auto", "iso"):
        out[rest] = pd.to_datetime(text[rest], utc=True, errors="coerce", format="ISO8601")
    return out


def map_events(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """The log's event names onto the contract's (identity for names it already uses, case
    aside); anything else stays as written, for validation to quarantine as not allowed."""
    lower = values.str.lower()
    known = {**{e: e for e in EVENT_TYPES}, **{k.lower(): v for k, v in mapping.items()}}
    return lower.map(known).fillna(values).astype(STRING)


def rating_events(ratings: pd.Series, thresholds: dict[str, float]) -> pd.Series:
    """rating >= threshold -> that event (the highest threshold met wins); an unreadable
    rating becomes `rating:<value>`, which validation rejects with the value shown."""
    number = pd.to_numeric(ratings, errors="coerce")
    out = pd.Series(pd.NA, index=ratings.index, dtype=STRING)
    for event, low in sorted(thresholds.items(), key=lambda kv: kv[1]):
        out[number >= low] = event
    unread = ratings.notna() & number.isna()
    out[unread] = "rating:" + ratings[unread]
    return out


def unread(errors: pd.Series, text: pd.Series, bad: pd.Series, field: str, as_what: str = "") -> pd.Series:
    """`errors` with "<field>: cannot read <value><as_what>" added on the `bad` rows."""
    message = f"{field}: cannot read " + text[bad].fillna("") + as_what
    return errors.mask(bad, errors.where(errors.isna(), errors + "; ").fillna("") + message)


def to_events(raw: pd.DataFrame, cols: dict[str, str], cfg: InteractionsConfig, first_row: int,
              synthetic_ts: bool) -> pd.DataFrame:
    """One chunk in the contract's columns and types, plus `parse_error`."""
    n = len(raw)
    index = pd.RangeIndex(n)
    raw = raw.reset_index(drop=True)

    def text(field: str) -> pd.Series:
        if field not in cols:
            return pd.Series(pd.NA, index=index, dtype=STRING)
        s = raw[cols[field]].astype(STRING).str.strip()
        return s.mask(s == "")

    errors = pd.Series(pd.NA, index=index, dtype=STRING)
    if synthetic_ts:
        start = pd.Timestamp(cfg.sequence_start, tz="UTC")
        ts = start + pd.to_timedelta(np.arange(first_row, first_row + n), unit="s")
        ts = pd.Series(ts, index=index)
    else:
        ts_text = text("ts")
        ts = parse_times(ts_text, cfg.ts_unit)
        errors = unread(errors, ts_text, ts_text.notna() & ts.isna(), "ts", " as a time")
    if "event" in cols:
        event = map_events(text("event"), cfg.event_values)
    elif "rating" in cols:
        event = rating_events(text("rating"), cfg.rating_events)
    else:
        event = pd.Series(cfg.default_event, index=index, dtype=STRING)
    price_text = text("price")
    price = pd.to_numeric(price_text, errors="coerce")
    errors = unread(errors, price_text, price_text.notna() & price.isna(), "price")
    quantity_text = text("quantity")
    quantity = pd.to_numeric(quantity_text, errors="coerce")
    not_whole = quantity_text.notna() & (quantity.isna() | (quantity != quantity.round()))
    errors = unread(errors, quantity_text, not_whole, "quantity", " as a whole number")
    quantity = quantity.mask(not_whole).where(quantity_text.notna(), 1.0)
    user = text("user")
    session = text("session")
    day = day_strings(ts, "%Y%m%d")
    events = pd.DataFrame({
        "event_id": "row" + pd.Series(np.arange(first_row, first_row + n), index=index).astype(STRING),
        "user_id": user,
        "item_id": text("item"),
        "event_type": event,
        "query": pd.Series(pd.NA, index=index, dtype=STRING),
        "session_id": session.fillna(user + "-" + day),
        "ts": ts,
        "price": price.astype("float64"),
        "quantity": quantity,
    })
    return landed(events, errors)


def landed(events: pd.DataFrame, errors: pd.Series | list | None) -> pd.DataFrame:
    """The contract's columns and types plus `parse_error`: every chunk lands with one schema."""
    typed = EVENTS.conform(events)
    typed[PARSE_ERROR] = pd.Series(errors, index=typed.index, dtype=STRING)
    return typed


def malformed_rows(lines: list[str], first_row: int, why: str) -> pd.DataFrame:
    """Lines that could not be split into fields, landed with every field empty and the line
    (cut to 300 characters) in the reason, so quarantine shows what arrived."""
    frame = EVENTS.empty().reindex(range(len(lines)))
    frame["event_id"] = [f"row{first_row + i}" for i in range(len(lines))]
    return landed(frame, [f"{why}: {line[:300]!r}" for line in lines])


# --- the catalog --------------------------------------------------------------------------
def read_items(path: Path, given: dict[str, str]) -> pd.DataFrame:
    """An item file (RecBole .item, CSV/TSV or Parquet) in the catalog's columns, less
    created_at (set from the log)."""
    require(path)
    if path.name.removesuffix(".gz").endswith(".parquet"):
        raw = pd.read_parquet(path).astype(STRING)
    else:
        sep = "," if path.name.removesuffix(".gz").endswith(".csv") else "\t"
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
        raw.columns = _strip_recbole_types(list(raw.columns))
    cols = resolve(list(raw.columns), given, ITEM_GUESSES, ("item",), f"item file {path.name}")

    def col(field: str):
        return raw[cols[field]].replace("", None) if field in cols else None

    category = col("category")
    if category is not None:  # RecBole's genres are space-separated tokens: the first leads
        category = category.str.split().str[0]
    title = col("title")
    return pd.DataFrame({
        "item_id": col("item"),
        "title": title if title is not None else col("item"),
        "description": col("description"),
        "category_path": category.fillna(NO_TEXT_CATEGORY) if category is not None else NO_TEXT_CATEGORY,
        "brand": col("brand"),
        "price": pd.to_numeric(col("price"), errors="coerce") if "price" in cols else None,
    })


def catalog_for(items: pd.DataFrame | None, first_seen: pd.Series, log_start: pd.Timestamp) -> pd.DataFrame:
    """The item file (or, without one, an id-only catalog of the items in the log), each item
    created at its first event (the log's start for items never seen)."""
    if items is None:
        ids = first_seen.index.astype(str)
        items = pd.DataFrame({"item_id": ids, "title": ids, "description": None,
                              "category_path": NO_TEXT_CATEGORY, "brand": None, "price": None})
    items = items.drop_duplicates("item_id")
    created = items["item_id"].map(first_seen).fillna(log_start)
    return CATALOG.conform(items.assign(created_at=pd.to_datetime(created, utc=True)))


def has_item_text(catalog: pd.DataFrame) -> bool:
    """Whether items carry text beyond their ids (an item file was given)."""
    return bool(catalog["description"].notna().any()
                or (catalog["title"].astype(str) != catalog["item_id"].astype(str)).any())


# --- the whole file -----------------------------------------------------------------------
def land(cfg: InteractionsConfig, out_dir: Path) -> dict:
    """Stream the log into out_dir/events (by day), write the catalog and an empty judgments
    table; a manifest (rows in, malformed lines, users, time range) is returned."""
    from shopfusion.contracts import JUDGMENTS
    from shopfusion.io import write_events
    from shopfusion.progress import track

    if not cfg.path:
        raise SourceError("source interactions needs a file: --path FILE or ingest.interactions.path")
    path = require(Path(cfg.path))
    fmt = detect_format(path, cfg.format)
    items_path = Path(cfg.items) if cfg.items else None
    if items_path is None and fmt == "recbole":
        sibling = path.with_name(path.name.replace(".inter", ".item"))
        items_path = sibling if sibling.is_file() else None
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = malformed = 0
    seen: list[pd.Series] = []  # per chunk, each item's first event
    newest: list[pd.Timestamp] = []  # per chunk, its last event
    users: set[str] = set()
    cols = None
    for k, (raw, bad) in enumerate(track(read_chunks(path, fmt, cfg.chunk_rows), f"ingesting {path.name}")):
        if cols is None and len(raw.columns):
            cols = resolve(list(raw.columns), cfg.map, GUESSES, ("user", "item"), path.name)
        parts = [to_events(raw, cols, cfg, rows, fmt == "sequences")] if len(raw) else []
        if bad:
            why = "no item on the line" if fmt == "sequences" else "wrong number of fields"
            parts.append(malformed_rows(bad, rows + len(raw), why))
        events = pd.concat(parts, ignore_index=True)
        rows += len(events)
        malformed += len(bad)
        write_events(events, out_dir / "events", batch_id=f"interactions-{k:05d}")
        ok = events.dropna(subset=["item_id", "ts"])
        if len(ok):
            seen.append(ok.groupby("item_id")["ts"].min())
            newest.append(ok["ts"].max())
        users.update(events["user_id"].dropna().unique())
    if rows == 0:
        raise SourceError(f"{path}: no interactions read")
    first_seen = pd.concat(seen).groupby(level=0).min() if seen else pd.Series(dtype="datetime64[ns, UTC]")
    first, last = (first_seen.min(), max(newest)) if seen else (None, None)
    items = read_items(items_path, cfg.items_map) if items_path is not None else None
    log_start = first if seen else pd.Timestamp(cfg.sequence_start, tz="UTC")
    catalog = catalog_for(items, first_seen, log_start)
    catalog.to_parquet(out_dir / "catalog.parquet", index=False)
    JUDGMENTS.empty().to_parquet(out_dir / "judgments.parquet", index=False)
    manifest = {"batch_id": f"interactions-{path.stem}", "path": str(path), "format": fmt,
                "events": rows, "malformed_lines": malformed, "items": len(catalog),
                "item_file": str(items_path) if items_path else None,
                "item_text": has_item_text(catalog), "users": len(users),
                "first_ts": first and first.isoformat(), "last_ts": last and last.isoformat(),
                "timestamps": "synthesized from file order" if fmt == "sequences" else "read",
                "full_history": cfg.full_history}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
