"""Entry point for the Feast CLI (`feast -c features/repo apply`, `feast -c features/repo ui`).

The definitions live in shopfusion.features.definitions; this file only points them at the
project's data/features folder with the settings in params.yaml.
"""

from pathlib import Path

from shopfusion.config import load_params
from shopfusion.features.definitions import build

ROOT = Path(__file__).resolve().parents[2]
objects = build(ROOT / "data" / "features", load_params(ROOT / "params.yaml").features)
globals().update({obj.name: obj for obj in objects})
