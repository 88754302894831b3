"""Do two checkouts' pipelines report the same metrics? (a refactor must not move a figure)

    python -m benchmarks.compare_metrics BEFORE_ROOT AFTER_ROOT [--record PREFIX]

Compares every number in reports/train/metrics.json (fit times aside) of two projects after
`dvc repro`, and the trained artifacts byte for byte.
"""

from __future__ import annotations

import argparse
import filecmp
import json
from pathlib import Path

from benchmarks.common import record


def numbers(report: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in report.items():
        if key in ("fit_seconds", "data_version"):
            continue
        if isinstance(value, dict):
            out.update(numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float | list):
            out[prefix + key] = value
    return out


def trained(root: Path, name: str) -> Path:
    """A family's model file, in the layout before (models/<f>) or after (models/trained/<f>)."""
    newer = root / "models/trained" / name / "model.pt"
    return newer if newer.exists() else root / "models" / name / "model.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--record", help="results.json key prefix for the counts")
    args = parser.parse_args()
    a, b = (numbers(json.loads((root / "reports/train/metrics.json").read_text()))
            for root in (args.before, args.after))
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    models = json.loads((args.after / "models/fusion/fusion.json").read_text())["weights"]
    differ = [m for m in models
              if not filecmp.cmp(trained(args.before, m), trained(args.after, m), shallow=False)]
    print(json.dumps({"compared": len(a), "changed": changed, "model_files_differing": differ}, indent=2))
    if args.record:
        record(**{f"{args.record}_metric_keys_compared": len(a),
                  f"{args.record}_metric_keys_changed": len(changed),
                  f"{args.record}_model_files_differing": len(differ)})


if __name__ == "__main__":
    main()
