"""The generic interaction-log adapter: each format on small files, malformed lines kept and
quarantined with their reason, full-history loads, and clear errors for a file it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopfusion.adapters.interactions import has_item_text, land, parse_map, parse_times
from shopfusion.cli import app
from shopfusion.config import InteractionsConfig, ValidateConfig
from shopfusion.io import read_parquet
from shopfusion.validation.stage import PARSE_REASON, StagePaths
from shopfusion.validation.stage import run as validate

GOOD = [("u1", "i1", 1600000000, 5), ("u1", "i2", 1600000100, 3), ("u2", "i1", 1600000200, 1),
        ("u2", "i3", 1600000300, 4), ("u3", "i2", 1600000400, 4), ("u3", "i3", 1600000500, 2),
        ("u4", "i1", 1600000600, 5), ("u4", "i2", 1600000700, 4), ("u5", "i3", 1600000800, 3),
        ("u5", "i1", 1600000900, 5)]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def landed_events(out: Path) -> pd.DataFrame:
    return read_parquet(out / "events").sort_values("event_id", key=lambda s: s.str[3:].astype(int))


def validated(tmp_path: Path, out: Path) -> dict:
    paths = StagePaths(raw=out, validated=tmp_path / "validated", quarantine=tmp_path / "quarantine",
                       reports=tmp_path / "reports", history=tmp_path / "history.jsonl")
    summary = validate(ValidateConfig(data_docs=False), paths, now=pd.Timestamp("2026-01-01", tz="UTC"))
    quarantine = pd.read_parquet(paths.quarantine / "events.parquet")
    return {"summary": summary["tables"]["events"], "quarantine": quarantine,
            "validated": pd.read_parquet(paths.validated / "events.parquet")}


def test_a_csv_log_with_ratings_lands_whole_and_bad_lines_are_quarantined_with_their_reason(tmp_path):
    lines = ["user_id,item_id,timestamp,rating"] + [",".join(map(str, r)) for r in GOOD] + [
        "u6,i1,not-a-time,4",        # a time it cannot read
        "u6,i2,1600001000",           # a field short
        "u7,i3,1600001100,4,extra",   # a field too many
    ]
    out = tmp_path / "raw"
    manifest = land(InteractionsConfig(path=str(write_lines(tmp_path / "log.csv", lines))), out)
    assert manifest["events"] == 13 and manifest["malformed_lines"] == 2 and manifest["users"] == 6
    events = landed_events(out)
    assert events["event_type"].tolist()[:3] == ["purchase", "click", "view"]  # 5, 3, 1 by rating_events
    assert events["ts"].iloc[0] == pd.Timestamp(1600000000, unit="s", tz="UTC")
    assert events["session_id"].iloc[0] == "u1-20200913"  # one user's day, when the log has no sessions

    checked = validated(tmp_path, out)
    assert checked["summary"]["rows_in"] == 13 and len(checked["validated"]) == 10
    bad = checked["quarantine"]
    assert len(bad) == 3 and all(PARSE_REASON in r for r in bad["reasons"])
    assert bad["parse_error"].str.contains("cannot read not-a-time as a time").sum() == 1
    assert bad["parse_error"].str.contains("wrong number of fields: 'u7,i3,1600001100,4,extra'").sum() == 1


def test_timestamps_in_seconds_milliseconds_and_iso_strings():
    text = pd.Series(["1600000000", "1600000000000", "2020-09-13T12:26:40Z", "2020-09-13 12:26:40+00:00",
                      "yesterday", None], dtype="string")
    ts = parse_times(text, "auto")
    assert (ts.iloc[:4] == pd.Timestamp("2020-09-13 12:26:40", tz="UTC")).all()
    assert ts.iloc[4:].isna().all()
    assert parse_times(text, "ms").iloc[0] == pd.Timestamp(1600000, unit="s", tz="UTC")


def test_a_tsv_with_its_own_event_names_and_a_column_map(tmp_path):
    lines = ["visitor\tthing\twhen\taction"] + [f"{u}\t{i}\t{t}\t{a}" for (u, i, t, _), a in
                                                zip(GOOD, ["pv", "cart", "buy", "pv", "fav"] * 2)]
    cfg = InteractionsConfig(path=str(write_lines(tmp_path / "log.tsv", lines)),
                             map=parse_map("user=visitor,item=thing,ts=when,event=action"),
                             event_values={"pv": "view", "cart": "add_to_cart", "buy": "purchase"})
    land(cfg, tmp_path / "raw")
    checked = validated(tmp_path, tmp_path / "raw")
    assert sorted(checked["validated"]["event_type"].unique()) == ["add_to_cart", "purchase", "view"]
    assert (checked["quarantine"]["event_type"] == "fav").sum() == 2  # not a contract event
    assert all("expect_column_values_to_be_in_set:event_type" in r for r in checked["quarantine"]["reasons"])


def test_parquet_read_in_chunks_lands_what_one_read_lands(tmp_path):
    frame = pd.DataFrame(GOOD, columns=["uid", "iid", "ts", "rating"])
    frame.to_parquet(tmp_path / "log.parquet")
    whole = land(InteractionsConfig(path=str(tmp_path / "log.parquet")), tmp_path / "one")
    parts = land(InteractionsConfig(path=str(tmp_path / "log.parquet"), chunk_rows=3), tmp_path / "many")
    assert whole["events"] == parts["events"] == 10
    assert len(list((tmp_path / "many" / "events").rglob("*.parquet"))) > len(
        list((tmp_path / "one" / "events").rglob("*.parquet")))
    pd.testing.assert_frame_equal(landed_events(tmp_path / "one").reset_index(drop=True),
                                  landed_events(tmp_path / "many").reset_index(drop=True))


def test_recbole_atomic_files_bring_their_item_file(tmp_path):
    inter = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"] + [
        f"{u}\t{i}\t{r}\t{t}" for u, i, t, r in GOOD]
    write_lines(tmp_path / "shop.inter", inter)
    write_lines(tmp_path / "shop.item", ["item_id:token\tmovie_title:token_seq\tclass:token_seq",
                                         "i1\tHeat\tAction Crime", "i2\tClue\tComedy",
                                         "i3\tAlien\tHorror Sci-Fi"])
    manifest = land(InteractionsConfig(path=str(tmp_path / "shop.inter")), tmp_path / "raw")
    assert manifest["format"] == "recbole" and manifest["item_file"].endswith("shop.item")
    catalog = pd.read_parquet(tmp_path / "raw" / "catalog.parquet").set_index("item_id")
    assert catalog.loc["i1", "title"] == "Heat" and catalog.loc["i3", "category_path"] == "Horror"
    assert catalog.loc["i1", "created_at"] == pd.Timestamp(1600000000, unit="s", tz="UTC")  # its first event
    assert manifest["item_text"] and has_item_text(catalog.reset_index())


def test_sequence_files_keep_each_users_order_and_flag_lines_without_items(tmp_path):
    per_user = write_lines(tmp_path / "seq.txt", ["1 10 11 12", "2 11 13", "3", "4 10"])
    manifest = land(InteractionsConfig(path=str(per_user)), tmp_path / "raw")
    assert manifest["timestamps"] == "synthesized from file order" and manifest["malformed_lines"] == 1
    events = landed_events(tmp_path / "raw")
    ok = events.dropna(subset=["user_id"])
    assert ok["item_id"].tolist() == ["10", "11", "12", "11", "13", "10"]
    assert ok["ts"].is_monotonic_increasing and ok["ts"].iloc[0] == pd.Timestamp("2020-01-01", tz="UTC")
    assert events["parse_error"].dropna().tolist() == ["no item on the line: '3'"]
    assert not manifest["item_text"]  # ids only: the text model is skipped downstream

    per_step = write_lines(tmp_path / "steps.txt", ["1 10", "1 11", "2 11", "1 12"])
    land(InteractionsConfig(path=str(per_step)), tmp_path / "raw2")
    steps = landed_events(tmp_path / "raw2")
    assert steps[steps["user_id"] == "1"]["item_id"].tolist() == ["10", "11", "12"]


def test_a_log_spanning_years_is_not_cut_by_the_event_time_window(tmp_path):
    years = [(f"u{k % 7}", f"i{k % 5}", 1262304000 + k * 86400 * 30, 4) for k in range(60)]  # 2010-2014
    rows = ["user,item,time,rating"] + [",".join(map(str, r)) for r in years]
    path = write_lines(tmp_path / "long.csv", rows)
    land(InteractionsConfig(path=str(path)), tmp_path / "raw")
    checked = validated(tmp_path, tmp_path / "raw")
    assert len(checked["validated"]) == 60  # window_days is 400: a later batch would still be windowed

    land(InteractionsConfig(path=str(path), full_history=False), tmp_path / "raw2")
    with pytest.raises(RuntimeError, match="expect_column_values_to_be_between:ts"):
        validated(tmp_path / "again", tmp_path / "raw2")


def test_a_file_it_cannot_read_is_one_clear_line_at_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_lines(tmp_path / "log.csv", ["who,what", "a,b"])
    result = CliRunner().invoke(app, ["ingest", "--source", "interactions", "--path", "log.csv"])
    assert result.exit_code == 1 and "no user or item column" in result.output
    assert "--map user=COLUMN" in result.output
    result = CliRunner().invoke(app, ["ingest", "--source", "interactions", "--path", "log.csv",
                                      "--map", "user=who,item=what"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events"] == 1
    result = CliRunner().invoke(app, ["ingest", "--source", "interactions", "--path", "nothing.csv"])
    assert result.exit_code == 1 and "data file not found" in result.output
    with pytest.raises(ValueError, match="fields: user, item"):
        parse_map("person=who")
    with pytest.raises(ValueError, match="format"):
        land(InteractionsConfig(path=str(write_lines(tmp_path / "log.dat", ["x"]))), tmp_path / "raw")
