"""`shopfusion` command line: one subcommand per pipeline stage, all driven by params.yaml."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from shopfusion.config import PARAMS_FILE, CorruptionConfig, load_params

app = typer.Typer(
    help="ShopFusion: train several e-commerce recommenders and fuse their scores.\n\n"
    "Each subcommand is one pipeline stage (files in -> files out), the same function that "
    "`dvc repro` and the Airflow DAGs call. Settings come from params.yaml; options override.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsOpt = Annotated[Path, typer.Option("--params", help="params.yaml to read.")]


def _print(result: dict) -> None:
    typer.echo(json.dumps(result, indent=2, default=str))


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Expected failures (bad input, rejected batch) print one line and exit 1, no traceback."""
    from shopfusion.config import ConfigError
    from shopfusion.contracts import ContractError

    try:
        yield
    except (ConfigError, ContractError, FileNotFoundError, ValueError, RuntimeError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


@app.command()
def ingest(
    params_file: ParamsOpt = PARAMS_FILE,
    source: Annotated[str | None, typer.Option(
        help="synthetic | uci | ml100k | esci (default: ingest.source).")] = None,
    out: Annotated[Path | None, typer.Option(help="Landing folder (default: ingest.out_dir).")] = None,
    events: Annotated[int | None, typer.Option(help="Synthetic: number of events.")] = None,
    seed: Annotated[int | None, typer.Option(help="Synthetic: random seed.")] = None,
    corrupt_rate: Annotated[float | None, typer.Option(
        help="Synthetic: corrupt this share of rows with *each* corruption kind.")] = None,
    path: Annotated[Path | None, typer.Option(help="Interactions: your log file.")] = None,
    format: Annotated[str | None, typer.Option(  # noqa: A002 (the user-facing option name)
        help="Interactions: csv | tsv | parquet | recbole | sequences | auto.")] = None,
    map: Annotated[str | None, typer.Option(  # noqa: A002
        help="Interactions: your columns, e.g. user=visitorid,item=itemid,ts=timestamp,event=event.")] = None,
    items: Annotated[Path | None, typer.Option(
        help="Interactions: item file (id, title, description, category, brand, price).")] = None,
) -> None:
    """Land a batch of shop events, catalog and search judgments as Parquet.

    The batch comes from the synthetic generator (deterministic under a seed), a real dataset
    in ../shared/data, or your own interaction log (--source interactions --path FILE).
    Events are partitioned by day; a manifest.json describes it.
    """
    from shopfusion.adapters.interactions import parse_map
    from shopfusion.ingest import run

    with _clear_errors():
        params = load_params(params_file)
        gen = params.generator
        if corrupt_rate is not None:
            kinds = {f.name: corrupt_rate for f in dataclasses.fields(CorruptionConfig)}
            gen = dataclasses.replace(gen, corruption=CorruptionConfig(**kinds))
        gen = dataclasses.replace(gen, n_events=events or gen.n_events,
                                  seed=gen.seed if seed is None else seed)
        given = {"path": path and str(path), "format": format, "items": items and str(items),
                 "map": parse_map(map)}
        inter = dataclasses.replace(params.ingest.interactions, **{k: v for k, v in given.items() if v})
        ing = dataclasses.replace(params.ingest, source=source or params.ingest.source, interactions=inter)
        _print(run(dataclasses.replace(params, generator=gen, ingest=ing), out))


@app.command()
def validate(
    params_file: ParamsOpt = PARAMS_FILE,
    raw: Annotated[Path | None, typer.Option(help="Landed batch [data/raw].")] = None,
    validated: Annotated[Path | None, typer.Option(help="Rows that passed [data/validated].")] = None,
    quarantine: Annotated[Path | None, typer.Option(
        help="Rejected rows with reasons [data/quarantine].")] = None,
    reports: Annotated[Path | None, typer.Option(
        help="Summary JSON + GE Data Docs [reports/validation].")] = None,
) -> None:
    """Check a landed batch with Great Expectations; route every row to validated or quarantine.

    Each quarantined row keeps its landed values plus the reasons (expectation:column).
    A batch that is unusable as a whole (schema broken, too many bad rows, size or null
    rates far from recent batches, stale) fails with exit code 1 and writes nothing downstream.
    """
    from shopfusion.validation.stage import StagePaths, run

    given = {"raw": raw, "validated": validated, "quarantine": quarantine, "reports": reports}
    paths = StagePaths(**{k: v for k, v in given.items() if v is not None})
    with _clear_errors():
        summary = run(load_params(params_file).validate, paths)
    tables = {n: {k: t[k] for k in ("rows_in", "validated", "quarantined", "by_reason")}
              for n, t in summary["tables"].items()}
    _print({"success": summary["success"], "tables": tables, "data_docs": summary["data_docs"]})


@app.command()
def features(
    params_file: ParamsOpt = PARAMS_FILE,
    profile: Annotated[str | None, typer.Option(
        help="Online store: sqlite | redis (default: features.profile).")] = None,
) -> None:
    """Compute features from validated events, register them in Feast, load the online store.

    Writes the Feast sources (Parquet) to data/features, applies the definitions in
    features/repo and materializes up to now into the online store (SQLite by default,
    Redis with --profile redis). Browse them with `feast -c features/repo ui`.
    """
    from shopfusion.features.stage import run

    with _clear_errors():
        cfg = load_params(params_file).features
        cfg = dataclasses.replace(cfg, profile=profile or cfg.profile)
        _print(run(cfg))


@app.command()
def train(
    params_file: ParamsOpt = PARAMS_FILE,
    model: Annotated[str | None, typer.Option(help="One model family (default: train.models).")] = None,
) -> None:
    """Fit model families on all validated events: the artifacts serving loads.

    Writes models/trained/<family>/model.pt and a manifest (data version, params, fit time).
    Training runs in this process with torch (CUDA + bf16 when present, CPU otherwise).
    """
    from shopfusion.training.stage import train_models

    with _clear_errors():
        _print(train_models(load_params(params_file).train, model))


@app.command()
def fuse(
    params_file: ParamsOpt = PARAMS_FILE,
    full: Annotated[bool, typer.Option(help="Fit the torch models from scratch, not warm.")] = False,
) -> None:
    """Tune fusion on the validation window and choose the method that serves.

    Models are fit on events before the validation cut (the torch ones continuing the previous
    run's fit there, train.warm_start) and scored on the window after it; weights and the
    stacker are tuned there, and the best of the best single model, weighted, RRF, Borda and
    the stacker on held-out validation users serves (train.fusion: auto). The test window is
    never read here. Writes models/fusion and models/warm/valid.
    """
    from shopfusion.training.stage import fuse as run_fuse

    with _clear_errors():
        _print(run_fuse(load_params(params_file).train, full=full))


@app.command()
def evaluate(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Score every model and fusion method once on the test window (full ranking).

    Writes reports/train/metrics.json (Recall/NDCG/HR@K, MRR, coverage, cold-start slices,
    sampled-100 metrics) and per-K curves (CSV + PNG).
    """
    from shopfusion.training.stage import evaluate as run_evaluate

    with _clear_errors():
        _print(run_evaluate(load_params(params_file).train)["summary"])


@app.command("leave-last-out")
def leave_last_out(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Single models under per-user leave-last-out (reports/train/leave_last_out.json), for
    comparison with published numbers; nothing downstream reads it."""
    from shopfusion.training.stage import leave_last_out_report

    with _clear_errors():
        _print(leave_last_out_report(load_params(params_file).train))


@app.command()
def benchmark(
    params_file: ParamsOpt = PARAMS_FILE,
    protocol: Annotated[str, typer.Option(help="leave-one-out (the paper protocol).")] = "leave-one-out",
    eval: Annotated[str, typer.Option(  # noqa: A002 (the user-facing option name)
        help="full (whole catalog less the user's history) | sampled100.")] = "full",
    models: Annotated[str | None, typer.Option(
        help="Comma-separated model families (default: train.models).")] = None,
    name: Annotated[str | None, typer.Option(help="Report name (default: the landed batch id).")] = None,
    patience: Annotated[int, typer.Option(
        help="Torch models stop after this many epochs without a better validation NDCG@10 (0: never).")] = 3,
    max_epochs: Annotated[int | None, typer.Option(
        help="Torch models' epoch cap (default: train.model_params).")] = None,
    max_users: Annotated[int | None, typer.Option(
        help="Evaluate a seeded sample of this many users (default: every user).")] = None,
) -> None:
    """Every model and fusion method on the validated data under per-user leave-one-out.

    Last interaction per user = test item, second-last = validation item (tunes fusion).
    Writes reports/benchmark/<name>.json and a Markdown table (HR/NDCG@10, MRR, fit time).
    Bring data with `shopfusion ingest --source interactions --path FILE`, then validate and
    features (item text), then this.
    """
    from shopfusion.training.benchmark import run as run_benchmark

    with _clear_errors():
        if protocol != "leave-one-out":
            raise ValueError(f"--protocol {protocol!r}: leave-one-out")
        chosen = [m.strip() for m in models.split(",")] if models else None
        report = run_benchmark(load_params(params_file).train, eval, chosen, name,
                               patience=patience, max_epochs=max_epochs, max_users=max_users)
        _print({"dataset": report["dataset"], **report["summary"],
                "table": f"reports/benchmark/{report['dataset']}.md"})


@app.command()
def package(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Export the trained models + fusion as one bundle (models/export) and save it in the
    BentoML model store (BENTOML_HOME). `shopfusion gate` decides whether it serves."""
    from shopfusion.serving.package import run

    with _clear_errors():
        _print(run(load_params(params_file)))


@app.command()
def gate(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Champion/challenger: promote the packaged model only if its NDCG@10 on the newest test
    window is not worse than the champion's beyond monitor.gate_tolerance."""
    from shopfusion.monitoring.gate import run

    with _clear_errors():
        _print(run(load_params(params_file)))


@app.command()
def monitor(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Evidently drift + quality report: the champion's reference vs events since its data
    ended, plus served-recommendation signals. Writes reports/monitor/decision.json
    (retrain_requested) and an HTML report, also browsable with
    `evidently ui --workspace reports/monitor/workspace`."""
    from shopfusion.monitoring.stage import run

    with _clear_errors():
        decision = run(load_params(params_file))
    _print({k: decision.get(k) for k in ("status", "drift", "failed_tests", "retrain_requested",
                                         "current_rows", "report", "champion", "reason")})


@app.command()
def rollback(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Make the previous champion the serving model again (then POST /admin/reload)."""
    from shopfusion.registry import Registry

    with _clear_errors():
        _print(Registry(load_params(params_file).serve.registry).rollback())


@app.command("params")
def show_params(params_file: ParamsOpt = PARAMS_FILE) -> None:
    """Print the effective, typed configuration (params.yaml merged over defaults)."""
    _print(dataclasses.asdict(load_params(params_file)))


if __name__ == "__main__":
    app()
