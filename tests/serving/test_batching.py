"""Adaptive micro-batching on the event loop: requests under way together share one scoring
call and each gets its own answer; a request alone is scored at once; a batch never exceeds
max_batch; a failure reaches every caller of its batch."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from shopfusion.config import ServeConfig
from shopfusion.serving.batching import LoopBatcher, SerialLane


def recording_batcher(max_batch=8, max_wait_s=0.001, fail=False):
    sizes = []

    def fn(items):
        sizes.append(len(items))
        if fail:
            raise RuntimeError("model exploded")
        return [item * 10 for item in items]

    return LoopBatcher(fn, max_batch, max_wait_s), sizes


def test_requests_under_way_together_share_calls_of_at_most_max_batch():
    batcher, sizes = recording_batcher(max_batch=4)

    async def main():
        return await asyncio.gather(*(batcher.submit(i) for i in range(10)))

    assert asyncio.run(main()) == [i * 10 for i in range(10)]
    assert sizes == [4, 4, 2] and (batcher.calls, batcher.requests) == (3, 10)


def test_right_after_a_batch_the_next_one_stays_open_for_late_arrivals():
    batcher, sizes = recording_batcher(max_wait_s=0.5)

    async def late(i):
        await asyncio.sleep(0.01)  # a later loop pass, well inside the window
        return await batcher.submit(i)

    async def main():
        first = await batcher.submit(0)  # the loop was idle: scored in the next pass
        return first, await asyncio.gather(batcher.submit(1), late(2))

    assert asyncio.run(main()) == (0, [10, 20]) and sizes == [1, 2]


def test_a_request_on_an_idle_loop_waits_for_nobody():
    batcher, sizes = recording_batcher(max_wait_s=30.0)

    async def main():
        return await asyncio.wait_for(batcher.submit(4), timeout=5)

    assert asyncio.run(main()) == 40 and sizes == [1]


def test_a_failure_reaches_every_caller_of_the_batch_and_the_next_batch_runs():
    batcher, sizes = recording_batcher(fail=True)

    async def main():
        failed = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
        batcher.fn = lambda items: [item + 1 for item in items]
        return failed, await batcher.submit(1)

    failed, after = asyncio.run(main())
    assert [str(e) for e in failed] == ["model exploded"] * 3 and after == 2


def test_a_cancelled_request_does_not_disturb_its_batch():
    batcher, _ = recording_batcher()

    async def main():
        gone = asyncio.ensure_future(batcher.submit(1))
        kept = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)  # both are waiting in the batch
        gone.cancel()
        return await kept

    assert asyncio.run(main()) == 20


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


def test_an_awaiting_batch_leaves_the_loop_free_and_answers_in_order():
    """A coroutine fn (the feature read) runs in a task: another coroutine progresses meanwhile."""
    ticks = []

    async def slow_read(items):
        await asyncio.sleep(0.05)
        return [i * 10 for i in items]

    async def ticker():
        for _ in range(5):
            ticks.append(1)
            await asyncio.sleep(0.005)

    async def main():
        batcher = LoopBatcher(slow_read, 8, 0.0)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), ticker())
        return results[:3], batcher.calls

    results, calls = asyncio.run(main())
    assert results == [0, 10, 20] and calls == 1 and len(ticks) == 5


def test_an_awaiting_batch_failure_reaches_every_caller():
    async def broken(items):
        raise RuntimeError("store down")

    async def main():
        batcher = LoopBatcher(broken, 8, 0.0)
        return await asyncio.gather(*(batcher.submit(i) for i in range(2)), return_exceptions=True)

    assert [str(e) for e in asyncio.run(main())] == ["store down"] * 2


def recording_lane(max_weight=4, fail_on=None):
    """A lane whose calls take 10 ms; records each call's items."""
    calls = []

    async def fn(items):
        calls.append(list(items))
        await asyncio.sleep(0.01)
        if fail_on in items:
            raise RuntimeError("disk full")
        return [f"done {item}" for item in items]

    return SerialLane(fn, max_weight, weight=len), calls


def test_a_lane_runs_one_call_at_a_time_taking_all_that_waited_in_arrival_order():
    lane, calls = recording_lane(max_weight=4)

    async def main():
        first = asyncio.ensure_future(lane.submit("a"))
        await asyncio.sleep(0)  # the first call has started: the rest wait for it, together
        rest = await asyncio.gather(*(lane.submit(x) for x in ("b", "cc", "d", "eee")))
        return [await first, *rest]

    assert asyncio.run(main()) == ["done a", "done b", "done cc", "done d", "done eee"]
    # weight = len: b + cc + d fill 4, eee waits for the next call
    assert calls == [["a"], ["b", "cc", "d"], ["eee"]] and (lane.calls, lane.items) == (3, 5)


def test_an_item_heavier_than_the_bound_still_goes_alone():
    lane, calls = recording_lane(max_weight=2)

    async def main():
        return await asyncio.gather(lane.submit("xxxxx"), lane.submit("y"))

    assert asyncio.run(main()) == ["done xxxxx", "done y"] and calls == [["xxxxx"], ["y"]]


def test_a_failed_lane_call_reaches_its_callers_and_the_lane_goes_on():
    lane, calls = recording_lane(max_weight=1, fail_on="b")

    async def main():
        return await asyncio.gather(*(lane.submit(x) for x in "abc"), return_exceptions=True)

    a, b, c = asyncio.run(main())
    assert (a, str(b), c) == ("done a", "disk full", "done c")
