"""DVC stages `train` (one per model family), `fuse` and `evaluate`: Parquet in, files out.

Runs with torch + pandas (+ lightgbm for the stacker) alone, so it also runs on a GPU box
without the MLOps stack:  python -m shopfusion.training.stage train --model sasrec
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shopfusion.config import TrainConfig, load_params
from shopfusion.training.data import Dataset, load


@dataclass(frozen=True)
class TrainPaths:
    validated: Path = Path("data/validated")
    item_text: Path = Path("data/features/item_text.parquet")
    models: Path = Path("models")  # trained/<family>/ (one DVC stage each) and fusion/
    reports: Path = Path("reports/train")

    def trained(self, name: str) -> Path:
        return self.models / "trained" / name

    @property
    def fusion(self) -> Path:
        return self.models / "fusion"

    def warm(self, cut: str) -> Path:
        """The torch models fit at the validation or test cut, which the next fit continues."""
        return self.models / "warm" / cut


def data_version(paths: TrainPaths) -> str:
    digest = hashlib.sha256()
    for name in ("events.parquet", "catalog.parquet"):
        digest.update((paths.validated / name).read_bytes())
    return digest.hexdigest()[:16]


def load_dataset(paths: TrainPaths) -> Dataset:
    for name in ("events.parquet", "catalog.parquet"):
        if not (paths.validated / name).exists():
            raise FileNotFoundError(f"train: no {paths.validated / name}; run `shopfusion validate` first")
    text = pd.read_parquet(paths.item_text) if paths.item_text.exists() else None
    return load(pd.read_parquet(paths.validated / "events.parquet"),
                pd.read_parquet(paths.validated / "catalog.parquet"), text)


def train_model(name: str, cfg: TrainConfig, paths: TrainPaths = TrainPaths()) -> dict:
    """Fit one model family on all validated events (the serving artifact) + its manifest."""
    from shopfusion.training.evaluate import usable_models
    from shopfusion.training.registry import build_model

    data = load_dataset(paths)
    out = paths.trained(name)
    if name not in usable_models(data, cfg):  # the text model without item text
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"model": name, "skipped": "no item text (features/item_text.parquet): "
                    "give an item file with titles or descriptions to use it"}
        print(f"train: {name} skipped: {manifest['skipped']}", file=sys.stderr)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
        return manifest
    model = build_model(name, cfg)
    base = kept_fits(paths.warm("test"), [name], cfg).get(name)
    if base is not None:
        model.warm_start(base)
    t0 = time.perf_counter()
    model.fit(data.interactions, data)
    model.save(out / "model.pt")
    losses = getattr(model, "losses", None)  # torch models keep their per-epoch losses
    manifest = {
        "model": name, "trained_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "data_version": data_version(paths), "params": cfg.model_params.get(name, {}),
        "users": data.interactions.n_users, "items": data.interactions.n_items,
        "events": len(data.interactions.user), "fit_seconds": round(time.perf_counter() - t0, 2),
        "final_loss": losses[-1] if losses else None,
        "warm_from": str(paths.warm("test") / f"{name}.pt") if getattr(model, "warm_from", False) else None,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def train_models(cfg: TrainConfig, model: str | None = None, paths: TrainPaths = TrainPaths()) -> dict:
    """train_model for one family, or for the whole configured line-up."""
    from shopfusion.training.registry import line_up

    return {name: train_model(name, cfg, paths) for name in ([model] if model else line_up(cfg))}


def kept_fits(folder: Path, names: list[str], cfg: TrainConfig) -> dict:
    """The torch models kept in `folder` (training/warm.py) to continue, when warm starts are on."""
    from shopfusion.training.registry import build_model

    if not cfg.warm_start.enabled:
        return {}
    return {n: build_model(n, cfg).load(folder / f"{n}.pt") for n in names if (folder / f"{n}.pt").exists()}


def keep_fits(fitted, folder: Path, cut: float, generations: dict[str, int], version: str) -> None:
    """Save the torch models among `fitted` for the next fit to continue."""
    from shopfusion.training.warm import WarmState

    folder.mkdir(parents=True, exist_ok=True)
    for name, model in fitted.models.items():
        if hasattr(model, "warm_start"):
            model.save(folder / f"{name}.pt")
            WarmState(float(cut), generations.get(name, 0), version).save(folder, name)


def fuse(cfg: TrainConfig, paths: TrainPaths = TrainPaths(), full: bool = False) -> dict:
    """Tune fusion weights and train the stacker on the validation window. The models fit at
    the validation cut continue the previous run's (training/warm.py) unless a full fit is due
    or `full`; they are kept in models/warm/valid for evaluate, and for the next run."""
    from shopfusion.training.evaluate import tune_fusion, usable_models, valid_cut
    from shopfusion.training.warm import next_generation

    data, version = load_dataset(paths), data_version(paths)
    cut, folder = valid_cut(data, cfg), paths.warm("valid")
    generations = {} if full else {
        n: g for n in usable_models(data, cfg)
        if (g := next_generation(folder, n, cut, version, cfg.warm_start.full_every)) is not None}
    warm = kept_fits(folder, list(generations), cfg)
    fuser, fitted = tune_fusion(data, cfg, warm=warm)
    keep_fits(fitted, folder, cut, {n: generations.get(n, 0) for n in fitted.warm}, version)
    return {**fuser.save(paths.fusion, data_version=version), "warm_started": fitted.warm}


def evaluate(cfg: TrainConfig, paths: TrainPaths = TrainPaths()) -> dict:
    """Read the test window once for every model and fusion method; write metrics + curves.
    The test-cut models continue the validation-cut ones (models/warm/valid) and are kept in
    models/warm/test for the serving fit to continue."""
    from shopfusion.training.evaluate import evaluate_test, splits, usable_models
    from shopfusion.training.fuser import Fuser
    from shopfusion.training.warm import WarmState

    data, version = load_dataset(paths), data_version(paths)
    test = splits(data, cfg)[1]
    warm = kept_fits(paths.warm("valid"), usable_models(data, cfg), cfg)
    report, fitted = evaluate_test(data, cfg, Fuser.load(paths.fusion), test, warm=warm)
    generations = {n: getattr(WarmState.load(paths.warm("valid"), n), "generation", 0) for n in fitted.warm}
    keep_fits(fitted, paths.warm("test"), test.cut, generations, version)
    report["data_version"] = version
    paths.reports.mkdir(parents=True, exist_ok=True)
    (paths.reports / "metrics.json").write_text(json.dumps(report, indent=2))
    write_curves(report, paths.reports)
    return report


def leave_last_out_report(cfg: TrainConfig, paths: TrainPaths = TrainPaths()) -> dict:
    """The leave-last-out report (its own stage: four model fits that no later stage needs)."""
    from shopfusion.training.evaluate import evaluate_leave_last_out

    report = ({"models": evaluate_leave_last_out(load_dataset(paths), cfg)} if cfg.leave_last_out
              else {"skipped": "train.leave_last_out is false"})
    report["data_version"] = data_version(paths)
    paths.reports.mkdir(parents=True, exist_ok=True)
    (paths.reports / "leave_last_out.json").write_text(json.dumps(report, indent=2))
    return report


def write_curves(report: dict, out: Path) -> None:
    """Per-model / per-K NDCG and recall (CSV for `dvc plots`, PNG for people)."""
    rows = [{"model": f"{group}:{name}", "k": int(key.split("@")[1]), "metric": key.split("@")[0],
             "value": value}
            for group in ("models", "fusion") for name, m in report[group].items()
            for key, value in m.items() if key.startswith(("ndcg@", "recall@"))]
    curves = pd.DataFrame(rows)
    curves.to_csv(out / "curves.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("ndcg", "recall")):
        for model, g in curves[curves["metric"] == metric].groupby("model"):
            ax.plot(g["k"], g["value"], marker="o", linestyle="--" if model.startswith("fusion") else "-",
                    label=model)
        ax.set(xlabel="K", ylabel=f"{metric}@K", xscale="log", title=f"{metric}@K (test window)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "metrics_at_k.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("stage", choices=["train", "fuse", "evaluate", "leave-last-out"])
    parser.add_argument("--model", help="train: the model family (default: all configured)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--full", action="store_true", help="fuse: fit the models from scratch, not warm")
    args = parser.parse_args(argv)
    cfg = load_params(args.params).train
    if args.stage == "train":
        print(json.dumps(train_models(cfg, args.model), indent=2))
    else:
        run = {"fuse": lambda c: fuse(c, full=args.full), "evaluate": lambda c: evaluate(c)["summary"],
               "leave-last-out": leave_last_out_report}[args.stage]
        print(json.dumps(run(cfg), indent=2, default=str))


if __name__ == "__main__":
    main()
