"""Feature drift between a reference and a current window of shop events (Evidently 0.7).

Events become one row each with the signals the generator's drift knobs (and real shops)
move: event mix, category mix, price, how new the item is, how active the user is. Each
column gets its own Evidently ValueDrift test (method + threshold from params); the decision
fails on any failed column test, because the preset's dataset-level "share of drifted columns"
test passes when one important column drifts.
"""

from __future__ import annotations

import pandas as pd

from shopfusion.config import MonitorConfig

NUMERICAL = ("price", "session_events")


def sample(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    return frame.sample(n, random_state=seed) if len(frame) > n else frame


def _datasets(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]):
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(numerical_columns=[c for c in columns if c in NUMERICAL],
                                categorical_columns=[c for c in columns if c not in NUMERICAL])
    return (Dataset.from_pandas(current[columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition))


def testable(reference: pd.DataFrame, current: pd.DataFrame, cfg: MonitorConfig) -> list[str]:
    """Configured columns both windows carry (a champion packaged before a column was added
    has no reference for it: that column is reported untested, not a crash)."""
    return [c for c in cfg.columns if c in reference and c in current]


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, cfg: MonitorConfig):
    """Evidently snapshot with one ValueDrift (and its test) per configured column: the decision."""
    from evidently import Report
    from evidently.metrics import ValueDrift

    columns = testable(reference, current, cfg)
    report = Report([ValueDrift(column=c, method=cfg.columns[c]["method"],
                                threshold=float(cfg.columns[c]["threshold"])) for c in columns],
                    include_tests=True)
    return report.run(*_datasets(reference, current, columns))


def summary_report(reference: pd.DataFrame, current: pd.DataFrame, cfg: MonitorConfig):
    """Data quality (missing values, ranges, distributions) for people to read. Its cost grows
    faster than the drift tests', and a sample of summary_rows per window shows the same picture."""
    from evidently import Report
    from evidently.presets import DataSummaryPreset

    columns = testable(reference, current, cfg)
    report = Report([DataSummaryPreset(columns=columns)])
    return report.run(*_datasets(sample(reference, cfg.summary_rows), sample(current, cfg.summary_rows),
                                 columns))


def column_results(snapshot) -> dict[str, dict]:
    """Per drift-tested column: score, method, threshold and whether its test passed."""
    out = {}
    for test in snapshot.dict()["tests"]:
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type", "").endswith("ValueDrift"):
            out[params["column"]] = {"passed": str(test["status"]).endswith("SUCCESS"),
                                     "method": params.get("method"), "threshold": params.get("threshold"),
                                     "description": test["description"]}
    for metric in snapshot.dict()["metrics"]:
        cfg = metric.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift") and cfg.get("column") in out:
            out[cfg["column"]]["score"] = float(metric["value"])
    return out


def detect(reference: pd.DataFrame, current: pd.DataFrame, cfg: MonitorConfig) -> tuple[dict, list]:
    """The decision record (drift yes/no, failed tests, scores) and the snapshots (drift tests,
    data summary); a current window below min_rows is "not enough data", never an alarm."""
    record = {"reference_rows": len(reference), "current_rows": len(current)}
    if len(current) < cfg.min_rows or len(reference) < cfg.min_rows:
        return {**record, "status": "not_enough_data", "drift": False, "failed_tests": [],
                "reason": f"need >= {cfg.min_rows} rows in each window"}, []
    reference, current = sample(reference, cfg.max_rows), sample(current, cfg.max_rows)
    drift = drift_report(reference, current, cfg)
    columns = column_results(drift)
    failed = sorted(c for c, r in columns.items() if not r["passed"])
    return {**record, "status": "drift" if failed else "ok", "drift": bool(failed),
            "failed_tests": [f"ValueDrift:{c}" for c in failed], "columns": columns,
            "untested_columns": [c for c in cfg.columns if c not in columns]}, \
        [drift, summary_report(reference, current, cfg)]
