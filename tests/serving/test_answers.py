"""The answer cache: hits, expiry, eviction, and never keeping an answer older than feedback."""

from __future__ import annotations

from shopfusion.serving.answers import AnswerCache


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_answer_is_served_until_it_expires():
    clock = Clock()
    cache = AnswerCache(max_users=10, ttl_s=5, clock=clock)
    assert cache.get("u") is None
    cache.put("u", "answer", cache.stamp())
    clock.now = 5
    assert cache.get("u") == "answer"
    clock.now = 5.01
    assert cache.get("u") is None
    assert cache.stats() == {"users": 1, "hits": 1, "misses": 2, "ttl_s": 5}


def test_the_least_recently_used_user_goes_first():
    cache = AnswerCache(max_users=2, ttl_s=60)
    for user in ("a", "b"):
        cache.put(user, user, cache.stamp())
    cache.get("a")
    cache.put("c", "c", cache.stamp())
    assert [cache.get(u) for u in ("a", "b", "c")] == ["a", None, "c"]


def test_feedback_drops_the_answer_and_one_computed_before_it_is_not_kept():
    cache = AnswerCache(max_users=10, ttl_s=60)
    cache.put("u", "old", cache.stamp())
    before = cache.stamp()  # a request reads the features ...
    cache.invalidate({"u"})  # ... the user's feedback lands ...
    assert cache.get("u") is None
    cache.put("u", "stale", before)  # ... and the request finishes with the old features
    assert cache.get("u") is None
    cache.put("u", "fresh", cache.stamp())
    assert cache.get("u") == "fresh"
    cache.invalidate({"someone-else"})
    assert cache.get("u") == "fresh"


def test_zero_users_means_off():
    cache = AnswerCache(max_users=0, ttl_s=60)
    cache.put("u", "answer", cache.stamp())
    assert not cache.enabled and cache.get("u") is None
