"""Issue #22 figures: MovieLens-100k through the bring-your-own-data path, as a user runs it —
`shopfusion ingest --source interactions` on the RecBole atomic files in ../shared/data, then
`validate`, `features` (item text) and `shopfusion benchmark` (per-user leave-one-out, every
model and fusion method, early stopping on the validation items) in a scratch project.

Run: `python -m benchmarks.bench_paper` (~40 min on 2 cores). The report (both evals: full
ranking and sampled-100) lands in reports/benchmark/ml100k.{json,md} of this checkout.
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


def main() -> None:
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
