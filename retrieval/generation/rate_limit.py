"""How often one user may have an answer generated: a token bucket per user."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """A token bucket per user: `rate_per_minute` calls, refilled evenly; bounded to the most recent users."""

    def __init__(self, rate_per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 max_users: int = 10_000) -> None:
        self.capacity = float(max(rate_per_minute, 0))
        self._per_second = self.capacity / 60.0
        self._clock = clock
        self._max_users = max_users
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, user_key: str) -> bool:
        if self.capacity <= 0:
            return False
        now = self._clock()
        tokens, at = self._buckets.pop(user_key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self._per_second)
        allowed = tokens >= 1.0
        self._buckets[user_key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_users:
            self._buckets.popitem(last=False)
        return allowed
