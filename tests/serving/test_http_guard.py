"""The HTTP edge on its own (no server): bounded bodies, JSON only, one 4xx shape, readiness."""

import asyncio
import json

import pytest

from shopfusion.serving.http_guard import HTTPGuard, document_errors


def call(app, method="POST", path="/recommend", body=b"{}", headers=None, chunk=None):
    """Drive an ASGI app once: (status, parsed body)."""
    headers = headers if headers is not None else {"content-type": "application/json"}
    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    parts = [body[i: i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
                for i, p in enumerate(parts)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(raw)


def answering(status: int, body):
    """A stand-in for BentoML's app: echoes the body it read, or answers `body` with `status`."""
    async def app(scope, receive, send):
        got = b""
        while True:
            m = await receive()
            got += m.get("body", b"")
            if not m.get("more_body"):
                break
        out = json.dumps(body if body is not None else {"echo": got.decode()}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})
    return app


def test_bodies_over_the_limit_are_refused_before_the_app_reads_them():
    guard = HTTPGuard(answering(200, None), max_body_bytes=100)
    assert call(guard, body=b"x" * 101, headers={"content-type": "application/json",
                                                 "content-length": "101"})[0] == 413
    status, body = call(guard, body=b"x" * 500, chunk=64)  # streamed, no length given
    assert status == 413 and body["error"] == "too_large"
    assert call(guard, body=b'{"k": 1}', chunk=3) == (200, {"echo": '{"k": 1}'})  # replayed whole


@pytest.mark.parametrize("content_type, status", [
    ("multipart/form-data; boundary=x", 415), ("text/plain", 415), ("application/xml", 415),
    ("application/json; charset=utf-8", 200), ("", 200)])
def test_only_json_reaches_the_app(content_type, status):
    headers = {"content-type": content_type} if content_type else {}
    assert call(HTTPGuard(answering(200, None)), headers=headers)[0] == status


@pytest.mark.parametrize("status, answered, expected", [
    (404, [{"error": "no item 'x'"}], ("not_found", "no item 'x'", None)),
    (400, {"error": "1 validation error", "detail": [{"loc": ["k"], "msg": "too small"}]},
     ("invalid_request", "k: too small", "k")),
    (422, {"error": "no event accepted"}, ("unprocessable", "no event accepted", None)),
])
def test_every_4xx_has_one_shape(status, answered, expected):
    got_status, body = call(HTTPGuard(answering(status, answered)))
    assert got_status == status
    assert (body["error"], body["message"], body.get("field")) == expected


def test_readiness_answers_without_the_app_once_loaded():
    guard = HTTPGuard(answering(503, {"error": "not ready"}), readiness=lambda: {"ready": True})
    assert call(guard, method="GET", path="/readyz", headers={}) == (200, {"ready": True})
    starting = HTTPGuard(answering(503, {"error": "not ready"}), readiness=lambda: None)
    assert call(starting, method="GET", path="/readyz", headers={})[0] == 503


def test_openapi_documents_each_error_status():
    spec = document_errors({"paths": {"/recommend": {"post": {"responses": {"200": {}}}},
                                      "/admin/reload": {"post": {"responses": {"200": {}}}}}})
    assert {"400", "413", "415", "422"} <= set(spec["paths"]["/recommend"]["post"]["responses"])
    assert "409" in spec["paths"]["/admin/reload"]["post"]["responses"]
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message"]
