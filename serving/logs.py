"""Append-only JSON-lines logs: the durable feedback event log and the request log.

Feedback is fsynced before the request is acknowledged (nothing accepted is lost if the
service dies); request records are flushed but not fsynced (losing the last few on a crash
only thins monitoring). Files roll daily, so the next ingest and the monitor read whole days.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pandas as pd


class JsonLog:
    def __init__(self, folder: Path, prefix: str, durable: bool):
        self.folder, self.prefix, self.durable = Path(folder), prefix, durable
        self._lock = threading.Lock()

    def path_for(self, day: str) -> Path:
        return self.folder / f"{self.prefix}-{day}.jsonl"

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        lines = "".join(json.dumps(r, default=str) + "\n" for r in records)
        day = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path_for(day), "a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                if self.durable:
                    os.fsync(f.fileno())

    def files(self) -> list[Path]:
        return sorted(self.folder.glob(f"{self.prefix}-*.jsonl"))

    def read(self) -> pd.DataFrame:
        """Every record of every day, `ts` as UTC times; a torn last line (crash mid-write) is
        skipped."""
        rows = []
        for path in self.files():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        frame = pd.DataFrame(rows)
        if "ts" in frame:
            frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
        return frame


def records(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts (missing values as null). Row by row: a request's
    few rows would spend longer in a whole-frame astype/where than in the rows themselves."""
    return [{k: None if _missing(v) else v for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def feedback_log(folder: Path) -> JsonLog:
    return JsonLog(folder, "events", durable=True)


def feedback_quarantine(folder: Path) -> JsonLog:
    return JsonLog(folder, "quarantine", durable=True)


def request_log(path: Path) -> JsonLog:
    return JsonLog(Path(path).parent, Path(path).stem, durable=False)
