"""Generator throughput: 1M events on this machine (issue #3 target: <= 20 s on 2 cores).

Run: `python -m benchmarks.bench_generator` (or `make bench`).
"""

from __future__ import annotations

import dataclasses
import time

from benchmarks.common import machine, record
from shopfusion.config import load_params


def main(n_events: int = 1_000_000, repeats: int = 3) -> None:
    from shopfusion.datagen import generate

    base = load_params().generator
    cfg = dataclasses.replace(base, n_events=n_events, n_users=50_000, n_items=20_000)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = generate(cfg)
        times.append(time.perf_counter() - t0)
    best = min(times)
    assert len(data.events) == n_events
    print(f"{machine()}: {n_events:,} events in {best:.2f} s (best of {repeats}; all {times})")
    print(f"generator_events_per_s = {n_events / best:,.0f}")
    record(generator_events_per_s=n_events / best, generator_1m_s=best)


if __name__ == "__main__":
    main()
