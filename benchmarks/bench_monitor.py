"""Drift detection quality and report time (issue #8).

Detection: for each drift knob of the generator (category shift, price shift, burst of new
items, changed user activity) and 10 seeds, a shop whose second half is drifted; reference =
events before the drift starts, current = after. The same split on 10 undrifted shops counts
false alarms. Time: one report on 100k + 100k and 1M + 1M events.

Run: python -m benchmarks.bench_monitor [--seeds 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import pandas as pd

from benchmarks.common import machine, record
from shopfusion.bundle import monitored_frame
from shopfusion.config import DriftConfig, GeneratorConfig, load_params
from shopfusion.monitoring.drift import detect

KNOBS = {  # each a moderate, realistic change
    "category_shift": {"category_shift": 0.3},
    "price_shift": {"price_shift": 1.25},
    "new_item_burst": {"new_item_burst": 300},
    "activity": {"activity_multiplier": 2.0},
}
BASE = GeneratorConfig(n_users=5000, n_items=3000, n_events=100_000, days=30)


def windows(cfg: GeneratorConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    from shopfusion.datagen import generate

    shop = generate(cfg)
    ts = pd.to_datetime(shop.events["ts"], utc=True)
    cut = pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=cfg.days * cfg.drift.start_fraction)
    days = load_params().monitor.new_item_days
    before = (ts < cut).to_numpy()
    return (monitored_frame(shop.events[before], shop.catalog, days),
            monitored_frame(shop.events[~before], shop.catalog, days))


def detection(seeds: int) -> dict:
    mon = load_params().monitor
    out = {}
    for name, knob in {**KNOBS, "none": {}}.items():
        hits, failed = 0, []
        for seed in range(seeds):
            cfg = dataclasses.replace(BASE, seed=seed, drift=DriftConfig(start_fraction=0.5, **knob))
            ref, cur = windows(cfg)
            decision, _ = detect(ref, cur, mon)
            hits += decision["drift"]
            failed.append(decision["failed_tests"])
        out[name] = {"detected": hits, "of": seeds, "failed_tests": failed}
        print(name, hits, "/", seeds, flush=True)
    return out


def report_seconds(n: int) -> float:
    mon = load_params().monitor
    cfg = dataclasses.replace(BASE, n_events=2 * n, n_users=max(5000, n // 20), days=60,
                              drift=DriftConfig(start_fraction=0.5))
    ref, cur = windows(cfg)
    t0 = time.perf_counter()
    _, snapshots = detect(ref, cur, dataclasses.replace(mon, max_rows=max(n, mon.max_rows)))
    for i, snapshot in enumerate(snapshots):
        snapshot.save_html(f"/tmp/bench_monitor_report_{i}.html")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    det = detection(args.seeds)
    t100k, t1m = report_seconds(100_000), report_seconds(1_000_000)
    result = {"detection": det, "report_100k_s": t100k, "report_1m_s": t1m, "machine": machine(),
              "date": pd.Timestamp.now(tz="UTC").isoformat()}
    print(json.dumps({k: v for k, v in result.items() if k != "detection"}, indent=2))
    record(drift_detected_of_40=sum(det[k]["detected"] for k in KNOBS),
           drift_false_alarms_of_10=det["none"]["detected"], drift_report_100k_s=t100k,
           drift_report_1m_s=t1m)


if __name__ == "__main__":
    main()
