"""The `validate` stage: landed batch in, validated + quarantine Parquet and a summary out.

Run: `shopfusion validate` or `dvc repro validate`. A batch that is unusable as a whole
raises BatchRejected naming the failed expectations, and nothing downstream is touched.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.config import ValidateConfig
from shopfusion.contracts import CATALOG, EVENTS, JUDGMENTS, PARSE_ERROR, Contract
from shopfusion.io import read_parquet
from shopfusion.validation.route import Routed, cast, evaluate, route
from shopfusion.validation.rules import Rule, contract_rules, event_rules
from shopfusion.validation.suite import DOCS_INDEX, run_suites

PARSE_REASON = f"unparseable_line:{PARSE_ERROR}"


class BatchRejected(RuntimeError):
    """The batch as a whole is unusable; the message names the failed expectations."""


@dataclass(frozen=True)
class StagePaths:
    raw: Path = Path("data/raw")
    validated: Path = Path("data/validated")
    quarantine: Path = Path("data/quarantine")
    reports: Path = Path("reports/validation")
    history: Path = Path("data/validation_history.jsonl")


def landed_files(raw_dir: Path) -> dict[str, Path]:
    return {"events": raw_dir / "events", "catalog": raw_dir / "catalog.parquet",
            "judgments": raw_dir / "judgments.parquet"}


def landed_manifest(raw_dir: Path) -> dict:
    path = raw_dir / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def read_landed(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """The landed tables, with a clear error for a missing or unreadable file."""
    tables = {}
    for name, path in landed_files(raw_dir).items():
        if not path.exists():
            raise FileNotFoundError(f"validate: no {name} at {path}; run `shopfusion ingest` first")
        try:
            tables[name] = read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise ValueError(f"validate: cannot read {name} Parquet at {path}: {exc}") from exc
    return tables


def ts_window(ts: pd.Series, now: pd.Timestamp, cfg: ValidateConfig, newest_known: pd.Timestamp | None = None
              ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Accepted event times: not in the future, and within window_days of the newest event
    (of these, or `newest_known`: the data a request's events will join)."""
    hi = accepted_until(now, cfg)
    return window_below(newest_of(ts[ts <= hi].max(), newest_known), hi, cfg)


def newest_of(newest: pd.Timestamp, newest_known: pd.Timestamp | None) -> pd.Timestamp:
    """The window's anchor: the newest event here or already known, whichever is later."""
    if newest_known is None or pd.isna(newest_known):
        return newest
    return newest_known if pd.isna(newest) else max(newest, newest_known)


def accepted_until(now: pd.Timestamp, cfg: ValidateConfig) -> pd.Timestamp:
    return now + pd.Timedelta(seconds=cfg.clock_skew_s)


