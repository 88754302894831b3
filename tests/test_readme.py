"""README's figures are rendered from benchmarks/results.json: a figure edited by hand, or a
result re-measured without re-rendering, fails here."""

import json
from pathlib import Path

from benchmarks.readme_figures import FIGURES, render, stale_rows

REPO = Path(__file__).resolve().parents[1]


def results() -> dict:
    return json.loads((REPO / "benchmarks/results.json").read_text())


def test_readme_figures_match_results_json():
    stale = stale_rows((REPO / "README.md").read_text(), results())
    assert not stale, "re-render with `python -m benchmarks.readme_figures`:\n" + "\n".join(stale)


def test_a_changed_result_makes_the_readme_stale():
    readme, measured = (REPO / "README.md").read_text(), results()
    key = FIGURES[0][0]
    assert stale_rows(readme, {**measured, key: measured.get(key, 0.0) + 0.5})
    assert len(render(measured)) == len(FIGURES) + 2  # header, rule, one row a figure
