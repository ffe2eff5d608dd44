"""amoCRM's request rate limit: at most N requests per second per integration, else 429.

amoCRM allows an integration 7 requests per second (RU/EN "Limitations" page; Kommo:
developers.kommo.com/docs/limitations). The window is one real second on a monotonic clock, not
the virtual one: a test's virtual clock rarely moves, so every request of a test would share one
"second". A limit of 0 switches the check off (load tests; ``--crm-rate-limit 0``).

>>> now = [0.0]
>>> limiter = RateLimiter(2, clock=lambda: now[0])
>>> [limiter.allow("app") for _ in range(3)]
[True, True, False]
>>> now[0] = 1.0
>>> limiter.allow("app")
True
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """A sliding one-second window per key (the integration's client_id)."""

    def __init__(self, per_second: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one request of ``key``; False when it is over the limit (it is then not counted)."""
        if self.per_second <= 0:
            return True
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - 1.0:
                seen.popleft()
            if len(seen) >= self.per_second:
                return False
            seen.append(now)
            return True

    def reset(self, per_second: int | None = None) -> None:
        """Forget every count, back on the monotonic clock; ``per_second`` changes the limit."""
        with self._lock:
            self._seen.clear()
            self.clock = time.monotonic
            if per_second is not None:
                self.per_second = per_second