def window_below(newest: pd.Timestamp, hi: pd.Timestamp, cfg: ValidateConfig
                 ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(lo, hi): lo is window_days before the newest accepted event (before hi if none);
    None when the window is off (window_days null)."""
    if cfg.window_days is None:
        return None, hi
    window = pd.Timedelta(days=cfg.window_days)
    # clamped: a batch whose newest event is within the window of pandas' earliest
    # timestamp (year 1677) would overflow (found by fuzzing /feedback with a 1678 event)
    earliest = pd.Timestamp.min.tz_localize("UTC") + window
    lo = max(newest if pd.notna(newest) else hi, earliest) - window
    return lo, hi


@dataclass
class Checked:
    routed: Routed
    typed: pd.DataFrame
    rules: list[Rule]
    masks: dict[str, np.ndarray]


def _check(raw: pd.DataFrame, contract: Contract, rules_for) -> Checked:
    typed, wrong_type = cast(raw, contract)
    rules = rules_for(typed)
    masks = {**wrong_type, **evaluate(typed, rules)}
    if PARSE_ERROR in raw:  # a line the adapter could not read: its reason is in that column
        masks[PARSE_REASON] = raw[PARSE_ERROR].notna().to_numpy()
    return Checked(route(raw, typed, masks), typed, rules, masks)


def check_events(raw: pd.DataFrame, item_ids: pd.Index, cfg: ValidateConfig, now: pd.Timestamp,
                 newest_known: pd.Timestamp | None = None) -> Checked:
    """Events against a catalog: also used alone for events arriving by request (feedback),
    whose time window is anchored on the data they will join (`newest_known`)."""
    return _check(raw, EVENTS, lambda t: event_rules(
        EVENTS, item_ids, ts_window(t["ts"], now, cfg, newest_known), cfg.max_price))


def check_tables(raw: dict[str, pd.DataFrame], cfg: ValidateConfig, now: pd.Timestamp
                 ) -> dict[str, Checked]:
    """Row-level routing of all landed tables (events are checked against the valid catalog)."""
    catalog = _check(raw["catalog"], CATALOG, lambda _: contract_rules(CATALOG))
    item_ids = pd.Index(catalog.routed.validated["item_id"])
    events = check_events(raw["events"], item_ids, cfg, now)
    judgments = _check(raw["judgments"], JUDGMENTS, lambda _: contract_rules(JUDGMENTS))
    return {"events": events, "catalog": catalog, "judgments": judgments}


def run(cfg: ValidateConfig, paths: StagePaths = StagePaths(), now: pd.Timestamp | None = None) -> dict:
    now = now or pd.Timestamp.now(tz="UTC")
    raw = read_landed(paths.raw)
    if landed_manifest(paths.raw).get("full_history"):  # a whole log's first load: no window
        cfg = dataclasses.replace(cfg, window_days=None)
    checked = check_tables(raw, cfg, now)
    events = checked["events"]
    routed = {name: c.routed for name, c in checked.items()}
    ge = run_suites({name: (c.typed, c.rules) for name, c in checked.items()},
                    paths.reports if cfg.data_docs else None, cfg.ge_result_format)
    summary = {
        "validated_at": now.isoformat(),
        "tables": {name: _table_summary(c, ge[name]) for name, c in checked.items()},
        "null_share": {c: float(raw["events"][c].isna().mean()) for c in EVENTS.names
                       if len(raw["events"])},
        "data_docs": str(paths.reports / DOCS_INDEX) if cfg.data_docs else None,
    }
    summary["failures"] = batch_failures(summary, raw["events"], events.typed, cfg,
                                         _history(paths.history), now)
    summary["success"] = not summary["failures"]
    paths.reports.mkdir(parents=True, exist_ok=True)
    if summary["failures"]:
        (paths.reports / "summary.json").write_text(json.dumps(summary, indent=2))
        raise BatchRejected("validate: batch rejected, nothing written downstream:\n  "
                            + "\n  ".join(summary["failures"]))
    _publish(paths.validated, {n: r.validated for n, r in routed.items()})
    _publish(paths.quarantine, {n: r.quarantine for n, r in routed.items()})
    for name, counted in rows_on_disk(paths).items():
        summary["tables"][name].update(counted)
    (paths.reports / "summary.json").write_text(json.dumps(summary, indent=2))
    _append_history(paths.history, summary)
    return summary


def file_rows(path: Path) -> int:
    """Rows in a Parquet file or folder, from the files' footers."""
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet", partitioning="hive").count_rows()


def rows_on_disk(paths: StagePaths) -> dict[str, dict[str, int]]:
    """Per table, rows landed and rows written to validated + quarantine, each read back from
    the files rather than taken from the routing that wrote them: `rows_lost` can then be
    other than 0 when a row goes missing."""
    out = {}
    for name, landed in landed_files(paths.raw).items():
        written = {kind: file_rows(folder / f"{name}.parquet")
                   for kind, folder in (("validated", paths.validated), ("quarantined", paths.quarantine))}
        rows = file_rows(landed)
        out[name] = {"rows_landed": rows, "rows_written": sum(written.values()),
                     "rows_lost": rows - sum(written.values())}
    return out


def _table_summary(c: Checked, ge: dict[str, dict]) -> dict:
    # GE's count must match the pandas twin; a mismatch means routing and suite disagree.
    r, typed, disagree = c.routed, c.typed, {}
    for rule in c.rules:
        if rule.in_ge and rule.reason in ge:
            mask = c.masks[rule.reason]
            expected = rule.ge_count(typed, mask) if rule.ge_count else int(mask.sum())
            if ge[rule.reason]["unexpected"] not in (None, expected):
                disagree[rule.reason] = {"ge": ge[rule.reason]["unexpected"], "routing": expected}
    return {
        "rows_in": len(typed),
        "validated": len(r.validated),
        "quarantined": len(r.quarantine),
        "by_reason": {k: v for k, v in r.counts.items() if v},
        "ge": ge,
        "ge_disagreements": disagree,
    }


def batch_failures(summary: dict, raw: pd.DataFrame, typed: pd.DataFrame, cfg: ValidateConfig,
                   history: list[dict], now: pd.Timestamp) -> list[str]:
    """Batch-level expectations: size, bad-row share, null rates vs recent batches, freshness."""
    ev = summary["tables"]["events"]
    failures = []
    if ev["rows_in"] == 0:
        return ["expect_table_row_count_to_be_between:events: the batch has no events"]
    bad_share = ev["quarantined"] / ev["rows_in"]
    if bad_share > cfg.max_bad_share:
        top = sorted(ev["by_reason"].items(), key=lambda kv: -kv[1])[:5]
        failures.append(f"quarantined share {bad_share:.1%} > max_bad_share "
                        f"{cfg.max_bad_share:.0%}; top reasons: {dict(top)}")
    recent = history[-cfg.history_batches:]
    if recent:
        median = float(pd.Series([h["rows"] for h in recent]).median())
        lo, hi = cfg.row_count_ratio
        if not lo * median <= len(raw) <= hi * median:
            failures.append(f"expect_table_row_count_to_be_between:events: {len(raw)} rows, "
                            f"recent median {median:.0f}, allowed x{lo}..x{hi}")
        for col, share in summary["null_share"].items():
            worst = max(h["null_share"].get(col, 0.0) for h in recent)
            if share > worst + cfg.null_rate_slack:
                failures.append(f"expect_column_proportion_of_non_null_values_to_be_between:{col}: "
                                f"null share {share:.1%} vs at most {worst:.1%} recently")
    if cfg.max_staleness_days is not None:
        newest = typed["ts"].max()
        if pd.isna(newest) or now - newest > pd.Timedelta(days=cfg.max_staleness_days):
            failures.append(f"freshness: newest event {newest} is older than "
                            f"{cfg.max_staleness_days} days")
    return failures


def _publish(out_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write all tables beside out_dir, then swap in, so readers never see half a batch."""
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, df in tables.items():
        df.to_parquet(tmp / f"{name}.parquet", index=False)
    old = out_dir.with_name(out_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append_history(path: Path, summary: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"validated_at": summary["validated_at"], "rows": summary["tables"]["events"]["rows_in"],
              "null_share": summary["null_share"]}
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")
