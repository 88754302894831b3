"""What a running service holds beyond the engine: the champion from the model store, online
features, the durable feedback log, the request log. Framework-free, so tests can drive it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.bundle import champion_bundle, champion_history
from shopfusion.config import Params
from shopfusion.logs import feedback_log, feedback_quarantine, request_log
from shopfusion.privacy import pseudonymize
from shopfusion.serving.batching import LoopBatcher, SerialLane
from shopfusion.serving.engine import Engine, Ranking, Scored
from shopfusion.serving.store_guard import StoreGuard
from shopfusion.training.fusion import dense

RECENT_ITEMS = "sequential_v1"  # the feature service with user_recent: all that recommend reads


@dataclass(frozen=True)
class _Accepted:
    """A feedback request's share of one lane call: events to log and push, rows to quarantine."""
    events: list[dict]
    received: str
    quarantined: list[dict]


class BundleRefused(RuntimeError):
    """No bundle that was asked for loads and verifies; the message says why for each."""


class Runtime:
    def __init__(self, params: Params, root: Path):
        self.params, self.root = params, Path(root)
        self.tag, self.engine = self._load()
        self.feedback = feedback_log(self.root / params.serve.feedback_dir)
        self.quarantine = feedback_quarantine(self.root / params.serve.feedback_dir)
        self.requests = request_log(self.root / params.serve.request_log)
        self.accepted_ids = set(self.feedback.read().get("event_id", pd.Series(dtype=str)))
        guard = params.serve.online_store
        self.store = StoreGuard(self._open_reader, guard["failures_to_open"], guard["open_s"])
        self.feedback_lane = SerialLane(self._log_and_push, params.serve.feedback_events_per_push,
                                        weight=lambda accepted: max(len(accepted.events), 1))
        wait_s = params.serve.max_batch_wait_ms / 1000
        self.batcher = LoopBatcher(self._score, params.serve.max_batch, wait_s)  # on the loop
        self.query_batcher = LoopBatcher(self._encode_queries, params.serve.max_batch, wait_s)
        self._warm_up()

    def _warm_up(self) -> None:
        """Open the feature store beside serving (seconds: Feast's import and registry): until
        it is open, answers are degraded ("still opening") and feedback pushes wait for it."""
        self.store.open_in_background(lambda r: r.read(RECENT_ITEMS, [{"user_id": "warm-up-user"}]))

    # --- model ----------------------------------------------------------------------------
    def _load(self, start_up: bool = True) -> tuple[str, Engine]:
        """The champion's engine. At start-up the newest earlier champion that loads serves
        when it does not (why in `self.skipped`: /metadata, /readyz), and the search index is
        built beside serving (`/readyz` lists it under `warming`); a reload builds it first."""
        tags = champion_history(self.params, self.root)
        self.skipped = {}
        for tag in tags if start_up else tags[:1]:
            try:
                tag, path = champion_bundle(self.params, self.root, tag)
                engine = Engine(path, self.params.serve)
                if start_up:
                    threading.Thread(target=engine.warm_search, daemon=True, name="search-warm-up").start()
                else:
                    engine.warm_search()
                return tag, engine
            except Exception as exc:  # a bundle that does not load never serves
                self.skipped[tag] = f"{type(exc).__name__}: {exc}"
        raise BundleRefused("; ".join(f"{t}: {why}" for t, why in self.skipped.items()))

    def reload(self) -> dict:
        """Load the current champion beside the serving one, then swap: requests in flight
        finish on the old engine, none waits or fails. A champion that does not load or
        verify raises BundleRefused and the serving one stays."""
        old, skipped = self.tag, self.skipped
        try:
            tag, engine = self._load(start_up=False)
        except BundleRefused:
            self.skipped = skipped
            raise
        self.tag, self.engine = tag, engine
        return {"previous": old, "serving": tag, "version": engine.version}

    def metadata(self) -> dict:
        m = self.engine.manifest
        return {"model_tag": self.tag, "version": m["version"], "data_version": m["data_version"],
                "data_end": m["data_end"], "packaged_at": m["packaged_at"], "fusion": m["fusion"],
                "models": m["models"], "items": m["items"], "users": m["users"],
                "answer_cache": self.engine.answers.stats(),
                "scoring_batches": {"calls": self.batcher.calls, "requests": self.batcher.requests},
                "feedback_lane": {"calls": self.feedback_lane.calls, "chunks": self.feedback_lane.items},
                "query_batches": {"calls": self.query_batcher.calls,
                                  "requests": self.query_batcher.requests},
                "online_store": self.store.status(), "skipped_bundles": self.skipped}

    # --- online features --------------------------------------------------------------------
    def _open_reader(self):
        from shopfusion.features.store import FeatureReader, open_store

        return FeatureReader(open_store(self.root, self.params.features))

    async def recent_items(self, user_ids: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
        """Each user's recent items, oldest first, in one online-store read, and why a user's
        are missing where that degrades the answer: the store failed (every user), or it holds
        nothing for a user the models know (an emptied store, not a cold start)."""
        unique = list(dict.fromkeys(user_ids))
        timeout_s = self.params.serve.online_store["read_timeout_ms"] / 1000
        rows, problem = await self.store.call(
            lambda r: r.read(RECENT_ITEMS, [{"user_id": u} for u in unique]), timeout_s)
        if problem:
            return {}, dict.fromkeys(unique, problem)
        lists = rows.get("user_recent__recent_items") or [None] * len(unique)
        recent = {u: list(reversed(items)) for u, items in zip(unique, lists) if items}  # oldest first
        known = self.engine.user_index
        missing = [u for u in unique if u not in recent]
        emptied = [u for u, pos in zip(missing, known.get_indexer(missing)) if pos >= 0] if missing else []
        return recent, dict.fromkeys(emptied, "online store has no features for this known user")

    # --- endpoints' logic ---------------------------------------------------------------------
    def kept_answer(self, user_id: str | None, k: int, context_items: list[str],
                    exclude_purchased: bool) -> tuple[Ranking, Engine] | None:
        """The answer from the user's kept candidates (microseconds, no I/O), or None."""
        engine = self.engine
        if not _keepable(user_id, context_items) or not engine.answers.enabled:
            return None
        kept = engine.answers.get(user_id)
        if kept is None:
            return None
        history, scored, rankings = kept
        # the rankings too: all they read beyond the candidates is the user's purchases, and
        # a purchase arrives as feedback, which drops the whole entry. Shared, never mutated.
        key = (k, exclude_purchased)
        if key not in rankings:
            rankings[key] = engine.ranking(user_id, history, scored, k, exclude_purchased)
        return rankings[key], engine

    async def scored_answer(self, user_id: str | None, k: int, context_items: list[str],
                            exclude_purchased: bool) -> tuple[Ranking, Engine]:
        """Read the user's features and score them, together with concurrent requests."""
        engine = self.engine  # one engine for the whole request, even if a reload swaps it
        stamp = engine.answers.stamp()
        scored = await self.batcher.submit((engine, user_id, list(context_items)))
        return self._answer(engine, stamp, user_id, k, context_items, exclude_purchased, *scored)

    async def _score(self, requests: list[tuple[Engine, str | None, list[str]]]
                     ) -> list[tuple[np.ndarray, Scored, str | None]]:
        """(history, fused candidates, online-store problem) for each (engine, user, context
        items): one feature read for the batch (off the loop), one scoring call per engine."""
        users = [user for _, user, _ in requests if user]
        recent, problems = await self.recent_items(users) if users else ({}, {})

        def score(engine: Engine, requests: list) -> list:
            users = [user for _, user, _ in requests]
            histories = [engine.known_items(recent.get(u, []) + context) for _, u, context in requests]
            scored = engine.fused_scores_batch([(u or "", h) for u, h in zip(users, histories)])
            return [(h, one, problems.get(u)) for u, h, one in zip(users, histories, scored)]

        return _per_engine(requests, score)

    @staticmethod
    def _encode_queries(requests: list[tuple[Engine, str]]) -> list[np.ndarray]:
        """Each (engine, query)'s (1, dim) text vector, one encoder call per engine."""
        return _per_engine(requests, lambda engine, requests: list(
            engine.encode_queries([query for _, query in requests])[:, None]))

    @staticmethod
    def _answer(engine: Engine, stamp: int, user_id: str | None, k: int, context_items: list[str],
                exclude_purchased: bool, history: np.ndarray, scored: Scored, problem: str | None
                ) -> tuple[Ranking, Engine]:
        """Rank the candidates; keep them for the user's next request unless degraded or shaped
        by context items."""
        if _keepable(user_id, context_items) and problem is None and not scored.dropped:
            engine.answers.put(user_id, (history, scored, {}), stamp)
        ranking = engine.ranking(user_id or "", history, scored, k, exclude_purchased, list(context_items))
        if problem:
            ranking.dropped = {**ranking.dropped, "online_store": problem}  # a batch shares one dict
        return ranking, engine

    async def search(self, query: str, k: int, user_id: str | None, category: str | None,
                     min_price: float | None, max_price: float | None
                     ) -> tuple[list[str], list[float], bool, str | None, Engine]:
        """(items, scores, personalized, online-store problem, engine): the query's encoding
        batched with concurrent searches, the user's scores with concurrent recommends."""
        engine = self.engine
        if not engine.search_ready.is_set():  # only while a starting service builds the index
            await asyncio.to_thread(engine.search_ready.wait)
        encoded, (personal, problem) = await asyncio.gather(
            self.query_batcher.submit((engine, query)), self._personal_scores(engine, user_id))
        items, scores = engine.search(query, k, personal, category, min_price, max_price, encoded)
        return items, scores, personal is not None, problem, engine

    async def _personal_scores(self, engine: Engine, user_id: str | None
                               ) -> tuple[np.ndarray | None, str | None]:
        """The user's fused score for every item (their kept answer's if any); None without a
        history."""
        if not user_id:
            return None, None
        kept = engine.answers.get(user_id) if engine.answers.enabled else None
        history, scored, problem = (kept[0], kept[1], None) if kept else \
            await self.batcher.submit((engine, user_id, []))
        if not len(history):
            return None, problem
        fused = dense(scored.items, scored.fused, len(engine.item_index))
        return np.where(np.isfinite(fused), fused, np.nanmin(fused[np.isfinite(fused)])), problem

    async def accept_feedback(self, events: list[dict]) -> dict:
        """Validate like ingested data, log durably, then push to the online store.

        Validation and dedupe run at once on the loop; the durable write and the push go
        through the feedback lane (one at a time, in arrival order), which gives every request
        waiting meanwhile one fsync and one push together. A large request goes in chunks of
        `serve.feedback_events_per_push`, so a single click waits for one chunk, not for all."""
        from shopfusion.validation.rows import route_events
        from shopfusion.validation.rules import describe

        engine, now = self.engine, pd.Timestamp.now(tz="UTC")
        routed = route_events(events, engine.item_index, self.params.validate, now, engine.data_end)
        new = [e for e in routed.validated if e["event_id"] not in self.accepted_ids]
        self.accepted_ids.update(e["event_id"] for e in new)  # claimed now: a resend racing us is a duplicate
        for event in new:
            if event["event_type"] == "purchase":  # a new set: requests may be reading the old one
                user = event["user_id"]
                engine.purchased[user] = engine.purchased.get(user, set()) | set(
                    engine.known_items([event["item_id"]]))
        received, size = now.isoformat(), self.params.serve.feedback_events_per_push
        chunks = [new[i: i + size] for i in range(0, len(new), size)] or [[]]
        pushed, problem = 0, None
        for n, chunk in enumerate(chunks):
            quarantined = [{**e, "received_at": received} for e in routed.quarantine] if n == 0 else []
            try:
                done, failed = await self.feedback_lane.submit(_Accepted(chunk, received, quarantined))
            except BaseException as exc:  # not logged: a resend must not be taken for a duplicate
                # (a request cancelled while waiting leaves its chunk in the lane, still logged)
                unlogged = chunks[n + isinstance(exc, asyncio.CancelledError):]
                self.accepted_ids.difference_update(e["event_id"] for c in unlogged for e in c)
                raise
            pushed, problem = pushed + done, failed or problem
        return {"accepted": len(new), "duplicates": len(routed.validated) - len(new), "pushed": pushed,
                "rejected": [{"event_id": e["event_id"], "reasons": e["reasons"],
                              "messages": [describe(r) for r in e["reasons"]]} for e in routed.quarantine],
                "degraded": problem is not None, "problem": problem}

    async def _log_and_push(self, batch: list[_Accepted]) -> list[tuple[int, str | None]]:
        """One lane call: every waiting request's events logged durably in one write (off the
        loop), then pushed in one store call; (events pushed, problem) per request."""
        from shopfusion.features.realtime import push_events

        engine = self.engine
        events = [e for accepted in batch for e in accepted.events]
        await asyncio.to_thread(self._log, batch)
        if not events:
            return [(0, None)] * len(batch)
        # on failure it is logged durably already: the next materialization has it
        _, failed = await self.store.call(
            lambda r: push_events(r.store, events, self.params.features.recent_items, engine.item_attrs),
            self.params.serve.online_store["write_timeout_ms"] / 1000,
            wait_open_s=self.params.serve.online_store["open_timeout_ms"] / 1000)
        # after the push: an answer computed from the features before it is then never kept
        engine.answers.invalidate({e["user_id"] for e in events})
        return [(0 if failed else len(accepted.events), failed) for accepted in batch]

    def _log(self, batch: list[_Accepted]) -> None:
        self.feedback.append([{**e, "ts": e["ts"].isoformat(), "received_at": accepted.received}
                              for accepted in batch for e in accepted.events])
        self.quarantine.append([row for accepted in batch for row in accepted.quarantined])

    def log_request(self, endpoint: str, user_id: str | None, started: float, **fields) -> None:
        self.requests.append([{"ts": pd.Timestamp.now(tz="UTC").isoformat(), "endpoint": endpoint,
                               "user": pseudonymize(user_id), "model_version": self.engine.version,
                               "latency_ms": round((time.perf_counter() - started) * 1000, 3), **fields}])


def _per_engine(requests: list[tuple], fn) -> list:
    """fn(engine, its requests) for each engine among the requests (first element of each; a
    reload may split a batch), results back in the requests' order."""
    out = [None] * len(requests)
    for engine in {id(r[0]): r[0] for r in requests}.values():
        rows = [i for i, request in enumerate(requests) if request[0] is engine]
        for i, result in zip(rows, fn(engine, [requests[i] for i in rows])):
            out[i] = result
    return out


def _keepable(user_id: str | None, context_items: list[str]) -> bool:
    """An answer a user's next request may reuse: it is that user's, not shaped by context."""
    return bool(user_id) and not context_items
