"""Run the rules as Great Expectations suites (file-mode context) and build Data Docs."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from shopfusion.validation.rules import Rule

DATASOURCE = "shopfusion"
DOCS_INDEX = "gx/uncommitted/data_docs/local_site/index.html"


def _context(project_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    if project_dir is None:
        ctx = gx.get_context(mode="ephemeral")
    else:
        project_dir.mkdir(parents=True, exist_ok=True)
        ctx = gx.get_context(mode="file", project_root_dir=str(project_dir))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _batch_definition(ctx, name: str):
    ds = ctx.data_sources.add_or_update_pandas(DATASOURCE)
    try:
        asset = ds.get_asset(name)
    except LookupError:
        asset = ds.add_dataframe_asset(name)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _reason(expectation_type: str, kwargs: dict) -> str:
    cols = kwargs.get("column_list") or [kwargs.get("column")]
    return f"{expectation_type}:{'+'.join(str(c) for c in cols)}"


def _ge_frame(df: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """The columns the suite reads, text as categoricals: same values, but GE's whole-frame
    fingerprint and its null/set/duplicate metrics then hash small integer codes."""
    used = sorted({c for r in rules if r.in_ge for c in r.columns}) or list(df.columns)
    return pd.DataFrame({c: df[c].astype("category") if df[c].dtype == "string" else df[c]
                         for c in used})


def run_suites(tables: dict[str, tuple[pd.DataFrame, list[Rule]]], project_dir: Path | None,
               result_format: str = "BASIC") -> dict[str, dict[str, dict]]:
    """Validate each table with its GE suite; returns {table: {reason: {success, unexpected}}}.

    With a project_dir the context is persisted there and Data Docs are rebuilt each run.
    """
    import great_expectations as gx

    ctx = _context(project_dir)
    out: dict[str, dict[str, dict]] = {}
    for name, (df, rules) in tables.items():
        suite = ctx.suites.add_or_update(gx.ExpectationSuite(
            name=name, expectations=[r.to_ge() for r in rules if r.in_ge]))
        vd = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=_batch_definition(ctx, name), suite=suite))
        checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
            name=name, validation_definitions=[vd], result_format=result_format))
        result = checkpoint.run(batch_parameters={"dataframe": _ge_frame(df, rules)})
        (suite_result,) = result.run_results.values()
        out[name] = {
            _reason(r.expectation_config.type, r.expectation_config.kwargs): {
                "success": bool(r.success),
                "unexpected": r.result.get("unexpected_count"),
                "error": r.exception_info.get("exception_message")
                if r.exception_info.get("raised_exception") else None,
            }
            for r in suite_result.results
        }
    if project_dir:
        ctx.build_data_docs()  # once for all tables, rather than an action per checkpoint
    return out
