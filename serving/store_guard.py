"""Online-store calls that cannot stall the service: one thread, a timeout, a circuit breaker.

Every call (opening the store, a batch's feature read, a feedback push) runs on one dedicated
thread, so a hung store (frozen Redis, a network partition) holds that thread, never the event
loop that serves every endpoint. The caller waits at most its timeout and then answers
degraded. After `failures_to_open` failures in a row the breaker opens: for `open_s` the store
is not called at all (answers are degraded at once); then one trial call decides whether it
closes again. One thread also keeps the calls in order (a user's pushes) and gives SQLite the
single thread its connection expects.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable


class StoreGuard:
    def __init__(self, open_store: Callable[[], object], failures_to_open: int = 3, open_s: float = 5.0):
        self._open_store = open_store  # returns a reader; called on the store thread
        self.failures_to_open, self.open_s = failures_to_open, open_s
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="online-store")
        self._reader = None
        self._lock = threading.Lock()
        self.failures = 0  # in a row
        self.open_until = 0.0  # monotonic time the breaker stays open until
        self.last_problem: str | None = None
        self.calls = self.timeouts = self.short_circuited = 0
        self._opening: concurrent.futures.Future | None = None

    def open_in_background(self, warm_up: Callable[[object], object] = lambda reader: None) -> None:
        """Start opening the store (Feast's import and registry: seconds) and `warm_up` (a first
        read: its one-time costs) on the store thread; until then, reads answer at once with
        "still opening" (no breaker count)."""
        self._opening = self._thread.submit(self._on_thread, warm_up)

    @property
    def opening(self) -> bool:
        return self._opening is not None and not self._opening.done()

    # --- calls ----------------------------------------------------------------------------
    async def call(self, work: Callable[[object], object], timeout_s: float,
                   wait_open_s: float | None = None) -> tuple[object, str | None]:
        """(work(reader), None), or (None, why) on failure, timeout or an open breaker; the
        event loop is free meanwhile. While the store is still opening the call waits up to
        `wait_open_s` for it, else answers at once."""
        if self.opening:
            if wait_open_s is None:
                return None, "online store still opening (service starting)"
            timeout_s = max(timeout_s, wait_open_s)
        refused = self._refused()
        if refused:
            return None, refused
        future = asyncio.wrap_future(self._thread.submit(self._on_thread, work))
        try:  # shield: a timed-out call finishes on the store thread, in order
            return self._succeeded(await asyncio.wait_for(asyncio.shield(future), timeout_s)), None
        except Exception as exc:
            return None, self._failed(exc, timeout_s)

    def _on_thread(self, work):
        if self._reader is None:
            self._reader = self._open_store()
        try:
            return work(self._reader)
        except Exception:
            self._reader = None  # reopened on the next call (a restarted store, a moved file)
            raise

    # --- breaker ----------------------------------------------------------------------------
    def _refused(self) -> str | None:
        with self._lock:
            self.calls += 1
            if time.monotonic() < self.open_until:
                self.short_circuited += 1
                return f"online store skipped (circuit open after: {self.last_problem})"
            if self.failures >= self.failures_to_open:  # half-open: this call is the trial
                self.open_until = time.monotonic() + self.open_s  # others wait for its verdict
            return None

    def _failed(self, exc: Exception, timeout_s: float) -> str:
        timeout = isinstance(exc, TimeoutError)  # asyncio's and concurrent.futures' alike
        problem = (f"online store timed out after {timeout_s * 1000:.0f} ms" if timeout else
                   f"online store unavailable: {type(exc).__name__}: {exc}")
        with self._lock:
            self.failures += 1
            self.timeouts += timeout
            self.last_problem = problem
            if self.failures >= self.failures_to_open:
                self.open_until = time.monotonic() + self.open_s
        return problem

    def _succeeded(self, result):
        with self._lock:
            self.failures, self.open_until, self.last_problem = 0, 0.0, None
        return result

    def status(self) -> dict:
        """What /readyz and /metadata say about the store."""
        with self._lock:
            state = ("open" if time.monotonic() < self.open_until else
                     "failing" if self.failures else "closed")
            return {"state": state, "failures_in_a_row": self.failures, "last_problem": self.last_problem,
                    "calls": self.calls, "timeouts": self.timeouts, "short_circuited": self.short_circuited}
