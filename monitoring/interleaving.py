"""Champion vs challenger on live traffic: team-draft interleaving and a sequential test.

Team-draft interleaving (Radlinski, Kurup & Joachims, CIKM 2008): the two rankings take turns
picking their best item not yet shown (a coin decides who picks first in each round), so each
shown item belongs to one team and position bias hits both alike. A click is credited to the
team whose item it was; an impression where one team got more clicks is a win for it, and
ties are left out.

The decision is Wald's sequential probability ratio test on the challenger's win share among
decided impressions (H0: 1/2, H1: `p1`): it may stop as soon as the evidence is strong either
way, with a false-promotion rate bounded by `alpha` however often it is looked at, which a
repeated fixed-sample test is not. Past `max_events` without a verdict the challenger is
rolled back: a model that cannot show it is better keeps the champion serving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHAMPION, CHALLENGER = 0, 1


def team_draft(champion: list, challenger: list, k: int, rng: np.random.Generator) -> tuple[list, list[int]]:
    """Interleave two rankings into k items; returns the items and each one's team."""
    lists, cursor, picks = (champion, challenger), [0, 0], [0, 0]
    shown: list = []
    teams: list[int] = []
    seen: set = set()
    while len(shown) < k:
        open_ = [t for t in (CHAMPION, CHALLENGER) if _next_new(lists[t], cursor[t], seen) is not None]
        if not open_:
            break
        fewer = min(open_, key=lambda t: picks[t])
        tied = len(open_) == 2 and picks[0] == picks[1]
        team = int(rng.integers(2)) if tied else fewer
        cursor[team] = _next_new(lists[team], cursor[team], seen)
        item = lists[team][cursor[team]]
        shown.append(item)
        teams.append(team)
        seen.add(item)
        picks[team] += 1
    return shown, teams


def _next_new(ranking: list, start: int, seen: set) -> int | None:
    for i in range(start, len(ranking)):
        if ranking[i] not in seen:
            return i
    return None


def winner(teams: list[int], clicked: list[bool]) -> int | None:
    """The team with more clicks on its items in one impression; None on a tie."""
    per_team = [sum(c for t, c in zip(teams, clicked) if t == team) for team in (CHAMPION, CHALLENGER)]
    if per_team[0] == per_team[1]:
        return None
    return CHALLENGER if per_team[1] > per_team[0] else CHAMPION


@dataclass(frozen=True)
class Sequential:
    """Wald's SPRT on the challenger's win share: promote, roll back, or keep collecting."""

    p1: float = 0.55  # the win share worth detecting
    alpha: float = 0.025  # bound on promoting a challenger that is not better
    beta: float = 0.2  # bound on rolling back one that wins p1 of the time
    min_events: int = 100  # decided impressions before any verdict
    max_events: int = 20_000  # no verdict by then: roll back

    def verdict(self, challenger_wins: int, champion_wins: int) -> str:
        n = challenger_wins + champion_wins
        if n < self.min_events:
            return "collecting"
        llr = (challenger_wins * math.log(self.p1 / 0.5)
               + champion_wins * math.log((1 - self.p1) / 0.5))
        if llr >= math.log((1 - self.beta) / self.alpha):
            return "promote"
        if llr <= math.log(self.beta / (1 - self.alpha)) or n >= self.max_events:
            return "rollback"
        return "collecting"
