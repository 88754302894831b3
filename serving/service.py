"""BentoML service: recommend, search, similar, feedback, metadata, reload.

    bentoml serve shopfusion.serving.service:ShopFusion     (Swagger UI at http://localhost:3000)

The champion bundle comes from the BentoML model store (see serving/package.py and the
registry); user features from the Feast online store under SHOPFUSION_ROOT (default: the
working directory). Bad input is a 4xx naming the field; a failing model or feature store
degrades the answer (flagged), never fails it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Annotated

import bentoml
from bentoml.exceptions import BentoMLException, InvalidArgument, NotFound, UnprocessableEntity
from pydantic import BaseModel, Field, create_model

from shopfusion.config import load_params
from shopfusion.contracts import EVENTS
from shopfusion.serving.auth import APIKeyMiddleware
from shopfusion.serving.http_guard import HTTPGuard, QuietClientErrors

ROOT = Path(os.environ.get("SHOPFUSION_ROOT", "."))
PARAMS = load_params(os.environ.get("SHOPFUSION_PARAMS", ROOT / "params.yaml"))  # defaults if absent

LIMITS = PARAMS.serve.limits
K = Annotated[int, Field(ge=1, le=PARAMS.serve.max_k, description="How many items to return.")]
ItemId = Annotated[str, Field(min_length=1, max_length=LIMITS["max_id_chars"])]
UserId = Annotated[str | None, Field(max_length=LIMITS["max_id_chars"])]

FeedbackEvent = create_model("FeedbackEvent", **EVENTS.request_fields(LIMITS["max_text_chars"]))
RUNTIME = None  # this worker's, once loaded: /readyz answers from it (serving/http_guard.py)


def preflight() -> None:
    """In the `bentoml serve` process itself, before any worker starts: exit 1 with one line
    when no champion of the registry verifies, rather than start workers that cannot load."""
    from shopfusion.bundle import champion_bundle, champion_history, verify

    problems = []
    for tag in champion_history(PARAMS, ROOT):
        try:
            verify(champion_bundle(PARAMS, ROOT, tag)[1])
            return
        except Exception as exc:
            problems.append(f"{tag}: {type(exc).__name__}: {exc}")
    sys.exit("shopfusion: no servable bundle: " + "; ".join(problems))


if Path(sys.argv[0]).name == "bentoml" and sys.argv[1:2] == ["serve"]:
    preflight()
logging.getLogger("bentoml._internal.server.http_app").addFilter(QuietClientErrors())


class ScoredItem(BaseModel):
    item_id: str
    score: float
    models: dict[str, int] = Field(default_factory=dict,
                                   description="Each contributing model's rank of this item (1-based).")


class Recommendation(BaseModel):
    items: list[ScoredItem]
    models: list[str] = Field(description="Models whose scores were fused for this answer.")
    degraded: bool = Field(description="True when a model or the feature store was left out.")
    dropped: dict[str, str] = Field(default_factory=dict, description="What was left out, and why.")
    cold_start: bool
    based_on: list[str] = Field(description="The newest history items used, newest first.")
    model_version: str


class SearchResult(BaseModel):
    items: list[ScoredItem]
    personalized: bool
    degraded: bool
    model_version: str


class FeedbackResult(BaseModel):
    accepted: int
    duplicates: int = Field(description="Events already accepted earlier (resent): not logged twice.")
    pushed: int = Field(description="Accepted events already visible to the next recommend.")
    rejected: list[dict] = Field(description="Events quarantined: each with the failed rules' codes "
                                             "(`reasons`) and what they mean (`messages`).")
    degraded: bool
    problem: str | None = None


# threads: BentoML runs sync APIs (similar, metadata, reload) on one thread unless told
# otherwise; recommend, search and feedback are async and do their work on the event loop.
@bentoml.service(name="shopfusion", traffic={"timeout": 30},
                 http={"host": PARAMS.serve.host, "port": 3000}, threads=PARAMS.serve.threads)
class ShopFusion:
    def __init__(self) -> None:
        import faiss
        import torch

        from shopfusion.serving.runtime import BundleRefused, Runtime

        torch.set_num_threads(1)  # one call = one core; throughput comes from batching requests
        faiss.omp_set_num_threads(1)
        try:
            self.runtime = Runtime(PARAMS, ROOT)
        except BundleRefused as exc:  # nothing loads: stop the server, do not crash-loop
            stop_server(f"no servable bundle: {exc}")
        global RUNTIME
        RUNTIME = self.runtime
        # One process, many threads: a thread that released the GIL (every torch op, every
        # syscall) waits up to the switch interval to get it back while another runs Python.
        # Recommend, search and feedback work on the loop; a short interval keeps the threads
        # beside it (similar, metadata, reload, the log writer) from starving.
        sys.setswitchinterval(PARAMS.serve.gil_switch_interval_ms / 1000)
        _freeze_loaded_objects()

    # async: a kept answer (serving/answers.py) is served on the event loop, and scoring runs
    # there too, batched with the requests that arrived meanwhile (serving/batching.py).
    @bentoml.api(route="/recommend")
    async def recommend(self, user_id: UserId = None, k: K = 10,
                        context_items: Annotated[list[ItemId], Field(max_length=50)] = [],  # noqa: B006
                        exclude_purchased: bool = True) -> Recommendation:
        """Fused top-k for a user (unknown or absent: popularity and context items)."""
        t0 = time.perf_counter()
        ranking, engine = (self.runtime.kept_answer(user_id, k, context_items, exclude_purchased)
                           or await self.runtime.scored_answer(user_id, k, context_items, exclude_purchased))
        out = Recommendation(
            items=[ScoredItem(item_id=i, score=s, models=c)
                   for i, s, c in zip(ranking.items, ranking.scores, ranking.contributions)],
            models=ranking.models, degraded=ranking.degraded, dropped=ranking.dropped,
            cold_start=ranking.cold_start, based_on=ranking.based_on, model_version=engine.version)
        self.runtime.log_request("recommend", user_id, t0, items=ranking.items, k=k,
                                 degraded=ranking.degraded, models=ranking.models)
        return out

    # async: the query's encoding (MiniLM, most of a search) is batched with concurrent
    # searches on the loop; a user's scores come from their kept answer or the recommend batch.
    @bentoml.api(route="/search")
    async def search(self, query: Annotated[str, Field(min_length=1, max_length=LIMITS["max_text_chars"])],
               k: K = 10, user_id: UserId = None,
               category: Annotated[str | None, Field(max_length=LIMITS["max_id_chars"],
                                                     description="Category path prefix.")] = None,
               min_price: Annotated[float | None, Field(ge=0)] = None,
               max_price: Annotated[float | None, Field(ge=0)] = None) -> SearchResult:
        """Hybrid BM25 + embedding search, personalized when a user is given."""
        if min_price is not None and max_price is not None and min_price > max_price:
            raise InvalidArgument(f"min_price ({min_price}) is above max_price ({max_price})")
        t0 = time.perf_counter()
        items, scores, personalized, problem, engine = await self.runtime.search(
            query, k, user_id, category, min_price, max_price)
        self.runtime.log_request("search", user_id, t0, items=items, k=k, degraded=problem is not None)
        return SearchResult(items=[ScoredItem(item_id=i, score=s) for i, s in zip(items, scores)],
                            personalized=personalized, degraded=problem is not None,
                            model_version=engine.version)

    @bentoml.api(route="/similar")
    def similar(self, item_id: ItemId, k: K = 10) -> list[ScoredItem]:
        """Items co-viewed with this one, blended with text similarity."""
        from shopfusion.serving.engine import UnknownItem

        t0 = time.perf_counter()
        try:
            items, scores = self.runtime.engine.similar(item_id, k)
        except UnknownItem as exc:
            raise NotFound(f"item_id {item_id!r} is not in the catalog") from exc
        self.runtime.log_request("similar", None, t0, items=items, k=k)
        return [ScoredItem(item_id=i, score=s) for i, s in zip(items, scores)]

    # async: validated on the loop; logged and pushed through the feedback lane (Runtime.accept_feedback)
    @bentoml.api(route="/feedback")
    async def feedback(self, events: Annotated[list[FeedbackEvent],
                                               Field(min_length=1, max_length=LIMITS["max_events"])]
                       ) -> FeedbackResult:
        """Shop events (the ingest contract): validated, durably logged, pushed online."""
        t0 = time.perf_counter()
        result = await self.runtime.accept_feedback([e.model_dump() for e in events])
        self.runtime.log_request("feedback", events[0].user_id, t0, accepted=result["accepted"],
                                 rejected=len(result["rejected"]))
        if not result["accepted"] and not result["duplicates"]:
            raise UnprocessableEntity("no event accepted: " + "; ".join(
                f"{r['event_id']}: {', '.join(r['messages'])} ({', '.join(r['reasons'])})"
                for r in result["rejected"]))
        return FeedbackResult(**result)

    @bentoml.api(route="/metadata")
    def metadata(self) -> dict:
        """Model versions, data version, when the data ends and when it was packaged."""
        return self.runtime.metadata()

    @bentoml.api(route="/admin/reload")
    def reload(self) -> dict:
        """Load the registry's champion and switch to it without downtime (needs the admin
        key). A champion that does not load or verify is refused (409); the serving one stays."""
        from shopfusion.serving.runtime import BundleRefused

        try:
            swapped = self.runtime.reload()
        except BundleRefused as exc:
            raise BentoMLException(f"champion refused, still serving {self.runtime.tag}: {exc}",
                                   error_code=HTTPStatus.CONFLICT) from exc
        _freeze_loaded_objects()
        return swapped


def _freeze_loaded_objects() -> None:
    """Move what the engine loaded (millions of objects at 100k items) out of the cyclic
    garbage collector's sight: full collections over them paused every request thread for
    tens of milliseconds, long enough to push a model over its time budget. Freed objects are
    still freed by reference counting."""
    import gc

    gc.collect()
    gc.freeze()


def readiness() -> dict | None:
    """/readyz's answer once the worker has loaded (before: BentoML's own 503)."""
    if RUNTIME is None:
        return None
    store = RUNTIME.store.status()
    degraded = {**({"online_store": store} if store["state"] != "closed" else {}),
                **({"skipped_bundles": RUNTIME.skipped} if RUNTIME.skipped else {})}
    warming = ([] if RUNTIME.engine.search_ready.is_set() else ["search"]) + (
        ["online_store"] if RUNTIME.store.opening else [])
    return {"ready": True, "model_tag": RUNTIME.tag, "degraded": degraded, "warming": warming}


def stop_server(why: str) -> None:
    """One line saying why, then the whole `bentoml serve` stops (its arbiter is this worker's
    parent): a worker that exited alone would be restarted into the same failure forever."""
    import signal

    print(f"shopfusion: {why}", file=sys.stderr, flush=True)
    os.kill(os.getppid(), signal.SIGTERM)
    os._exit(3)


# outermost first: bounded bodies and uniform errors wrap the key check too
ShopFusion.add_asgi_middleware(HTTPGuard, max_body_bytes=LIMITS["max_body_bytes"], readiness=readiness)
ShopFusion.add_asgi_middleware(APIKeyMiddleware, key_file=ROOT / PARAMS.serve.api_key_file)
