from caching.ttl import TTLCache


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_value_until_expiry():
    clock = FakeClock()
    cache = TTLCache(10, clock=clock)
    cache.set("k", "v")
    clock.now += 9.9
    assert cache.get("k") == "v"
    clock.now += 0.1
    assert cache.get("k") is None


def test_missing_key_gives_default():
    cache = TTLCache(10, clock=FakeClock())
    assert cache.get("nope", 42) == 42


def test_purge():
    clock = FakeClock()
    cache = TTLCache(5, clock=clock)
    cache.set("a", 1)
    clock.now += 3
    cache.set("b", 2)
    clock.now += 3
    assert cache.purge() == 1
    assert cache.get("b") == 2
