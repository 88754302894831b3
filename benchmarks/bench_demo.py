"""The demo as a new user meets it: `git clone` -> `make demo`, until the service and Airflow are up.

Clones this checkout's HEAD into a fresh folder (no .venv, no data, no DVC cache), runs
`make demo` there with its output time-stamped line by line, and splits the wall time into
install, each `dvc repro` stage (from DVC's "Running stage" lines), serve and Airflow start.
Stops the service and Airflow afterwards.

Keys: demo_wall_s, demo_install_s, demo_serve_up_s, demo_airflow_up_s, pipeline_stage_<name>_s
(`train@sasrec` -> pipeline_stage_train_sasrec_s).

Run: python -m benchmarks.bench_demo [--dir /tmp/demo-bench] [--rev REV] [--no-record]
(`--rev`: an earlier commit, e.g. the one before warm starts, for a before/after on one box)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.common import machine, record

REPO = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"Running stage '([^']+)'")
REPRO_DONE = "Validation summary:"  # the demo's first line after `dvc repro`
SERVED = "Serving on http"
AIRFLOW_START = "scripts/airflow.sh start"


def timed_lines(cmd: list[str], cwd: Path, log: Path) -> list[tuple[float, str]]:
    """Run `cmd`, keeping every output line with the seconds since the start it appeared at."""
    start, lines = time.monotonic(), []
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "BENTOML_HOME")}
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p)
    with subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, bufsize=1) as proc, log.open("w") as out:
        for line in proc.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
            out.write(f"{lines[-1][0]:8.1f} {line}")
            out.flush()
    if proc.returncode != 0:
        raise SystemExit(f"make demo failed (exit {proc.returncode}); its output: {log}")
    lines.append((time.monotonic() - start, "<exit>"))
    return lines


def phases(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Wall time per phase, from the time-stamped output of `make demo`."""
    def first(marker: str) -> float:
        return next(t for t, line in lines if marker in line)

    stages = [(t, STAGE.search(line).group(1)) for t, line in lines if STAGE.search(line)]
    repro_end, served = first(REPRO_DONE), first(SERVED)
    out = {"demo_wall_s": lines[-1][0], "demo_install_s": stages[0][0],
           "demo_serve_up_s": served - repro_end, "demo_airflow_up_s": lines[-1][0] - first(AIRFLOW_START)}
    for (t, name), (t_next, _) in zip(stages, [*stages[1:], (repro_end, "")]):
        out[f"pipeline_stage_{re.sub(r'[^a-z0-9]+', '_', name.lower())}_s"] = t_next - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/demo-bench"))
    parser.add_argument("--rev", help="check out this commit in the clone (default: HEAD)")
    parser.add_argument("--no-record", action="store_true", help="print, do not write results.json")
    args = parser.parse_args()
    if args.dir.exists():
        subprocess.run(["make", "-s", "stop", "airflow-stop"], cwd=args.dir, capture_output=True)
        shutil.rmtree(args.dir)
    subprocess.run(["git", "clone", "-q", str(REPO), str(args.dir)], check=True)
    if args.rev:
        subprocess.run(["git", "checkout", "-q", args.rev], cwd=args.dir, check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.dir, capture_output=True,
                            text=True).stdout.strip()
    try:
        lines = timed_lines(["make", "demo"], args.dir, args.dir / "demo-timed.log")
    finally:
        subprocess.run(["make", "-s", "stop", "airflow-stop"], cwd=args.dir, capture_output=True)
    figures = phases(lines)
    print(json.dumps({"commit": commit, "machine": machine(), **{k: round(v, 1) for k, v in figures.items()}},
                     indent=2))
    if not args.no_record:
        record(**figures)


if __name__ == "__main__":
    main()
