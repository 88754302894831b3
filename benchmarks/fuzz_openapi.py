"""Fuzz every endpoint of a running service from its own OpenAPI schema (schemathesis) and
count 5xx answers. Used by tests/serving and by bench_serving."""

from __future__ import annotations


def server_errors(base_url: str, max_examples: int = 30, exclude: tuple[str, ...] = ("/admin/reload",)
                  ) -> tuple[int, int, list[str]]:
    """(requests sent, 5xx answers, a description of each 5xx)."""
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
        check()
    return sent[0], len(errors), errors
