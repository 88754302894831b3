"""Warm-started retraining against full refits (issue #25), on synthetic, UCI and MovieLens-100k.

The protocol's chain, per torch model: fit in full before the validation cut, then at the test
cut either refit from scratch (`epochs`) or continue the validation-cut fit (`warm_epochs`,
training/warm.py). Both are judged on the temporal test window (full-ranking NDCG@10, the
figure `evaluate` reports), with a paired bootstrap interval over test users.

Keys, per data set: warm_retrain_ndcg_ratio_<data> (the worst model's warm / full NDCG@10),
warm_retrain_time_ratio_<data> (warm fit seconds / full fit seconds, summed over the models),
and per model warm_retrain_ndcg_ratio_<data>_<model>, warm_retrain_time_ratio_<data>_<model>.

Run: python -m benchmarks.bench_warm [--only synthetic|uci|ml100k] (~25 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.bench_training import dataset
from benchmarks.common import machine, record
from shopfusion.config import load_params

DATA = ("synthetic", "uci", "ml100k")
MODELS = ("mf", "two_tower", "sasrec")


def timed_fit(model, split, data) -> float:
    t0 = time.perf_counter()
    model.fit(split.train, data)
    return time.perf_counter() - t0


def per_user_ndcg(model, split) -> np.ndarray:
    from shopfusion.training.metrics import ndcg_per_user, target_ranks

    ranks = [target_ranks(model.score(split.users[i: i + 500], split.history[i: i + 500]),
                          split.targets[i: i + 500]) for i in range(0, len(split.users), 500)]
    return ndcg_per_user(np.concatenate(ranks), 10)


def compare(source: str) -> dict[str, float]:
    from shopfusion.training.evaluate import gain_interval, splits
    from shopfusion.training.registry import build_model

    cfg = load_params().train
    data = dataset(source)
    valid, test = splits(data, cfg)
    out, full_s, warm_s, ratios = {}, 0.0, 0.0, []
    for name in MODELS:
        base, full, warm = (build_model(name, cfg) for _ in range(3))
        timed_fit(base, valid, data)
        t_full = timed_fit(full, test, data)
        warm.warm_start(base)
        t_warm = timed_fit(warm, test, data)
        full_u, warm_u = per_user_ndcg(full, test), per_user_ndcg(warm, test)
        ratio = warm_u.mean() / max(full_u.mean(), 1e-12)
        low, high = gain_interval(full_u, warm_u, cfg.seed)
        print(f"{source} {name}: full {full_u.mean():.4f} ({t_full:.0f} s), warm {warm_u.mean():.4f} "
              f"({t_warm:.0f} s): {ratio:.3f} [{1 + low:.3f}, {1 + high:.3f}]", flush=True)
        out |= {f"warm_retrain_ndcg_ratio_{source}_{name}": ratio,
                f"warm_retrain_ndcg_ratio_{source}_{name}_ci95_low": 1 + low,
                f"warm_retrain_ndcg_ratio_{source}_{name}_ci95_high": 1 + high,
                f"warm_retrain_time_ratio_{source}_{name}": t_warm / t_full,
                f"warm_retrain_full_ndcg10_{source}_{name}": full_u.mean(),
                f"warm_retrain_warm_ndcg10_{source}_{name}": warm_u.mean()}
        full_s, warm_s = full_s + t_full, warm_s + t_warm
        ratios.append(ratio)
    out[f"warm_retrain_ndcg_ratio_{source}"] = min(ratios)
    out[f"warm_retrain_time_ratio_{source}"] = warm_s / full_s
    out[f"warm_retrain_test_users_{source}"] = len(test.users)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=DATA)
    args = parser.parse_args()
    print(machine(), flush=True)
    for source in [args.only] if args.only else DATA:
        figures = compare(source)
        print(json.dumps({k: round(v, 4) for k, v in figures.items()}, indent=2), flush=True)
        record(**figures)


if __name__ == "__main__":
    main()
