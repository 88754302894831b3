"""Issue #22 figures: MovieLens-100k through the bring-your-own-data path, as a user runs it —
`shopfusion ingest --source interactions` on the RecBole atomic files in ../shared/data, then
`validate`, `features` (item text) and `shopfusion benchmark` (per-user leave-one-out, every
model and fusion method, early stopping on the validation items) in a scratch project.

Run: `python -m benchmarks.bench_paper` (~40 min on 2 cores). The report (both evals: full
ranking and sampled-100) lands in reports/benchmark/ml100k.{json,md} of this checkout.

`--scale`: the memory bound instead: a generated shop of 25k items and 54k users, 1.05M events
(31,249 of them with the four steps leave-one-out needs; a seeded 30k are evaluated), all six
models for one epoch, and the benchmark's peak resident memory (goal: within 8 GB at 30k
users; users are scored in chunks, train.eval_chunk_cells).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine, record
from shopfusion.config import load_params

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "shopfusion.cli"]


# The benchmark command in a fresh interpreter that reports its own peak resident memory.
MEASURE = """
import resource, sys
from shopfusion.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    print("peak_gb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, file=sys.stderr)
"""
SCALE = {"n_users": 54_000, "n_items": 25_000, "n_events": 1_050_000}


def scale() -> None:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        params = yaml.safe_load((REPO / "params.yaml").read_text())
        params["generator"].update(SCALE)
        (project / "params.yaml").write_text(yaml.safe_dump(params))
        for args in (["ingest"], ["validate"], ["features"]):
            print("shopfusion", " ".join(args), flush=True)
            subprocess.run(CLI + args, cwd=project, check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        args = ["benchmark", "--max-epochs", "1", "--patience", "0", "--max-users", "30000", "--name", "x"]
        run = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=project, check=True,
                             capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        peak = float(run.stderr.strip().splitlines()[-1].split()[-1])
        report = json.loads((project / "reports/benchmark/x.json").read_text())
    proto = report["protocol"]
    print(f"{proto['test_users']:,} users x {proto['items']:,} items, {len(report['models'])} models: "
          f"peak {peak:.2f} GB, {seconds:.0f} s")
    print(machine())
    record(benchmark_scale_peak_gb=peak, benchmark_scale_s=seconds,
           benchmark_scale_models=len(report["models"]), benchmark_scale_items=proto["items"],
           benchmark_scale_users=proto["test_users"])


def main() -> None:
    if "--scale" in sys.argv:
        return scale()
    shared = (REPO / load_params(REPO / "params.yaml").ingest.shared_data_dir).resolve()
    log = shared / "recbole-ml-100k" / "ml-100k.inter.gz"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copy(REPO / "params.yaml", project / "params.yaml")
        cache = REPO / ".cache"
        if cache.exists():  # MiniLM text embeddings computed by an earlier run
            shutil.copytree(cache, project / ".cache")
        t0 = time.perf_counter()
        for args in (["ingest", "--source", "interactions", "--path", str(log)], ["validate"], ["features"],
                     ["benchmark", "--eval", "full", "--name", "ml100k"]):
            print("shopfusion", " ".join(args), flush=True)
            subprocess.run(CLI + args, cwd=project, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        out = REPO / "reports" / "benchmark"
        out.mkdir(parents=True, exist_ok=True)
        for suffix in ("json", "md"):
            shutil.copy(project / "reports" / "benchmark" / f"ml100k.{suffix}", out)
    report = json.loads((out / "ml100k.json").read_text())
    s = report["summary"]
    best = max((m for m in report["fusion"] if m != "single"), key=lambda m: report["fusion"][m]["ndcg@10"])
    figures = {
        "llo_ml100k_sasrec_ndcg10_full": report["models"]["sasrec"]["ndcg@10"],
        "llo_ml100k_sasrec_hr10_full": report["models"]["sasrec"]["hr@10"],
        "llo_ml100k_sasrec_ndcg10_sampled100": report["models"]["sasrec"]["sampled100_ndcg@10"],
        "llo_ml100k_sasrec_hr10_sampled100": report["models"]["sasrec"]["sampled100_hr@10"],
        "llo_ml100k_best_fusion_ndcg10_full": report["fusion"][best]["ndcg@10"],
        "llo_ml100k_served_fusion_ndcg10_full": s["best_fusion_ndcg@10"],
        "llo_ml100k_fusion_gain_rel": s["fusion_gain_rel"],
        "llo_ml100k_fusion_gain_rel_ci95_low": s["fusion_gain_ci95"][0],
        "llo_ml100k_fusion_gain_rel_ci95_high": s["fusion_gain_ci95"][1],
        "llo_ml100k_benchmark_s": seconds,
    }
    print((out / "ml100k.md").read_text())
    print(machine(), json.dumps({k: round(v, 4) for k, v in figures.items()}))
    record(**figures)


if __name__ == "__main__":
    main()
