"""Shared benchmark helpers: record figures in results.json and describe the machine."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")


def record(**figures: float) -> None:
    """Merge figures into the flat results.json (other keys are kept)."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.update({k: round(float(v), 4) for k, v in figures.items()})
    RESULTS.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
