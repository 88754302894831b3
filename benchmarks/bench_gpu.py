"""Issue #6 on a GPU box: the torch models train under CUDA + bf16 autocast and score as well as
their float32 CPU runs on the same box; an artifact trained on the GPU scores the same in a
process that sees no CUDA (serving machines have none); SASRec training throughput beside the
plain reference, both under the same autocast.

Needs torch + pandas + pyyaml alone (a GPU box lacks the MLOps stack): it reads the Parquet the
validate and features stages exported (data/validated, data/features/item_text.parquet).
Run: `python -m benchmarks.bench_gpu --out reports/bench_gpu` (~4 min on one H100/H200).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from shopfusion.config import load_params
from shopfusion.training.stage import TrainPaths, load_dataset

NEURAL = ("mf", "two_tower", "sasrec")


def test_split():
    from shopfusion.training.evaluate import splits

    data, cfg = load_dataset(TrainPaths()), load_params().train
    return data, cfg, splits(data, cfg)[1]


def fit_and_test(name: str, data, cfg, split):
    """Fit on the events before the test cut; full-ranking NDCG@10 on the test window."""
    from shopfusion.training.device import device, synchronize
    from shopfusion.training.evaluate import ndcg_at_10
    from shopfusion.training.registry import build_model

    model = build_model(name, cfg)
    t0 = time.perf_counter()
    model.fit(split.train, data)
    synchronize(device())
    fit_s = time.perf_counter() - t0
    ndcg = ndcg_at_10(model.score(split.users, split.history), split.targets)
    return model, {"fit_s": fit_s, "ndcg10": ndcg, "final_loss": model.losses[-1]}


def score_artifact(name: str, path: str) -> None:
    """Child process without CUDA: load a GPU-trained artifact and print its test NDCG@10."""
    from shopfusion.training.evaluate import ndcg_at_10
    from shopfusion.training.registry import build_model

    data, cfg, split = test_split()
    model = build_model(name, cfg).load(Path(path))
    print(json.dumps({"ndcg10": ndcg_at_10(model.score(split.users, split.history), split.targets)}))


def main() -> None:
    import torch

    from benchmarks.bench_training import sasrec_throughput

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("reports/bench_gpu"))
    parser.add_argument("--score-artifact", nargs=2, metavar=("MODEL", "PATH"))
    args = parser.parse_args()
    if args.score_artifact:
        return score_artifact(*args.score_artifact)
    if not torch.cuda.is_available():
        sys.exit("bench_gpu: torch sees no CUDA device")
    args.out.mkdir(parents=True, exist_ok=True)
    data, cfg, split = test_split()
    figures = {}
    for name in NEURAL:
        for dev in ("cpu", "cuda"):
            os.environ["SHOPFUSION_DEVICE"] = dev
            model, result = fit_and_test(name, data, cfg, split)
            print(f"{name} on {dev}: {result}", flush=True)
            figures.update({f"gpu_check_{name}_{dev}_{k}": v for k, v in result.items()})
        artifact = args.out / f"{name}.pt"
        model.save(artifact)  # the CUDA-trained one
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_gpu", "--score-artifact", name, str(artifact)],
            env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "SHOPFUSION_DEVICE": ""},
            capture_output=True, text=True, check=True)
        on_cpu = json.loads(child.stdout.splitlines()[-1])["ndcg10"]
        figures[f"gpu_check_{name}_artifact_on_cpu_ndcg10"] = on_cpu
    os.environ["SHOPFUSION_DEVICE"] = "cuda"
    ours, ref = sasrec_throughput(data)
    figures.update(gpu_sasrec_seq_per_s=ours, gpu_sasrec_reference_seq_per_s=ref,
                   gpu_sasrec_train_speed_ratio_vs_reference=ours / ref)
    device = f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    print(device, json.dumps(figures, indent=1))
    (args.out / "figures.json").write_text(json.dumps({"device": device, **figures}, indent=2))


if __name__ == "__main__":
    main()
