"""The floor for serving benchmarks: a BentoML service with the same request shape as
`recommend` that does no work. Run beside the real one on the same machine."""

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
