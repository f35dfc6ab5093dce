import pytest

from caching.lru import LRUCache, memoize


def test_get_and_put():
    cache = LRUCache(2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert cache.get("zz", "none") == "none"


def test_full_cache_keeps_capacity_items():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert "a" in cache and "b" in cache
    assert len(cache) == 2


def test_evicts_least_recently_used():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert "b" not in cache
    assert "a" in cache and "c" in cache


def test_hit_rate():
    cache = LRUCache(3)
    assert cache.hit_rate() == 0.0
    cache.put(1, 1)
    cache.get(1)
    cache.get(2)
    assert cache.hit_rate() == 0.5


def test_bad_capacity():
    with pytest.raises(ValueError, match="at least 1"):
        LRUCache(0)


def test_memoize_calls_once_per_argument():
    calls = []

    @memoize(8)
    def square(x):
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]
