"""Events arriving by request (/feedback): the batch's rules, on Python values.

One event through the pandas twins costs ~7 ms of per-call overhead (casts, masks, routing
on one-row frames): a third of a click's way to the next recommendation. The row twins
(rules.py) route the same few events in well under a millisecond. They take values of the
request model's types (str, int, float, datetime or None); a request with anything else, or
with more than `row_path_max_events` events, goes through the pandas twins.
tests/validation/test_rows.py property-tests that both paths route every batch alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from shopfusion.config import ValidateConfig
from shopfusion.contracts import EVENTS
from shopfusion.validation.route import TYPE_REASON, records
from shopfusion.validation.rules import event_rules
from shopfusion.validation.stage import accepted_until, check_events, newest_of, window_below


@dataclass
class RoutedEvents:
    validated: list[dict]  # contract-typed values, None for null
    quarantine: list[dict]  # each event as received (contract columns), plus `reasons`


def route_events(events: list[dict], item_ids: pd.Index, cfg: ValidateConfig, now: pd.Timestamp,
                 newest_known: pd.Timestamp | None = None) -> RoutedEvents:
    """Validated and quarantined events, by the row twins where they apply, else by pandas.
    `newest_known`: the newest event of the data these will join (the served bundle's end), so
    the time window is the one the next batch validation applies to them."""
    raw = [{name: e.get(name) for name in EVENTS.names} for e in events]
    if len(raw) <= cfg.row_path_max_events and all(
            c.takes(r[c.name]) for r in raw for c in EVENTS.columns):
        return _route_rows(raw, item_ids, cfg, now, newest_known)
    routed = check_events(pd.DataFrame(raw, columns=EVENTS.names), item_ids, cfg, now, newest_known).routed
    return RoutedEvents(records(routed.validated), records(routed.quarantine))


def _route_rows(raw: list[dict], item_ids: pd.Index, cfg: ValidateConfig, now: pd.Timestamp,
                newest_known: pd.Timestamp | None) -> RoutedEvents:
    typed = [{} for _ in raw]
    wrong_type = {}  # reason -> flags, in column order as the pandas cast reports them
    for column in EVENTS.columns:
        for i, (row, event) in enumerate(zip(typed, raw)):
            try:
                row[column.name] = column.cast_value(event[column.name])
            except (ValueError, OverflowError):
                row[column.name] = None
                wrong_type.setdefault(TYPE_REASON.format(column.name), [False] * len(raw))[i] = True
    hi = accepted_until(now, cfg)
    newest = max((r["ts"] for r in typed if r["ts"] is not None and r["ts"] <= hi), default=pd.NaT)
    rules = event_rules(EVENTS, item_ids, window_below(newest_of(newest, newest_known), hi, cfg),
                        cfg.max_price)
    flags = {**wrong_type, **{rule.reason: rule.violates_rows(typed) for rule in rules}}
    out = RoutedEvents([], [])
    for i, (row, event) in enumerate(zip(typed, raw)):
        reasons = [name for name, flagged in flags.items() if flagged[i]]
        if reasons:
            out.quarantine.append({**event, "reasons": reasons})
        else:
            out.validated.append(row)
    return out
