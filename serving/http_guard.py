"""The service's HTTP edge, ahead of BentoML's request parsing: bounded bodies, JSON only, one
error shape for every 4xx, and a readiness answer that never waits on a dependency.

- A POST body larger than `max_body_bytes` is refused with 413 before it is parsed (from its
  Content-Length, or while it is read); a content type other than JSON gets 415.
- Every 4xx body becomes `{"error": code, "message": text, "field"?: where}` (BentoML answers
  validation errors, its own exceptions and unknown routes in three different shapes).
- `/readyz` answers from what the worker holds (loaded model, online-store breaker, bundles
  skipped at start) without touching the store: within milliseconds whatever the store does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "unprocessable"}
JSON_TYPES = ("application/json", "")  # no Content-Type: BentoML reads JSON


def error_body(status: int, message: str, field: str | None = None) -> bytes:
    body = {"error": CODES.get(status, f"http_{status}"), "message": message}
    if field:
        body["field"] = field
    return json.dumps(body).encode()


class HTTPGuard:
    def __init__(self, app, max_body_bytes: int = 1_000_000,
                 readiness: Callable[[], dict | None] = lambda: None):
        self.app, self.max_body_bytes, self.readiness = app, max_body_bytes, readiness

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/readyz" and (ready := self.readiness()) is not None:
            return await _respond(send, 200, json.dumps(ready).encode())
        if scope["method"] == "POST":  # every API route
            headers = dict(scope.get("headers") or [])
            media = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1").lower()
            if media not in JSON_TYPES:
                return await _respond(send, 415, error_body(415, f"send application/json, not {media}"))
            size = headers.get(b"content-length", b"0")
            if size.isdigit() and int(size) > self.max_body_bytes:
                return await _respond(send, 413, self._too_large())
            body = await self._read_bounded(receive)
            if body is None:
                return await _respond(send, 413, self._too_large())
            receive = _replay(body)
        if scope["path"] == "/docs.json":
            return await self.app(scope, receive, _documented(send))
        await self.app(scope, receive, _uniform_errors(send))

    def _too_large(self) -> bytes:
        return error_body(413, f"request body over {self.max_body_bytes} bytes (serve.limits.max_body_bytes)")

    async def _read_bounded(self, receive) -> bytes | None:
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            total += len(message.get("body", b""))
            if total > self.max_body_bytes:
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _respond(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _rewritten(send, applies, rewrite):
    """`send`, with the body of a response whose status `applies` buffered and replaced by
    `rewrite(body, status)` (as JSON, with its new length); other responses pass as sent."""
    state: dict = {}

    async def wrapped(message):
        if message["type"] == "http.response.start" and applies(message["status"]):
            state.update(start=message, chunks=[])
            return None
        if "start" not in state:
            return await send(message)
        state["chunks"].append(message.get("body", b""))
        if message.get("more_body"):
            return None
        status = state["start"]["status"]
        body = rewrite(b"".join(state["chunks"]), status)
        headers = [(k, v) for k, v in state["start"].get("headers", [])
                   if k.lower() not in (b"content-length", b"content-type")]
        await send({**state["start"], "headers": headers + [(b"content-type", b"application/json"),
                                                           (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return wrapped


def _uniform_errors(send):
    """Every 4xx response's body in the one error shape."""
    return _rewritten(send, lambda status: 400 <= status < 500,
                      lambda raw, status: error_body(status, *_message_of(raw, status)))


def _documented(send):
    """The OpenAPI document with every error status of every operation."""
    return _rewritten(send, lambda status: status == 200,
                      lambda raw, _: json.dumps(document_errors(json.loads(raw))).encode())


ERROR_SCHEMA = {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string", "description": "machine-readable code", "enum": sorted(set(CODES.values()))},
    "message": {"type": "string", "description": "what was wrong, for a person"},
    "field": {"type": "string", "description": "the request field at fault, when there is one"}}}
DOCUMENTED = {400: "invalid input (the field is named)", 401: "missing or wrong x-api-key",
              404: "unknown item", 409: "champion refused: it does not load or verify (admin)",
              413: "body over serve.limits.max_body_bytes", 415: "content type other than JSON",
              422: "nothing accepted (feedback: every event quarantined, with reasons)"}


def document_errors(spec: dict) -> dict:
    """Every operation lists every 4xx it can answer, all in the one error shape."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in spec.get("paths", {}).items():
        for op in operations.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, what in DOCUMENTED.items():
                if status == 409 and not path.startswith("/admin/"):
                    continue
                op["responses"][str(status)] = {"description": what, "content": ref}
    return spec


def _message_of(raw: bytes, status: int) -> tuple[str, str | None]:
    """(message, field) from whichever shape BentoML or a middleware answered in."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip() or f"HTTP {status}", None
    if isinstance(data, list) and data and isinstance(data[0], dict):  # BentoML's 4xx exceptions
        data = data[0]
    if not isinstance(data, dict):
        return str(data), None
    if "message" in data and "error" in data:  # already uniform
        return data["message"], data.get("field")
    detail = data.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):  # pydantic validation
        first = detail[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        more = f" (and {len(detail) - 1} more)" if len(detail) > 1 else ""
        return f"{field}: {first.get('msg', 'invalid')}{more}", field or None
    return str(data.get("error") or data.get("detail") or data), None


class QuietClientErrors(logging.Filter):
    """BentoML logs every failed request at ERROR with a traceback; a client's mistake (4xx)
    is logged at INFO in one line, a server error (5xx) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        status = _client_status(exc)
        if status is not None:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s -> %d: %s", (record.getMessage(), status, exc)
            record.exc_info = record.exc_text = None
        return True


def _client_status(exc) -> int | None:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return 400
    code = getattr(getattr(exc, "error_code", None), "value", None)
    return code if isinstance(code, int) and 400 <= code < 500 else None
