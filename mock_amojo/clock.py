"""Time and identity sources, injected into the backend so tests control both.

>>> clock = ManualClock(1639609975.0)
>>> clock.advance(60)
>>> clock.now()
1639610035.0
>>> ids = SequentialIds()
>>> ids.new(), ids.new()
('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002')
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Protocol

__all__ = ["Clock", "IdSource", "ManualClock", "RandomIds", "SequentialIds", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds (float, sub-second precision)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to — for tests of Date freshness and timestamps."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def set(self, timestamp: float) -> None:
        with self._lock:
            self._now = float(timestamp)


class IdSource(Protocol):
    def new(self) -> str:
        """A fresh UUID string."""
        ...


class RandomIds:
    """uuid4 ids, as amojo issues them."""

    def new(self) -> str:
        return str(uuid.uuid4())


class SequentialIds:
    """Predictable UUID-shaped ids (``…-000000000001``, ``…-000000000002``) for reproducible tests."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            n = next(self._counter)
        return f"00000000-0000-4000-8000-{n:012d}"
