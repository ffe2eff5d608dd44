"""The record of every amojo API request the fake received, with its verdict.

Bounded (oldest entries fall off) so a server left up for days keeps flat memory.

>>> journal = Journal(maxlen=2)
>>> for n in range(3):
...     _ = journal.record({"path": f"/{n}", "status": 200})
>>> [e["path"] for e in journal.entries()]
['/1', '/2']
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Journal", "JournalEntry"]

JournalEntry = dict[str, Any]


class Journal:
    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[JournalEntry], None]] = []

    def record(self, entry: JournalEntry) -> JournalEntry:
        """Append ``entry`` (given a sequence number ``seq``) and tell listeners."""
        with self._lock:
            entry["seq"] = next(self._seq)
            self._entries.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(entry)
        return entry

    def subscribe(self, listener: Callable[[JournalEntry], None]) -> Callable[[], None]:
        """Call ``listener`` for each new entry; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def entries(self, *, since: int = 0, refused_only: bool = False, limit: int | None = None) -> list[JournalEntry]:
        """Entries with ``seq > since``, oldest first; ``refused_only`` keeps 4xx/5xx answers."""
        with self._lock:
            selected = [e for e in self._entries if e["seq"] > since and (not refused_only or e.get("status", 0) >= 400)]
        return selected[-limit:] if limit else selected

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
