"""Validate + route a 1M-row batch with 1% corruption (issue #4 target: <= 10 s on 2 cores).

Reports three figures measured in the same run: the whole `shopfusion validate` command in a
fresh process (imports, read Parquet, GE suites, routing, Parquet out, Data Docs: the
end-to-end figure), the stage function in a process that has already imported its
libraries, and the plain-pandas floor (read + the same rules without GE, nothing written). Also sums the rows
lost (must be 0: rows landed minus rows written, both read back from the files) over random
corruptions and the real datasets.
Run: `python -m benchmarks.bench_validate` (or `make bench`).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, record
from shopfusion.config import CorruptionConfig, load_params

KINDS = [f.name for f in dataclasses.fields(CorruptionConfig)]


def land(root: Path, n_rows: int, bad_share: float) -> None:
    from shopfusion.datagen import ShopData, generate
    from shopfusion.datagen.corrupt import corrupt
    from shopfusion.io import write_batch

    gen = dataclasses.replace(load_params().generator, n_events=n_rows, n_users=50_000, n_items=20_000)
    data = generate(gen)
    cfg = CorruptionConfig(**{k: bad_share / len(KINDS) for k in KINDS})
    events, _ = corrupt(data.events, cfg, seed=1)
    write_batch(ShopData(data.catalog, events, data.judgments), root / "data/raw", "bench")


def pandas_floor(raw_dir: Path) -> float:
    import pandas as pd

    from shopfusion.contracts import CATALOG, EVENTS
    from shopfusion.validation.route import cast, evaluate, route
    from shopfusion.validation.rules import event_rules
    from shopfusion.validation.stage import read_landed, ts_window

    t0 = time.perf_counter()
    raw = read_landed(raw_dir)
    typed, wrong = cast(raw["events"], EVENTS)
    cat, _ = cast(raw["catalog"], CATALOG)
    rules = event_rules(EVENTS, pd.Index(cat["item_id"]), ts_window(typed["ts"], pd.Timestamp.now(tz="UTC"),
                                                               load_params().validate), 1e5)
    route(raw["events"], typed, {**wrong, **evaluate(typed, rules)})
    return time.perf_counter() - t0


def rows_lost_sweep(n_batches: int = 20) -> tuple[int, int]:
    """Rows landed on disk minus rows read back from validated + quarantine, each batch through
    the whole stage, summed over random corruptions and the real data."""
    import numpy as np
    import pandas as pd

    from shopfusion.adapters import load_real
    from shopfusion.datagen import ShopData, generate
    from shopfusion.datagen.corrupt import corrupt
    from shopfusion.io import write_batch
    from shopfusion.validation.stage import StagePaths, run

    params = load_params()
    cfg, now = dataclasses.replace(params.validate, data_docs=False), pd.Timestamp.now(tz="UTC")
    rng = np.random.default_rng(0)
    shop = generate(dataclasses.replace(params.generator, n_events=50_000))
    batches = []
    for seed in range(n_batches):
        rates = {k: float(rng.choice([0.0, 0.002, 0.01, 0.04])) for k in KINDS}
        events, _ = corrupt(shop.events, CorruptionConfig(**rates), seed=seed)
        batches.append(ShopData(shop.catalog, events, shop.judgments))
    shared = Path(params.ingest.shared_data_dir)
    batches += [load_real(source, shared) for source in ("uci", "ml100k")]
    # ESCI holds judgments only: they land beside the clean shop's events and catalog
    batches.append(ShopData(shop.catalog, shop.events, load_real("esci", shared).judgments))
    lost = rows = 0
    for i, batch in enumerate(batches):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_batch(batch, root / "raw", f"sweep{i}")
            paths = StagePaths(raw=root / "raw", validated=root / "validated", quarantine=root / "quarantine",
                               reports=root / "reports", history=root / "history.jsonl")
            for table in run(cfg, paths, now)["tables"].values():
                rows += table["rows_landed"]
                lost += table["rows_lost"]
    return lost, rows


def main(n_rows: int = 1_000_000, bad_share: float = 0.01) -> None:
    from shopfusion.validation.stage import StagePaths, run

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        land(root, n_rows, bad_share)
        floor = pandas_floor(root / "data/raw")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shopfusion.cli", "validate",
                        "--params", str(Path("params.yaml").resolve())], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        cli = time.perf_counter() - t0
        paths = StagePaths(raw=root / "data/raw", validated=root / "v", quarantine=root / "q",
                           reports=root / "r", history=root / "h.jsonl")
        t0 = time.perf_counter()
        summary = run(load_params().validate, paths)
        warm = time.perf_counter() - t0
    ev = summary["tables"]["events"]
    print(f"{machine()}: {n_rows:,} rows, {ev['quarantined']:,} quarantined, lost {ev['rows_lost']}")
    print(f"shopfusion validate (fresh process) {cli:.2f} s | stage in warm process {warm:.2f} s"
          f" | plain-pandas floor {floor:.2f} s")
    lost, rows = rows_lost_sweep()
    print(f"rows lost over 20 random corruptions + UCI + MovieLens + ESCI: {lost} of {rows:,}")
    record(validate_1m_rows_s=cli, validate_1m_rows_warm_s=warm, validate_1m_pandas_floor_s=floor,
           validation_rows_lost=lost)


if __name__ == "__main__":
    main()
