"""Interleaving on simulated shoppers (issue #23): how many events to tell a 5% better model
apart, and how often an identical one would be promoted.

Shoppers: each impression has 50 candidate items with click probabilities drawn from
Beta(0.3, 10) (mean 3%); a shopper looks at position i with probability 1/log2(i + 2) and
clicks a looked-at item with its probability (~0.55 clicks per top-10 impression). A model
ranks the candidates by probability plus Gaussian noise: less noise, a better model. The
challenger's noise is calibrated so that, served alone, its top-10 gets 1.05x the champion's
clicks per impression (a 5% relative CTR difference, measured on 100k simulated impressions
each). Interleaved impressions (team draft) then feed the sequential test in
monitoring/interleaving.py until it decides. The test is set for the win share such a
challenger gets among decided impressions (measured first, on 20k of them), with alpha 0.025
(a 95% two-sided confidence) and beta 0.2.

Keys: interleaving_win_share_5pct; interleaving_events_to_detect_5pct (median decided
impressions to promote the 5% better challenger, over 20 seeds), _clicks_ and _impressions_
the same in clicks and in all impressions; interleaving_power_5pct (share of the 20 runs that
promoted it); interleaving_false_promotions_of_20 (A/A: the champion against itself);
interleaving_worse_promotions_of_20 (the challenger 5% worse).

Run: python -m benchmarks.bench_interleaving (~1 min)
"""

from __future__ import annotations

import json

import numpy as np

from benchmarks.common import record
from shopfusion.monitoring.interleaving import CHALLENGER, Sequential, team_draft, winner

CANDIDATES, K, RUNS, CHAMPION_NOISE = 50, 10, 20, 0.03
EXAMINE = 1 / np.log2(np.arange(K) + 2)


RELEVANCE = (0.3, 10.0)  # Beta parameters of an item's click probability


def impression(rng: np.random.Generator) -> np.ndarray:
    return rng.beta(*RELEVANCE, CANDIDATES)


def ranking(p: np.ndarray, noise: float, rng: np.random.Generator) -> list[int]:
    return list(np.argsort(-(p + rng.normal(0, noise, len(p))))[:K])


def clicks(p: np.ndarray, shown: list[int], rng: np.random.Generator) -> np.ndarray:
    return rng.random(len(shown)) < EXAMINE[: len(shown)] * p[shown]


def ctr_alone(noise: float, n: int = 100_000, seed: int = 0) -> float:
    """Clicks per impression of a model served alone (vectorised over impressions)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(*RELEVANCE, (n, CANDIDATES))
    top = np.argsort(-(p + rng.normal(0, noise, p.shape)), axis=1)[:, :K]
    return float((rng.random((n, K)) < EXAMINE * np.take_along_axis(p, top, 1)).sum(1).mean())


def calibrate(ratio: float) -> float:
    """The noise at which a model's CTR alone is `ratio` x the champion's (bisection)."""
    target, (lo, hi) = ratio * ctr_alone(CHAMPION_NOISE), (0.0, 1.0)
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ctr_alone(mid) > target else (lo, mid)
    return (lo + hi) / 2


def interleaved(champion_noise: float, challenger_noise: float | None, rng: np.random.Generator):
    """Decided impressions, one at a time: (winning team, clicks, impressions it took)."""
    impressions = 0
    while True:
        impressions += 1
        p = impression(rng)
        a = ranking(p, champion_noise, rng)
        b = a if challenger_noise is None else ranking(p, challenger_noise, rng)
        shown, teams = team_draft(a, b, K, rng)
        clicked = clicks(p, shown, rng)
        won = winner(teams, list(clicked))
        if won is not None:
            yield won, int(clicked.sum()), impressions
            impressions = 0


def win_share(challenger_noise: float, n: int = 20_000, seed: int = 10_000) -> float:
    events = interleaved(CHAMPION_NOISE, challenger_noise, np.random.default_rng(seed))
    return float(np.mean([next(events)[0] == CHALLENGER for _ in range(n)]))


def run(champion_noise: float, challenger_noise: float | None, seed: int, test: Sequential) -> dict:
    """Interleave until the test decides; challenger None = the champion itself (A/A)."""
    wins, decided_clicks, impressions = [0, 0], 0, 0
    for won, n_clicks, took in interleaved(champion_noise, challenger_noise, np.random.default_rng(seed)):
        wins[won] += 1
        decided_clicks, impressions = decided_clicks + n_clicks, impressions + took
        verdict = test.verdict(wins[CHALLENGER], wins[1 - CHALLENGER])
        if verdict != "collecting":
            return {"verdict": verdict, "events": sum(wins), "clicks": decided_clicks,
                    "impressions": impressions}
    raise AssertionError("unreachable: the stream of impressions does not end")


def main() -> None:
    better, worse = calibrate(1.05), calibrate(0.95)
    share = win_share(better)
    test = Sequential(p1=share, alpha=0.025, beta=0.2, max_events=200_000)
    print(f"noise: champion {CHAMPION_NOISE}, 5% better {better:.4f}, 5% worse {worse:.4f}; "
          f"CTR alone {ctr_alone(CHAMPION_NOISE):.4f} / {ctr_alone(better):.4f} / {ctr_alone(worse):.4f}; "
          f"the better one's win share {share:.4f}")
    runs = {name: [run(CHAMPION_NOISE, noise, seed, test) for seed in range(RUNS)]
            for name, noise in (("better", better), ("same", None), ("worse", worse))}
    promoted = [r for r in runs["better"] if r["verdict"] == "promote"]
    figures = {
        "interleaving_win_share_5pct": share,
        "interleaving_events_to_detect_5pct": float(np.median([r["events"] for r in promoted])),
        "interleaving_clicks_to_detect_5pct": float(np.median([r["clicks"] for r in promoted])),
        "interleaving_impressions_to_detect_5pct": float(np.median([r["impressions"] for r in promoted])),
        "interleaving_power_5pct": len(promoted) / RUNS,
        "interleaving_false_promotions_of_20": sum(r["verdict"] == "promote" for r in runs["same"]),
        "interleaving_worse_promotions_of_20": sum(r["verdict"] == "promote" for r in runs["worse"]),
    }
    print(json.dumps(figures, indent=2))
    record(**figures)


if __name__ == "__main__":
    main()
