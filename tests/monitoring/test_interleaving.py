"""Team-draft interleaving and the sequential test that judges it."""

import hypothesis.strategies as st
import numpy as np
from hypothesis import given, settings

from shopfusion.monitoring.interleaving import CHALLENGER, CHAMPION, Sequential, team_draft, winner

rankings = st.lists(st.integers(0, 30), max_size=15, unique=True)


@settings(max_examples=200, deadline=None)
@given(rankings, rankings, st.integers(1, 12), st.integers(0, 10_000))
def test_every_item_shows_once_from_the_team_that_ranked_it_and_teams_stay_even(a, b, k, seed):
    shown, teams = team_draft(a, b, k, np.random.default_rng(seed))
    assert len(shown) == len(set(shown)) == len(teams) == min(k, len(set(a) | set(b)))
    for item, team in zip(shown, teams):
        assert item in (a, b)[team]
    for n in range(1, len(shown) + 1):  # while both lists have new items, picks differ by at most one
        if all(set(r) - set(shown[:n]) for r in (a, b)):
            assert abs(teams[:n].count(CHAMPION) - teams[:n].count(CHALLENGER)) <= 1
    # each team's items appear in the order that team ranked them
    for team, ranking in ((CHAMPION, a), (CHALLENGER, b)):
        mine = [i for i, t in zip(shown, teams) if t == team]
        assert mine == sorted(mine, key=ranking.index)


def test_a_click_is_credited_to_the_team_whose_item_it_was():
    assert winner([0, 1, 0, 1], [False, True, False, False]) == CHALLENGER
    assert winner([0, 1, 0, 1], [True, True, False, False]) is None
    assert winner([0, 1, 0, 1], [True, False, True, True]) == CHAMPION


def simulate(share: float, seed: int, test: Sequential) -> str:
    """Decided impressions where the challenger wins with probability `share`."""
    rng = np.random.default_rng(seed)
    wins = [0, 0]
    while (verdict := test.verdict(wins[CHALLENGER], wins[CHAMPION])) == "collecting":
        wins[CHALLENGER if rng.random() < share else CHAMPION] += 1
    return verdict


def test_a_better_challenger_is_promoted_and_a_worse_or_equal_one_rolled_back():
    test = Sequential(p1=0.55, alpha=0.025, beta=0.2, min_events=100, max_events=20_000)
    runs = range(40)
    assert sum(simulate(0.58, s, test) == "promote" for s in runs) >= 36  # power well above 1 - beta
    assert sum(simulate(0.45, s, test) == "promote" for s in runs) == 0
    assert sum(simulate(0.50, s, test) == "promote" for s in runs) <= 4  # alpha 2.5%: ~1 of 40


def test_no_verdict_before_the_minimum_and_none_left_open_at_the_maximum():
    test = Sequential(min_events=100, max_events=1_000)
    assert test.verdict(99, 0) == "collecting"
    assert test.verdict(500, 500) == "rollback"
