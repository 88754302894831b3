"""Online-store calls behind the guard: a hung store costs a caller its timeout, never the
event loop; repeated failures open the breaker; a recovered store closes it."""

import asyncio
import threading
import time

from shopfusion.serving.store_guard import StoreGuard


class FakeStore:
    def __init__(self):
        self.hang = threading.Event()  # set: calls block until released
        self.release = threading.Event()
        self.fail = False

    def read(self, key):
        if self.hang.is_set():
            self.release.wait(10)
        if self.fail:
            raise ConnectionError("refused")
        return key * 2


def call(g: StoreGuard, work, timeout_s: float):
    """One guarded call from a fresh event loop, as the service makes them."""
    return asyncio.run(g.call(work, timeout_s))


def guard(store, **kw):
    return StoreGuard(lambda: store, **{"failures_to_open": 2, "open_s": 0.3, **kw})


def test_a_hung_store_costs_the_timeout_while_the_loop_runs_on():
    store = FakeStore()
    g = guard(store)
    store.hang.set()

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            for _ in range(10):
                ticks += 1
                await asyncio.sleep(0.005)

        t0 = time.perf_counter()
        (result, problem), _ = await asyncio.gather(g.call(lambda r: r.read(2), 0.05), ticker())
        return result, problem, time.perf_counter() - t0, ticks

    result, problem, took, ticks = asyncio.run(main())
    store.release.set()
    assert result is None and "timed out" in problem and took < 1.0 and ticks == 10


def test_failures_open_the_breaker_and_a_recovered_store_closes_it():
    store = FakeStore()
    g = guard(store)
    store.fail = True
    for _ in range(2):
        assert "refused" in call(g, lambda r: r.read(1), 1)[1]
    calls_before = g.calls
    skipped = call(g, lambda r: r.read(1), 1)
    assert "circuit open" in skipped[1] and g.status()["state"] == "open" and g.calls == calls_before + 1
    store.fail = False
    time.sleep(0.35)  # the back-off passes: one trial call, which succeeds
    assert call(g, lambda r: r.read(3), 1) == (6, None)
    assert g.status()["state"] == "closed" and g.status()["failures_in_a_row"] == 0


def test_a_failed_trial_reopens_the_breaker():
    store = FakeStore()
    g = guard(store)
    store.fail = True
    for _ in range(2):
        call(g, lambda r: r.read(1), 1)
    time.sleep(0.35)
    assert "refused" in call(g, lambda r: r.read(1), 1)[1]  # the trial fails
    assert "circuit open" in call(g, lambda r: r.read(1), 1)[1]


def test_the_store_is_reopened_after_a_failure():
    opened = []

    def open_store():
        opened.append(1)
        return FakeStore()

    g = StoreGuard(open_store)

    def explode(reader):
        raise OSError("file moved")

    call(g, explode, 1)
    assert call(g, lambda r: r.read(1), 1) == (2, None) and len(opened) == 2
