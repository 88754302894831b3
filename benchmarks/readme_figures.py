"""The README's headline figures, rendered from benchmarks/results.json (never typed by hand).

Run: `python -m benchmarks.readme_figures` rewrites the table between the markers in README.md;
`--check` prints the rows that disagree with results.json and exits 1 if any do (a test runs
the same check). Each row names the results.json key it shows; what the key measures and the
command that produces it are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = "<!-- figures: rendered from benchmarks/results.json by `python -m benchmarks.readme_figures` -->"
END = "<!-- /figures -->"


def shown(template: str):
    """A formatter: (value, all results) -> text. An interval reads its bounds from the results."""
    return lambda v, _results: template.format(v)


pct, share, times, ms, seconds, count = map(shown, ("{:+.1%}", "{:.1%}", "{:.2f}×", "{:.0f} ms", "{:.1f} s",
                                                    "{:,.0f}"))


def interval(key: str):
    """A gain with its 95% bootstrap interval (keys `<key>_ci95_low` / `_high`)."""
    def fmt(v: float, results: dict) -> str:
        low, high = (results.get(f"{key}_ci95_{end}", float("nan")) for end in ("low", "high"))
        return f"{pct(v, results)} [{pct(low, results)}, {pct(high, results)}]"
    return fmt


DATA = {"synthetic": "synthetic shop", "uci": "UCI Online Retail", "ml100k": "MovieLens-100k"}

# (results.json key, what the figure is, how to print it)
FIGURES: list[tuple[str, str, object]] = [
    *((f"fusion_gain_rel_{d}", f"{name}: served fusion over the best single model, both chosen on "
       "validation (test NDCG@10, 95% interval)", interval(f"fusion_gain_rel_{d}"))
      for d, name in DATA.items()),
    *((f"fusion_gain_oracle_rel_{d}", f"{name}: the same, both picked on test (an upper bound)",
       interval(f"fusion_gain_oracle_rel_{d}")) for d, name in DATA.items()),
    *((f"fusion_gain_llo_rel_{d}", f"{name}: served fusion over the best single model under leave-one-out "
       "(full ranking of unseen items, 95% interval)", interval(f"fusion_gain_llo_rel_{d}"))
      for d, name in DATA.items()),
    *((f"fusion_candidate_recall_{d}", f"{name}: test targets inside the stacker's candidates", share)
      for d, name in DATA.items()),
    ("sasrec_over_popularity_synthetic", "SASRec NDCG@10 over popularity's (synthetic test window)", times),
    ("recommend_rps_ratio_vs_noop", "shop traffic (Zipf users, each returning user's request after their "
     "click) over the fastest no-op BentoML service, 100k items", times),
    ("recommend_repeat_rps_ratio_vs_noop", "the same, 500 users cycled (mostly kept answers)", times),
    ("recommend_uncached_rps_ratio_vs_noop", "500 users cycled, answer cache off (all scored)", times),
    ("feedback_to_recommend_p99_ms", "click (`/feedback`) to a recommendation based on it, p99", ms),
    ("click_recommend_pairs_ratio_vs_noop", "click then recommend, 8 clients: pairs/s over the same loop "
     "against the fastest no-op (default shop)", times),
    ("feedback_click_during_batch_ms", "a single click sent while a 1,000-event feedback request is "
     "accepted (median)", ms),
    ("feedback_to_recommend_p99_ms_half_load", "click to a recommendation based on it, p99, at half the "
     "saturating recommend load", ms),
    ("demo_wall_s", "`git clone` -> `make demo` until the service and Airflow are up (2 cores)", seconds),
    *((f"warm_retrain_ndcg_ratio_{d}", f"{name}: warm-started test-cut fit over a full refit, test NDCG@10 "
       "(the worst torch model)", times) for d, name in DATA.items()),
    *((f"warm_retrain_time_ratio_{d}", f"{name}: the warm fit's time over the full refit's", times)
      for d, name in DATA.items()),
    ("search_rps_ratio_vs_noop", "search throughput over a no-op BentoML service", times),
    ("validate_1m_rows_s", "validate 1M events (fresh `shopfusion validate` process)", seconds),
    ("ingest_interactions_10m_s", "ingest your own 10M-line log (`--source interactions`)", seconds),
    ("ingest_interactions_10m_peak_gb", "the same, peak memory (GB; chunked reading)", shown("{:.2f}")),
    ("llo_ml100k_sasrec_ndcg10_full", "MovieLens-100k through `shopfusion benchmark`: SASRec NDCG@10 "
     "(leave-one-out, full ranking)", shown("{:.4f}")),
    ("llo_ml100k_fusion_gain_rel", "the same: served fusion over the best single model", 
     interval("llo_ml100k_fusion_gain_rel")),
    ("benchmark_scale_peak_gb", "`shopfusion benchmark` peak memory (GB), 30k users x 25k items, six models",
     shown("{:.2f}")),
    ("validation_rows_lost", "rows lost: landed minus validated + quarantined, read back from files", count),
    ("drift_report_1m_s", "drift report, 1M reference + 1M current rows", seconds),
    ("drift_detected_heldout_share", "drift alarms on held-out seeds, 8 kinds x 25/50/100% magnitude", share),
    ("drift_false_alarm_heldout_share", "false drift alarms on held-out undrifted shops", share),
    ("interleaving_events_to_detect_5pct", "interleaving: decided impressions to promote a challenger with "
     "5% "
     "more clicks (simulated shoppers, median of 20)", count),
    ("interleaving_false_promotions_of_20", "interleaving: the champion promoted against itself, of 20 runs",
     count),
    ("store_frozen_p99_over_healthy_p99", "recommend p99 with the online store frozen, over healthy", times),
    ("worker_restart_lost_events", "feedback events lost when a worker is killed (-9)", count),
    ("pipeline_airflow_wall_s", "the whole pipeline through Airflow (`airflow dags test`)", seconds),
]


def render(results: dict) -> list[str]:
    """The table's lines; a figure not measured yet says so."""
    lines = ["| figure | value | key |", "|---|---|---|"]
    for key, what, fmt in FIGURES:
        value = fmt(results[key], results) if key in results else "not measured"
        lines.append(f"| {what} | {value} | `{key}` |")
    return lines


def block(readme: str) -> list[str]:
    """The README's rendered lines (empty when the markers are missing)."""
    if START not in readme or END not in readme:
        return []
    return readme.split(START, 1)[1].split(END, 1)[0].strip().splitlines()


def stale_rows(readme: str, results: dict) -> list[str]:
    """Rendered rows the README does not hold as they are (0 when it matches results.json)."""
    held = set(block(readme))
    return [line for line in render(results) if line not in held]


def main() -> None:
    readme_path, results = REPO / "README.md", json.loads((REPO / "benchmarks/results.json").read_text())
    readme = readme_path.read_text()
    if "--check" in sys.argv:
        stale = stale_rows(readme, results)
        print("\n".join(stale) or "README figures match benchmarks/results.json")
        sys.exit(1 if stale else 0)
    if START not in readme:
        raise SystemExit(f"README.md has no {START!r} marker")
    head, rest = readme.split(START, 1)
    tail = rest.split(END, 1)[1]
    readme_path.write_text(head + START + "\n" + "\n".join(render(results)) + "\n" + END + tail)
    from benchmarks.common import record

    record(readme_figures_stale=len(stale_rows(readme_path.read_text(), results)))


if __name__ == "__main__":
    main()
