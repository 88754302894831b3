"""Which packaged model is the champion, and which ones were before it (for rollback).

A small JSON file beside the serving logs; every change is written atomically and appended
to the history, so a service reading it never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd


class Registry:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    def read(self) -> dict:
        if not self.path.exists():
            return {"champion": None, "history": []}
        return json.loads(self.path.read_text())

    @property
    def champion(self) -> str | None:
        return self.read()["champion"]

    def promote(self, tag: str, reason: str, **details) -> dict:
        state = self.read()
        entry = {"at": pd.Timestamp.now(tz="UTC").isoformat(), "action": "promote", "tag": tag,
                 "previous": state["champion"], "reason": reason, **details}
        state["champion"] = tag
        state["history"].append(entry)
        self._write(state)
        return entry

    def rollback(self) -> dict:
        """Make the champion before the current one champion again."""
        state = self.read()
        current = state["champion"]
        earlier = [h["previous"] for h in state["history"]
                   if h["action"] == "promote" and h["tag"] == current and h["previous"]]
        if not earlier:
            raise ValueError(f"rollback: no earlier champion than {current!r} in {self.path}")
        entry = {"at": pd.Timestamp.now(tz="UTC").isoformat(), "action": "rollback",
                 "tag": earlier[-1], "previous": current, "reason": "rollback requested"}
        state["champion"] = earlier[-1]
        state["history"].append(entry)
        self._write(state)
        return entry

    def _write(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.path)
