"""Drift detection on cases the thresholds never saw, and report time.

The thresholds in params.yaml (`monitor.columns`) were set on seeds 0-9 (`--tune`: clean shops
only); those seeds are not used for detection. Detection is measured on held-out
seeds only (100 on), for eight kinds of drift at 25%, 50% and 100% of a default magnitude:
- the generator's knobs, each of which one monitored column was designed for: category mix,
  price level, a burst of new items, user activity;
- upstream changes no column was designed for, applied to the current window of an undrifted
  shop: a conversion drop (purchases logged as add-to-cart), active hours moved, categories
  silently mapped to "unknown", prices arriving in cents.
Reference = events before the drift starts, current = after. The same split of undrifted shops
(held-out seeds) counts false alarms. Time: one report on 100k + 100k and 1M + 1M events.

The shop has a daily rhythm (evening peak 3x the night), as shops do; without one an hour shift
changes nothing to detect.

Run: python -m benchmarks.bench_monitor [--seeds 10] [--detection-only | --timing-only | --tune]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, record
from shopfusion.bundle import monitored_frame
from shopfusion.config import DriftConfig, GeneratorConfig, load_params
from shopfusion.datagen.upstream import UPSTREAM
from shopfusion.monitoring.drift import detect

HELD_OUT_FROM = 100  # seeds 0-9 tuned the thresholds
MAGNITUDES = (0.25, 0.5, 1.0)
KNOBS = {  # generator drift at magnitude m (1.0: a moderate, realistic change)
    "category_shift": lambda m: {"category_shift": 0.3 * m},
    "price_shift": lambda m: {"price_shift": 1 + 0.25 * m},
    "new_item_burst": lambda m: {"new_item_burst": int(300 * m)},
    "activity": lambda m: {"activity_multiplier": 1 + 1.0 * m},
}


BASE = GeneratorConfig(n_users=5000, n_items=3000, n_events=100_000, days=30, diurnal_amplitude=0.5)
TUNING_SEEDS = range(10)
SMALL = dataclasses.replace(BASE, n_users=800, n_items=600, n_events=40_000)  # the unit tests' windows
THRESHOLD_MARGIN = 1.25  # threshold = the largest score on a clean tuning shop x this


def windows(cfg: GeneratorConfig, change=None, m: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monitored frames before and after the drift start; `change` rewrites the later events
    (and the catalog they are joined with) as an upstream change would."""
    from shopfusion.datagen import generate

    shop = generate(cfg)
    ts = pd.to_datetime(shop.events["ts"], utc=True)
    cut = pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(days=cfg.days * cfg.drift.start_fraction)
    days = load_params().monitor.new_item_days
    before = (ts < cut).to_numpy()
    later, catalog = shop.events[~before], shop.catalog
    if change:
        later, catalog = change(later, catalog, m, np.random.default_rng(cfg.seed))
    return (monitored_frame(shop.events[before], shop.catalog, days), monitored_frame(later, catalog, days))


def detection(seeds: int) -> dict:
    """Per kind and magnitude (and "none"), how many held-out seeds raised the alarm."""
    mon = load_params().monitor
    held_out = range(HELD_OUT_FROM, HELD_OUT_FROM + seeds)
    out = {}

    def run(name, cfg_of, change=None, m=1.0):
        flags = [detect(*windows(cfg_of(seed), change, m), mon)[0] for seed in held_out]
        out[name] = {"detected": sum(f["drift"] for f in flags), "of": seeds,
                     "failed_tests": [f["failed_tests"] for f in flags]}
        print(name, out[name]["detected"], "/", seeds, flush=True)

    def shop(seed, **knob):
        return dataclasses.replace(BASE, seed=seed, drift=DriftConfig(start_fraction=0.5, **knob))

    run("none", shop)
    for m in MAGNITUDES:
        for kind, knob in KNOBS.items():
            run(f"{kind}_m{int(m * 100)}", lambda seed, knob=knob, m=m: shop(seed, **knob(m)))
        for kind, change in UPSTREAM.items():
            run(f"{kind}_m{int(m * 100)}", shop, change, m)
    return out


def tune() -> dict:
    """Each column's drift score on clean shops of the tuning seeds, at the benchmark's window
    and at the unit tests' smaller one (fixed distances are noisier on fewer rows), and the
    threshold that follows: the largest clean score x THRESHOLD_MARGIN. Looks at no drift."""
    mon = load_params().monitor
    untested = dataclasses.replace(mon, columns={c: {**s, "threshold": 1.0} for c, s in mon.columns.items()})
    scores = {c: [] for c in mon.columns}
    for base in (BASE, SMALL):
        for seed in TUNING_SEEDS:
            cfg = dataclasses.replace(base, seed=seed, drift=DriftConfig(start_fraction=0.5))
            for c, r in detect(*windows(cfg), untested)[0]["columns"].items():
                scores[c].append(r["score"])
    out = {c: {"clean_max": max(v), "clean_median": float(np.median(v)),
               "configured": mon.columns[c]["threshold"], "suggested": round(max(v) * THRESHOLD_MARGIN, 3)}
           for c, v in scores.items()}
    print(json.dumps(out, indent=2))
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
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--detection-only", action="store_true", help="skip the report timings")
    only.add_argument("--timing-only", action="store_true", help="only the report timings")
    parser.add_argument("--tune", action="store_true",
                        help="only print clean scores on the tuning seeds and the thresholds they suggest")
    args = parser.parse_args()
    if args.tune:
        Path("reports").mkdir(exist_ok=True)
        Path("reports/tune_monitor.json").write_text(json.dumps(tune(), indent=2))
        return
    figures = {}
    if not args.timing_only:
        det = detection(args.seeds)
        Path("reports").mkdir(exist_ok=True)
        when = pd.Timestamp.now(tz="UTC").isoformat()
        Path("reports/bench_monitor.json").write_text(
            json.dumps({"detection": det, "machine": machine(), "date": when}, indent=2))
        figures.update(detection_figures(det))
    if not args.detection_only:
        figures.update(drift_report_100k_s=report_seconds(100_000),
                       drift_report_1m_s=report_seconds(1_000_000))
    print(machine(), json.dumps({k: round(v, 4) for k, v in figures.items()}))
    record(**figures)


def detection_figures(det: dict) -> dict:
    """Shares detected: overall, per kind (over its magnitudes), per kind and magnitude; false alarms."""
    def share(names):
        return sum(det[n]["detected"] for n in names) / sum(det[n]["of"] for n in names)

    drifted = [k for k in det if k != "none"]
    per_kind = {kind: share([n for n in drifted if n.rsplit("_m", 1)[0] == kind])
                for kind in [*KNOBS, *UPSTREAM]}
    return {"drift_detected_heldout_share": share(drifted),
            "drift_false_alarm_heldout_share": share(["none"]),
            **{f"drift_detected_heldout_{n}": share([n]) for n in drifted},
            **{f"drift_detected_heldout_{kind}": v for kind, v in per_kind.items()}}

if __name__ == "__main__":
    main()
