"""Fuzz every endpoint of a running service from its own OpenAPI schema (schemathesis) and
count 5xx answers. Each generated body is also sent under other content types (what clients
really send: forms, multipart, XML, text, none). Used by tests/serving and the benchmarks."""

from __future__ import annotations

import json

OTHER_CONTENT_TYPES = ("multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                       "text/plain", "application/xml", "application/octet-stream", None)


def server_errors(base_url: str, max_examples: int = 30, exclude: tuple[str, ...] = ("/admin/reload",),
                  content_types: tuple = OTHER_CONTENT_TYPES) -> tuple[int, int, list[str]]:
    """(requests sent, 5xx answers, a description of each 5xx)."""
    import httpx
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(base_url + "/docs.json")
    sent, errors = [0], []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in exclude:
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=max_examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(base_url=base_url)
            sent[0] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.path} {case.body!r} -> {response.status_code}: "
                              f"{response.text[:300]}")
            body = json.dumps(case.body, default=str).encode()
            for content_type in content_types:
                headers = {"content-type": content_type} if content_type else {}
                other = httpx.request(case.method, base_url + case.formatted_path, content=body,
                                      headers=headers, timeout=30)
                sent[0] += 1
                if other.status_code >= 500:
                    errors.append(f"{case.method} {case.path} as {content_type} -> {other.status_code}: "
                                  f"{other.text[:300]}")
        check()
    return sent[0], len(errors), errors
