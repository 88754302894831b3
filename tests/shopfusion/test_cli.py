"""The `shopfusion` CLI: helpful --help, stages runnable, clear one-line errors."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shopfusion.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", ["ingest", "validate", "features", "train", "fuse", "evaluate",
                                     "benchmark", "params"])
def test_each_subcommand_explains_itself(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--params" in result.output


def test_top_level_help_lists_the_stages():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for stage in ("ingest", "validate", "features", "train", "fuse", "evaluate"):
        assert stage in result.output


def test_installed_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "shopfusion.cli", "--help"],
                         capture_output=True, text=True, check=True)
    assert "pipeline stage" in out.stdout


def test_ingest_then_validate_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["ingest", "--events", "3000", "--corrupt-rate", "0.01"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["corrupted_rows"] == 180
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["tables"]["events"]
    assert events["rows_in"] == events["validated"] + events["quarantined"] == 3000
    assert (tmp_path / "data/validated/events.parquet").is_file()


def test_bad_params_fail_with_one_clear_line(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("generator:\n  n_evnts: 5\n")
    result = runner.invoke(app, ["ingest", "--params", str(bad)])
    assert result.exit_code == 1
    assert "unknown key(s) ['n_evnts']" in result.output
    assert "Traceback" not in result.output


def test_validate_without_a_landed_batch_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert "run `shopfusion ingest` first" in result.output
