"""API-key auth. Admin endpoints (`/admin/...`) always need the key in the `x-api-key` header:
SHOPFUSION_API_KEY, or else a key generated at first start into a 0600 file
(`serve.api_key_file` under the project root). Set SHOPFUSION_API_KEY and every API call needs
it. Health probes, metrics and the docs stay open.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path

KEY_ENV = "SHOPFUSION_API_KEY"
ADMIN = "/admin/"
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/metrics", "/docs", "/docs.json", "/static_content", "/")


def admin_key(key_file: Path) -> str:
    """SHOPFUSION_API_KEY, else the key in `key_file`, written (0600) on first use."""
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV]
    key_file = Path(key_file)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return key_file.read_text().strip()


class APIKeyMiddleware:
    def __init__(self, app, key_file: Path):
        self.app = app
        self.key = os.environ.get(KEY_ENV, "").encode()  # every API call, when set
        self.admin = admin_key(key_file).encode()  # admin calls, always

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        needed = self.admin if path.startswith(ADMIN) else self.key
        if scope["type"] != "http" or not needed or _is_open(path):
            return await self.app(scope, receive, send)
        sent = dict(scope.get("headers") or []).get(b"x-api-key", b"")
        if hmac.compare_digest(sent, needed):
            return await self.app(scope, receive, send)
        body = json.dumps({"error": "unauthorized", "message": "missing or wrong x-api-key header"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def _is_open(path: str) -> bool:
    return path == "/" or any(path == p or path.startswith(p + "/") for p in OPEN_PATHS if p != "/")
