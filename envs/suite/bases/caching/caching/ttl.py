"""A cache whose entries expire a fixed time after they were set."""

import time


class TTLCache:
    def __init__(self, ttl, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self.items = {}

    def set(self, key, value):
        self.items[key] = (value, self.clock() + self.ttl)

    def get(self, key, default=None):
        try:
            value, expires = self.items[key]
        except KeyError:
            return default
        if self.clock() >= expires:
            del self.items[key]
            return default
        return value

    def purge(self):
        """Drop every expired entry; returns how many went."""
        now = self.clock()
        expired = [key for key, (_, expires) in self.items.items() if now >= expires]
        for key in expired:
            del self.items[key]
        return len(expired)
