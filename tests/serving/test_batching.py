"""Adaptive micro-batching: concurrent callers share one scoring call and each gets its own
answer; a caller alone waits for nobody; a failure reaches every caller of its batch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shopfusion.config import ServeConfig
from shopfusion.serving.batching import MicroBatcher


def recording_batcher(max_batch=8, max_wait_s=5.0, fail=False):
    sizes = []

    def fn(items):
        sizes.append(len(items))
        if fail:
            raise RuntimeError("model exploded")
        return [item * 10 for item in items]

    return MicroBatcher(fn, max_batch, max_wait_s), sizes


def test_concurrent_callers_share_a_call_and_get_their_own_rows():
    batcher, sizes = recording_batcher(max_batch=8)
    barrier = threading.Barrier(8)

    def call(i):
        with batcher.ticket() as submit:
            barrier.wait()  # all eight have announced themselves before anyone submits
            return submit(i)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(call, range(8))) == [i * 10 for i in range(8)]
    assert sizes == [8]


def test_a_caller_alone_does_not_wait():
    batcher, sizes = recording_batcher(max_wait_s=30.0)
    t0 = time.monotonic()
    with batcher.ticket() as submit:
        assert submit(4) == 40
    assert time.monotonic() - t0 < 5 and sizes == [1]  # nobody announced: no 30 s wait


def test_an_announced_caller_that_never_submits_does_not_stall_the_batch():
    batcher, sizes = recording_batcher(max_wait_s=0.05)
    # the first ticket: e.g. a request that failed before scoring
    with batcher.ticket(), batcher.ticket() as submit:
        assert submit(1) == 10  # waits at most max_wait for the other, then goes
    with batcher.ticket() as submit:
        assert submit(2) == 20
    assert sizes == [1, 1]


def test_a_failure_reaches_every_caller_of_the_batch():
    batcher, _ = recording_batcher(max_batch=4, fail=True)
    barrier = threading.Barrier(4)

    def call(i):
        with batcher.ticket() as submit:
            barrier.wait()
            try:
                submit(i)
            except RuntimeError as exc:
                return str(exc)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(4))) == ["model exploded"] * 4


@pytest.mark.integration
def test_engine_batch_scores_equal_single_scores(served_project):
    from shopfusion.serving.engine import Engine

    # a generous budget: this compares batched with single scores, whatever the load on the box
    engine = Engine(served_project / "models/export", ServeConfig(model_budget_ms=60_000))
    rng = np.random.default_rng(0)
    users = list(engine.user_index[:5]) + ["never-seen", "cold"]
    requests = [(u, rng.choice(len(engine.item_index), 6)) for u in users[:-1]]
    requests.append(("cold", np.array([], int)))
    batched = engine.fused_scores_batch(requests)
    for (user, history), batch in zip(requests, batched):
        one = engine.fused_scores(user, history)
        np.testing.assert_array_equal(batch.items, one.items)
        np.testing.assert_allclose(batch.fused, one.fused, rtol=1e-4, atol=1e-4)  # float32 BLAS
        assert set(batch.tops) == set(one.tops) and not batch.dropped
