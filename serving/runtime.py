"""What a running service holds beyond the engine: the champion from the model store, online
features, the durable feedback log, the request log. Framework-free, so tests can drive it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from shopfusion.config import Params
from shopfusion.privacy import pseudonymize
from shopfusion.serving.engine import Engine, Ranking
from shopfusion.serving.logs import feedback_log, feedback_quarantine, records, request_log
from shopfusion.serving.registry import Registry


def champion_bundle(params: Params, root: Path) -> tuple[str, Path]:
    """The champion's tag and folder in the BentoML model store (newest version if none was
    promoted yet)."""
    import bentoml

    tag = Registry(root / params.serve.registry).champion or f"{params.serve.model_name}:latest"
    model = bentoml.models.get(tag)
    return str(model.tag), Path(model.path)


class Runtime:
    def __init__(self, params: Params, root: Path):
        self.params, self.root = params, Path(root)
        self.tag, self.engine = self._load()
        self.feedback = feedback_log(self.root / params.serve.feedback_dir)
        self.quarantine = feedback_quarantine(self.root / params.serve.feedback_dir)
        self.requests = request_log(self.root / params.serve.request_log)
        self.accepted_ids = set(self.feedback.read().get("event_id", pd.Series(dtype=str)))
        self._reader = None
        self._store_lock = threading.RLock()  # one online-store connection, many request threads
        self._feedback_lock = threading.Lock()  # dedupe + log + push of a batch is one step
        self._warm_up()

    def _warm_up(self) -> None:
        """Open the feature store now, not on the first request."""
        self.recent_items("warm-up-user")

    # --- model ----------------------------------------------------------------------------
    def _load(self) -> tuple[str, Engine]:
        tag, path = champion_bundle(self.params, self.root)
        engine = Engine(path, self.params.serve)
        engine.search("warm up", 1)  # builds the search index before any request needs it
        return tag, engine

    def reload(self) -> dict:
        """Load the current champion beside the serving one, then swap: requests in flight
        finish on the old engine, none waits or fails."""
        old = self.tag
        tag, engine = self._load()
        self.tag, self.engine = tag, engine
        return {"previous": old, "serving": tag, "version": engine.version}

    def metadata(self) -> dict:
        m = self.engine.manifest
        return {"model_tag": self.tag, "version": m["version"], "data_version": m["data_version"],
                "data_end": m["data_end"], "packaged_at": m["packaged_at"], "fusion": m["fusion"],
                "models": m["models"], "items": m["items"], "users": m["users"],
                "answer_cache": self.engine.answers.stats()}

    # --- online features --------------------------------------------------------------------
    def reader(self):
        """The Feast reader, opened on first use; None (and retried later) while unavailable."""
        if self._reader is None:
            with self._store_lock:
                if self._reader is None:
                    from shopfusion.features.store import FeatureReader, open_store

                    self._reader = FeatureReader(open_store(self.root, self.params.features))
        return self._reader

    def _on_store(self, work):
        """(work(reader), None) under the store lock; on any failure (store down, corrupt, not
        materialized) (None, the reason), and the reader is reopened next time."""
        try:
            reader = self.reader()
            with self._store_lock:
                return work(reader), None
        except Exception as exc:
            self._reader = None
            return None, f"online store unavailable: {type(exc).__name__}: {exc}"

    def recent_items(self, user_id: str) -> tuple[list[str], str | None]:
        """The user's recent items, oldest first, from the online store; on failure, none and
        the reason (the answer is then degraded, not failed)."""
        row, problem = self._on_store(lambda r: r.read("recommend_request_v1", [{"user_id": user_id}]))
        if problem:
            return [], problem
        recent = row.get("user_recent__recent_items", [None])[0] or []
        return list(reversed(recent)), None  # stored newest first

    # --- endpoints' logic ---------------------------------------------------------------------
    def recommend(self, user_id: str | None, k: int, context_items: list[str],
                  exclude_purchased: bool) -> tuple[Ranking, Engine]:
        return (self.kept_answer(user_id, k, context_items, exclude_purchased)
                or self.scored_answer(user_id, k, context_items, exclude_purchased))

    def kept_answer(self, user_id: str | None, k: int, context_items: list[str],
                    exclude_purchased: bool) -> tuple[Ranking, Engine] | None:
        """The answer from the user's kept candidates (microseconds, no I/O), or None."""
        engine = self.engine
        if not user_id or context_items or not engine.answers.enabled:
            return None
        kept = engine.answers.get(user_id)
        return None if kept is None else (engine.ranking(user_id, *kept, k, exclude_purchased), engine)

    def scored_answer(self, user_id: str | None, k: int, context_items: list[str],
                      exclude_purchased: bool) -> tuple[Ranking, Engine]:
        """Read the user's features and score them (with concurrent requests); the candidates
        are kept for the user's next request unless degraded or shaped by context items."""
        engine = self.engine  # one engine for the whole request, even if a reload swaps it
        stamp = engine.answers.stamp()  # before the features are read: see AnswerCache.put
        with engine.batcher.ticket() as score:  # scored together with concurrent requests
            recent, problem = (self.recent_items(user_id) if user_id else ([], None))
            history = engine.known_items(recent + list(context_items))
            scored = score((user_id or "", history))
        if user_id and not context_items and problem is None and not scored.dropped:
            engine.answers.put(user_id, (history, scored), stamp)
        ranking = engine.ranking(user_id or "", history, scored, k, exclude_purchased, list(context_items))
        if problem:
            ranking.dropped["online_store"] = problem
        return ranking, engine

    def personal_scores(self, user_id: str) -> tuple[np.ndarray | None, str | None]:
        history, problem = self.recent_items(user_id)
        if not history:
            return None, problem
        engine = self.engine
        fused = engine.fused_scores(user_id, engine.known_items(history)).dense(len(engine.item_index))
        return np.where(np.isfinite(fused), fused, np.nanmin(fused[np.isfinite(fused)])), problem

    def accept_feedback(self, events: list[dict]) -> dict:
        """Validate like ingested data, log durably, then push to the online store."""
        with self._feedback_lock:
            return self._accept_feedback(events)

    def _accept_feedback(self, events: list[dict]) -> dict:
        from shopfusion.contracts import EVENTS
        from shopfusion.features.realtime import push_event
        from shopfusion.validation.stage import check_events

        now = pd.Timestamp.now(tz="UTC")
        raw = pd.DataFrame(events).reindex(columns=EVENTS.names)
        routed = check_events(raw, self.engine.item_index, self.params.validate, now).routed
        valid = routed.validated
        repeat = np.array([e in self.accepted_ids for e in valid["event_id"]], dtype=bool)  # O(batch)
        new = valid[~repeat]
        self.feedback.append(records(new.assign(ts=new["ts"].map(lambda t: t.isoformat()),
                                                received_at=now.isoformat())))
        self.quarantine.append(records(routed.quarantine.assign(received_at=now.isoformat())))
        self.accepted_ids.update(new["event_id"])
        pushed, problem = 0, None
        for row in new.to_dict("records"):
            if row["event_type"] == "purchase":  # a new set: requests may be reading the old one
                user, item = row["user_id"], self.engine.known_items([row["item_id"]])
                self.engine.purchased[user] = self.engine.purchased.get(user, set()) | set(item)
            # on failure it is logged durably already: the next materialization has it
            _, failed = self._on_store(lambda r, row=row: push_event(
                r.store, row, self.params.features.recent_items, self.engine.item_attrs))
            pushed, problem = pushed + (failed is None), failed or problem
        # after the push: an answer computed from the features before it is then never kept
        self.engine.answers.invalidate(set(new["user_id"]))
        return {"accepted": len(new), "duplicates": int(repeat.sum()), "pushed": pushed,
                "rejected": [{"event_id": r.get("event_id"), "reasons": list(r["reasons"])}
                             for r in routed.quarantine.to_dict("records")],
                "degraded": problem is not None, "problem": problem}

    def log_request(self, endpoint: str, user_id: str | None, started: float, **fields) -> None:
        self.requests.append([{"ts": pd.Timestamp.now(tz="UTC").isoformat(), "endpoint": endpoint,
                               "user": pseudonymize(user_id), "model_version": self.engine.version,
                               "latency_ms": round((time.perf_counter() - started) * 1000, 3), **fields}])
