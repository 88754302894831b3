"""JSON-lines logs: a torn last line is skipped on read; a moved file is reopened; request records
are written in the background."""

import time

from shopfusion.logs import JsonLog


def test_log_round_trip_skips_a_torn_line(tmp_path):
    log = JsonLog(tmp_path, "events", durable=True)
    log.append([{"event_id": "e1", "price": 1.0}, {"event_id": "e2", "price": None}])
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
