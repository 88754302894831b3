"""Issue #22 figures: ingest throughput and peak memory of your own log through the generic
adapter (`shopfusion ingest --source interactions`), on a generated sequence file of 10M lines
(`user item`, one interaction a line: the format of many sequential-recommendation papers),
beside a 1M-line file: memory stays bounded (chunks of `ingest.interactions.chunk_rows`) while
time grows with the lines.

Run: `python -m benchmarks.bench_ingest` (~4 min on 2 cores; the files go to a temp folder).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, record

SIZES = {"1m": 1_000_000, "10m": 10_000_000}
# One ingest in a fresh interpreter: its own wall time and peak resident memory.
MEASURE = """
import json, resource, sys, time
from pathlib import Path
from shopfusion.adapters.interactions import land
from shopfusion.config import InteractionsConfig
t0 = time.perf_counter()
manifest = land(InteractionsConfig(path=sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t0, "events": manifest["events"],
                  "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def sequence_file(path: Path, lines: int, users: int = 200_000, items: int = 50_000, seed: int = 0) -> Path:
    """`user item` lines: users uniform, items Zipf-like (a shop's long tail)."""
    rng = np.random.default_rng(seed)
    item_rank = np.minimum(rng.zipf(1.2, lines), items) - 1
    frame = pd.DataFrame({"user": rng.integers(0, users, lines), "item": item_rank})
    frame.to_csv(path, sep=" ", header=False, index=False)
    return path


def main() -> None:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, lines in SIZES.items():
            path = sequence_file(Path(tmp) / f"seq-{name}.txt", lines)
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path), f"{tmp}/raw-{name}"],
                                 capture_output=True, text=True, check=True)
            run = json.loads(out.stdout.strip().splitlines()[-1])
            assert run["events"] == lines, run
            print(f"{name}: {lines:,} lines in {run['seconds']:.1f} s "
                  f"({lines / run['seconds']:,.0f} lines/s), peak {run['peak_gb']:.2f} GB")
            figures |= {f"ingest_interactions_{name}_s": run["seconds"],
                        f"ingest_interactions_{name}_peak_gb": run["peak_gb"]}
    print(machine())
    record(**figures)


if __name__ == "__main__":
    main()
