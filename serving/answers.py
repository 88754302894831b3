"""Each user's fused candidates, kept between requests.

A hit skips the online-store read and the six models (~7 ms of one core at 100k items; a hit
costs well under a millisecond); k, bans and cold slots are still applied per request. An
entry goes when the user's own feedback arrives (the service pushes that feedback to the online
store itself, so the next request must see it), when it is older than `ttl_s` (the bound on
staleness from writes that bypass the service, such as a materialization run), and with its
engine on reload. Degraded answers are not kept. One cache per worker process: the service
runs one worker, so feedback always reaches the cache it must invalidate (several workers
would need the invalidation shared, as they would the feedback dedupe).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_DROPPED = object()  # tombstone: the user's answer was invalidated at the stamp it carries


class AnswerCache:
    def __init__(self, max_users: int, ttl_s: float, clock: Callable[[], float] = time.monotonic):
        self.max_users, self.ttl_s, self.clock = max_users, ttl_s, clock
        self._entries: OrderedDict[str, tuple[int, float, Any]] = OrderedDict()  # user -> (stamp, at, value)
        self._stamp = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_users > 0

    def stamp(self) -> int:
        """Take before reading what an answer is computed from; `put` it with the answer."""
        with self._lock:
            return self._stamp

    def get(self, user: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(user)
            if entry is None or entry[2] is _DROPPED or self.clock() - entry[1] > self.ttl_s:
                self.misses += 1
                return None
            self._entries.move_to_end(user)
            self.hits += 1
            return entry[2]

    def put(self, user: str, value: Any, stamp: int) -> None:
        """Keep `value`, unless the user was invalidated after `stamp` was taken: the answer was
        then computed from features older than the feedback."""
        if not self.enabled:
            return
        with self._lock:
            entry = self._entries.get(user)
            if entry is not None and entry[2] is _DROPPED and entry[0] > stamp:
                return
            self._entries[user] = (stamp, self.clock(), value)
            self._entries.move_to_end(user)
            while len(self._entries) > self.max_users:
                self._entries.popitem(last=False)

    def invalidate(self, users: set[str]) -> None:
        with self._lock:
            self._stamp += 1
            for user in users:
                self._entries[user] = (self._stamp, self.clock(), _DROPPED)
                self._entries.move_to_end(user)
            while len(self._entries) > self.max_users:
                self._entries.popitem(last=False)

    def stats(self) -> dict:
        with self._lock:
            live = sum(entry[2] is not _DROPPED for entry in self._entries.values())
            return {"users": live, "hits": self.hits, "misses": self.misses, "ttl_s": self.ttl_s}
