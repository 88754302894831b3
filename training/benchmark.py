"""The paper protocol on the validated data (`shopfusion benchmark`): per-user leave-one-out,
every single model and fusion method, in a table to set beside a published one.

Per user the last interaction is the test item and the second-last the validation item; the
models are fit on everything before the validation items to tune fusion (weights, stacker,
the method that serves) and refit on everything before the test items for the test. `full`
ranks the whole catalog less the user's history; `sampled100` ranks the target among 100
distinct items the user never interacted with, the same for every model and method. Fusion is
tuned on full ranking under both (what serving ranks); the eval picks the table's columns.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from shopfusion.config import TrainConfig
from shopfusion.training.stage import TrainPaths, data_version, load_dataset

EVALS = ("full", "sampled100")
OUT = Path("reports/benchmark")


def columns(eval_kind: str) -> dict[str, str]:
    """Table column -> report key."""
    if eval_kind == "full":
        return {"HR@10": "hr@10", "NDCG@10": "ndcg@10", "MRR": "mrr"}
    return {"HR@10": "sampled100_hr@10", "NDCG@10": "sampled100_ndcg@10"}


def markdown(report: dict, eval_kind: str, name: str) -> str:
    cols = columns(eval_kind)
    proto = report["protocol"]
    lines = [f"# {name}: leave-one-out, {eval_kind} ranking",
             "", f"{proto['test_users']} test users, {proto['items']} items, "
             f"{proto['train_events']} training events; served fusion: {report['served']} "
             f"(chosen on the validation items).", "",
             "| model / fusion | " + " | ".join(cols) + " | fit s | epochs |",
             "|---" * (len(cols) + 3) + "|"]
    for group in ("models", "fusion"):
        for method, m in report[group].items():
            fit = report["fit_seconds"].get(method) if group == "models" else None
            cells = [f"{m[key]:.4f}" for key in cols.values()] + [f"{fit:.1f}" if fit is not None else "—"]
            cells.append(str(report["epochs_used"].get(method, "—")))
            label = method if group == "models" else f"fusion: {method}"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    s = report["summary"]
    lines += ["", f"Fusion gain (NDCG@10, full ranking, served over the best single model on "
              f"validation, {s['best_single']}): {s['fusion_gain_rel']:+.1%} "
              f"[{s['fusion_gain_ci95'][0]:+.1%}, {s['fusion_gain_ci95'][1]:+.1%}]."]
    return "\n".join(lines) + "\n"


def run(cfg: TrainConfig, eval_kind: str = "full", models: list[str] | None = None,
        name: str | None = None, paths: TrainPaths | None = None, out: Path = OUT,
        patience: int = 3, max_epochs: int | None = None, max_users: int | None = None) -> dict:
    """Run the protocol; writes out/<name>.json and out/<name>.md, returns the report. The
    torch models train up to `max_epochs` (default: their configured epochs), stopping early
    on the validation items after `patience` epochs without a better NDCG@10 (0: never).
    Every user with enough history is evaluated unless `max_users` caps it (a seeded sample);
    users are scored in chunks (train.eval_chunk_cells), so memory does not grow with them."""
    from shopfusion.training.evaluate import evaluate_leave_one_out, with_epochs
    from shopfusion.training.neural import Trained
    from shopfusion.training.registry import line_up, model_class

    if eval_kind not in EVALS:
        raise ValueError(f"--eval {eval_kind!r}: one of {', '.join(EVALS)}")
    paths = paths or TrainPaths()
    cfg = dataclasses.replace(cfg, sampled_negatives=100, models=tuple(models) if models else cfg.models,
                              max_eval_users=max_users,
                              early_stopping=dataclasses.replace(cfg.early_stopping, patience=patience))
    if max_epochs:
        cfg = with_epochs(cfg, {n: max_epochs for n in line_up(cfg) if issubclass(model_class(n), Trained)})
    data = load_dataset(paths)
    name = name or landed_name(paths.validated.parent / "raw" / "manifest.json")
    report = evaluate_leave_one_out(data, cfg)
    report.update(dataset=name, eval=eval_kind, data_version=data_version(paths))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2))
    (out / f"{name}.md").write_text(markdown(report, eval_kind, name))
    return report


def landed_name(manifest: Path) -> str:
    """The landed batch's id (what was ingested), or "dataset" when none is on disk."""
    return json.loads(manifest.read_text()).get("batch_id", "dataset") if manifest.exists() else "dataset"
