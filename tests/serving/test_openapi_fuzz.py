"""schemathesis drives every endpoint from the service's own OpenAPI schema: no input may
produce a 5xx."""

import pytest

from benchmarks.fuzz_openapi import server_errors

pytestmark = pytest.mark.integration


def test_no_input_gives_a_server_error(server):
    sent, n_errors, errors = server_errors(server.url, max_examples=30)
    assert sent >= 100
    assert n_errors == 0, "\n".join(errors[:10])
