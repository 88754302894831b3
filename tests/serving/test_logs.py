"""JSON-lines logs: rows become JSON-ready records, and a torn last line is skipped on read."""

import time

import numpy as np
import pandas as pd

from shopfusion.serving.logs import JsonLog, records


def test_records_turn_every_kind_of_missing_into_null():
    frame = pd.DataFrame({
        "price": [1.5, np.nan], "user": pd.Series(["u1", None], dtype="string[pyarrow]"),
        "ts": [pd.Timestamp("2026-01-01", tz="UTC"), pd.NaT], "reasons": [["a"], ["b", "c"]],
        "n": pd.Series([1, None], dtype="Int64")})
    rows = records(frame)
    assert rows[1] == {"price": None, "user": None, "ts": None, "reasons": ["b", "c"], "n": None}
    assert rows[0]["price"] == 1.5 and rows[0]["user"] == "u1" and rows[0]["n"] == 1


def test_log_round_trip_skips_a_torn_line(tmp_path):
    log = JsonLog(tmp_path, "events", durable=True)
    log.append(records(pd.DataFrame({"event_id": ["e1", "e2"], "price": [1.0, np.nan]})))
    with open(log.files()[0], "a") as f:
        f.write('{"event_id": "e3", "pri')  # the process died mid-write
    read = log.read()
    assert list(read["event_id"]) == ["e1", "e2"] and read["price"].isna().tolist() == [False, True]


def test_a_moved_or_deleted_log_file_is_reopened_not_written_into_the_void(tmp_path):
    log = JsonLog(tmp_path / "logs", "events", durable=True)  # written at once
    log.append([{"n": 1}])
    first = log.files()[0]
    first.rename(tmp_path / "rotated.jsonl")  # log rotation moves the day's file away
    log.append([{"n": 2}])
    assert (tmp_path / "rotated.jsonl").read_text().count("\n") == 1
    assert list(log.read()["n"]) == [2]
    log.files()[0].unlink()
    log.append([{"n": 3}])
    assert list(log.read()["n"]) == [3]


def test_request_records_reach_the_file_in_the_background(tmp_path):
    log = JsonLog(tmp_path, "requests", durable=False, flush_s=0.05)
    log.append([{"n": 1}])
    deadline = time.monotonic() + 5
    while not log.files() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.files() and log.files()[0].read_text() == '{"n": 1}\n'
    log.append([{"n": 2}])
    assert list(log.read()["n"]) == [1, 2]  # read() writes what is pending first
