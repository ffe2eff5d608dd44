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
import os
import random
import threading
import time
from typing import Protocol

from ..config import ConfigError, check_number
from ..wire._limits import MAX_MSEC_TIMESTAMP, MAX_TIMESTAMP

__all__ = ["Clock", "IdSource", "ManualClock", "RandomIds", "SequentialIds", "SystemClock", "check_instant"]


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds (float, sub-second precision)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to — for tests of Date freshness and timestamps.

    It stays within 1970-01-01 … 9999-12-31 (:data:`~mock_amojo.wire._limits.MAX_TIMESTAMP`): the fake
    stamps messages with it, and a stamp outside that range could not be written or shown
    (:func:`check_instant`).
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else check_instant("clock", start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        check_number("clock.advance(seconds)", seconds)
        with self._lock:
            self._now = check_instant("clock after advance(seconds)", self._now + seconds)

    def set(self, timestamp: float) -> None:
        with self._lock:
            self._now = check_instant("clock.set(timestamp)", timestamp)


def check_instant(source: str, timestamp: float) -> float:
    """``timestamp`` as a clock reading: unix seconds from 1970 to 9999 (:data:`~mock_amojo.wire._limits.MAX_TIMESTAMP`).

    The fake stamps messages and ``Date`` checks with its clock; a reading outside that range could
    not be written or shown, and NaN or infinity would stop time.

    >>> check_instant("clock", 1_764_000_000_000)
    Traceback (most recent call last):
    ...
    mock_amojo.errors.ConfigError: clock: must be a finite number, 0..253402300799, got 1764000000000 (milliseconds? divide by 1000)
    """
    try:
        return float(check_number(source, timestamp, minimum=0, maximum=MAX_TIMESTAMP))
    except ConfigError as err:
        if isinstance(timestamp, int | float) and 0 <= timestamp <= MAX_MSEC_TIMESTAMP:
            raise ConfigError(f"{err} (milliseconds? divide by 1000)") from None
        raise


class IdSource(Protocol):
    def new(self) -> str:
        """A fresh UUID string."""
        ...


class RandomIds:
    """Random version-4 UUIDs, as amojo issues them.

    The fake's ids need to be unique and UUID-shaped, not unguessable: a seeded PRNG makes them
    in a quarter of ``uuid.uuid4()``'s time (no system call, no UUID object).

    >>> import uuid
    >>> value = RandomIds().new()
    >>> uuid.UUID(value).version, uuid.UUID(value).variant == uuid.RFC_4122, str(uuid.UUID(value)) == value
    (4, True, True)
    """

    def __init__(self) -> None:
        self._bits = random.Random(os.urandom(32)).getrandbits

    def new(self) -> str:
        h = "%032x" % (self._bits(128) & _UUID4_CLEAR | _UUID4_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Version 4 (bits 76-79 = 0100) and the RFC 4122 variant (bits 62-63 = 10).
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


class SequentialIds:
    """Predictable UUID-shaped ids (``…-000000000001``, ``…-000000000002``) for reproducible tests."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            n = next(self._counter)
        return f"00000000-0000-4000-8000-{n:012d}"
