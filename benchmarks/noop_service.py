"""The floor for serving benchmarks: BentoML services with the same request shapes as
`recommend`, `search` and `feedback` that do no work, one with sync and one with async APIs.
Both run beside the real service on the same machine; the faster is the baseline."""

from __future__ import annotations

import bentoml


@bentoml.service(name="noop", threads=8)  # as many request threads as the real service
class Noop:
    @bentoml.api(route="/recommend")
    def recommend(self, user_id: str | None = None, k: int = 10) -> dict:
        return {"items": [], "user_id": user_id, "k": k}

    @bentoml.api(route="/search")
    def search(self, query: str, k: int = 10) -> dict:
        return {"items": [], "query": query, "k": k}

    @bentoml.api(route="/feedback")
    def feedback(self, events: list[dict]) -> dict:
        return {"accepted": len(events)}


@bentoml.service(name="noop-async")
class NoopAsync:
    @bentoml.api(route="/recommend")
    async def recommend(self, user_id: str | None = None, k: int = 10) -> dict:
        return {"items": [], "user_id": user_id, "k": k}

    @bentoml.api(route="/search")
    async def search(self, query: str, k: int = 10) -> dict:
        return {"items": [], "query": query, "k": k}

    @bentoml.api(route="/feedback")
    async def feedback(self, events: list[dict]) -> dict:
        return {"accepted": len(events)}
