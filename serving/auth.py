"""Optional API-key auth: set SHOPFUSION_API_KEY and every API call must send it in the
`x-api-key` header. Health probes, metrics and the docs stay open."""

from __future__ import annotations

import hmac
import json
import os

KEY_ENV = "SHOPFUSION_API_KEY"
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics", "/docs", "/docs.json", "/static_content", "/")


class APIKeyMiddleware:
    def __init__(self, app):
        self.app = app
        self.key = os.environ.get(KEY_ENV, "").encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.key or _is_open(scope["path"]):
            return await self.app(scope, receive, send)
        sent = dict(scope.get("headers") or []).get(b"x-api-key", b"")
        if hmac.compare_digest(sent, self.key):
            return await self.app(scope, receive, send)
        body = json.dumps({"error": "missing or wrong x-api-key header"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def _is_open(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in OPEN_PATHS if p != "/")
