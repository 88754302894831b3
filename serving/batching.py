"""Adaptive micro-batching of concurrent requests on the service's event loop.

Scoring 8 users in one call costs about a third per user of 8 single calls (the feature read,
the models and the stacker are vectorized over users; the per-call overhead is Python's).
The first request to reach `submit` opens a batch, and those that reach it before it runs
join it (up to `max_batch`). Requests that piled up while the loop was scoring the previous
batch arrive spread over several loop passes, so a batch opened less than `max_wait_s` after
the previous one ended stays open that long (without the window, batches under load stay
small); on a loop that was idle it runs in the next pass, so a request alone waits for nobody.

Scoring runs on the loop itself, not in request threads: one process holds one GIL, and a
thread that released it (every torch op, every read) queued to get it back behind the loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


class LoopBatcher:
    def __init__(self, fn: Callable[[list], list], max_batch: int, max_wait_s: float):
        """`fn` maps a batch of items to their results; a coroutine function is awaited in a
        task of its own (its I/O does not hold the loop), a plain one runs in place."""
        self.fn, self.max_batch, self.max_wait_s = fn, max_batch, max_wait_s
        self._timer: asyncio.TimerHandle | None = None
        self._last_end = float("-inf")  # loop time the previous batch ended
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self.calls = self.requests = 0  # how well batching works: requests / calls

    async def submit(self, item):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) >= self.max_batch:
            self._run()
        elif self._timer is None:
            busy = loop.time() - self._last_end < self.max_wait_s
            self._timer = loop.call_later(self.max_wait_s if busy else 0, self._run)
        return await future

    def _run(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch:]
            self.calls, self.requests = self.calls + 1, self.requests + len(batch)
            if inspect.iscoroutinefunction(self.fn):  # it awaits I/O: the loop serves others meanwhile
                asyncio.get_running_loop().create_task(self._settle(batch))
                continue
            try:
                _deliver(batch, self.fn([item for item, _ in batch]))
            except Exception as exc:
                _deliver(batch, exc)
        self._last_end = asyncio.get_running_loop().time()

    async def _settle(self, batch: list) -> None:
        try:
            _deliver(batch, await self.fn([item for item, _ in batch]))
        except Exception as exc:
            _deliver(batch, exc)
        self._last_end = asyncio.get_running_loop().time()


def _deliver(batch: list, results: list | Exception) -> None:
    """Each caller's result, or the failure to every caller of the batch."""
    for i, (_, future) in enumerate(batch):
        if future.cancelled():  # the client went away
            continue
        if isinstance(results, Exception):
            future.set_exception(results)
        else:
            future.set_result(results[i])


class SerialLane:
    """Work in arrival order, one call at a time; each call takes everything that arrived
    while the previous one ran, up to `max_weight` (at least one item).

    For feedback: concurrent clicks share one durable write and one online-store push instead
    of queueing behind each other, a user's events are applied in the order they came, and a
    large request submitted in chunks lets single clicks in between its chunks.
    """

    def __init__(self, fn: Callable[[list], Awaitable[list]], max_weight: int,
                 weight: Callable[[object], int] = lambda item: 1):
        self.fn, self.max_weight, self.weight = fn, max_weight, weight
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        self.calls = self.items = 0

    async def submit(self, item):
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())
        return await future

    async def _work(self) -> None:
        try:
            while self._waiting:
                taken, weight = 0, 0
                for item, _ in self._waiting:
                    weight += self.weight(item)
                    if taken and weight > self.max_weight:
                        break
                    taken += 1
                batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
                self.calls, self.items = self.calls + 1, self.items + len(batch)
                try:
                    _deliver(batch, await self.fn([item for item, _ in batch]))
                except Exception as exc:
                    _deliver(batch, exc)
        finally:
            self._worker = None
