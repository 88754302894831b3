"""Append-only JSON-lines logs: the durable feedback event log and the request log.

Feedback is fsynced before the request is acknowledged (nothing accepted is lost if the
service dies). Request records are handed to a writer thread that appends them every
`flush_s` and at exit (losing the last fraction of a second on a crash only thins
monitoring): a write per request would make each request, back from its syscall, queue for
the GIL behind the event loop. Files roll daily, so the next ingest and the monitor read
whole days. Used by the service (writes), ingest and the monitor (read).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path

import pandas as pd


class JsonLog:
    def __init__(self, folder: Path, prefix: str, durable: bool, flush_s: float = 0.2):
        self.folder, self.prefix, self.durable, self.flush_s = Path(folder), prefix, durable, flush_s
        self._lock = threading.RLock()  # the open file; a flush holds it so batches keep their order
        self._pending_lock = threading.Lock()  # a request never waits for the file
        self._file, self._file_id = None, None  # the open day file and its (device, inode)
        self._pending: list[tuple[Path, list[dict]]] = []  # not durable: waiting for the writer
        self._writer: threading.Thread | None = None

    def path_for(self, day: str) -> Path:
        return self.folder / f"{self.prefix}-{day}.jsonl"

    def append(self, records: list[dict]) -> None:
        if not records:
            return
        path = self.path_for(time.strftime("%Y-%m-%d", time.gmtime()))
        if self.durable:
            return self._write(path, records)
        with self._pending_lock:
            self._pending.append((path, records))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_every_flush_s, daemon=True,
                                                name=f"{self.prefix}-log-writer")
                self._writer.start()
                atexit.register(self.flush)

    def flush(self) -> None:
        """Write what is pending now (the writer thread does this every flush_s)."""
        with self._lock:
            with self._pending_lock:
                pending, self._pending = self._pending, []
            for path, records in pending:
                self._write(path, records)

    def _write_every_flush_s(self) -> None:
        while True:
            time.sleep(self.flush_s)
            self.flush()

    def _write(self, path: Path, records: list[dict]) -> None:
        lines = "".join(json.dumps(r, default=str) + "\n" for r in records)
        with self._lock:
            f = self._open(path)
            f.write(lines)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())

    def _open(self, path: Path):
        """The file kept open between writes, reopened when the day rolls or the file was
        moved or deleted (as logging's WatchedFileHandler does), so nothing is written to a
        lost inode."""
        try:
            stat = os.stat(path)
            current = self._file is not None and (stat.st_dev, stat.st_ino) == self._file_id
        except FileNotFoundError:
            current = False
        if not current:
            if self._file is not None:
                self._file.close()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open on purpose)
            stat = os.fstat(self._file.fileno())
            self._file_id = (stat.st_dev, stat.st_ino)
        return self._file

    def files(self) -> list[Path]:
        return sorted(self.folder.glob(f"{self.prefix}-*.jsonl"))

    def read(self) -> pd.DataFrame:
        """Every record of every day, `ts` as UTC times; a torn last line (crash mid-write) is
        skipped."""
        self.flush()
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


def feedback_log(folder: Path) -> JsonLog:
    return JsonLog(folder, "events", durable=True)


def feedback_quarantine(folder: Path) -> JsonLog:
    return JsonLog(folder, "quarantine", durable=True)


def request_log(path: Path) -> JsonLog:
    return JsonLog(Path(path).parent, Path(path).stem, durable=False)
