"""The record of every amojo API request the fake received, with its verdict.

Bounded twice, so a server left up for days keeps flat memory: at most ``maxlen`` entries, and at
most ``max_bytes`` of what they keep of bodies (an entry's :attr:`~DeferredEntry.size`); past
either, the oldest entries fall off.

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
from typing import Any, Protocol

from ..config import DEFAULT_JOURNAL_BYTES

__all__ = ["DeferredEntry", "Journal", "JournalEntry", "explain_entry"]

JournalEntry = dict[str, Any]


class DeferredEntry(Protocol):
    """An entry kept compact and turned into a :data:`JournalEntry` only when someone reads it.

    The API records one per request and most are never read: building the dict (with its
    nested dicts) on every request would cost time and leave several objects a request for
    the garbage collector to visit until the entry falls off.
    """

    seq: int
    status: int
    #: Bytes the entry keeps alive, about: what it keeps of the bodies, plus its own fields.
    size: int

    def build(self) -> JournalEntry:
        """The entry as a dict (without ``seq``)."""
        ...


def _built(item: JournalEntry | DeferredEntry) -> JournalEntry:
    if isinstance(item, dict):
        return item
    entry = item.build()
    entry["seq"] = item.seq
    return entry


def _seq(item: JournalEntry | DeferredEntry) -> int:
    return item["seq"] if isinstance(item, dict) else item.seq


def _status(item: JournalEntry | DeferredEntry) -> int:
    return item.get("status", 0) if isinstance(item, dict) else item.status


#: What a plain dict entry keeps besides bodies, and at most of an answer (an API entry shows 16 KiB of one).
_DICT_SIZE = 1024
_DICT_ANSWER = 16 * 1024


def _size(item: JournalEntry | DeferredEntry) -> int:
    if not isinstance(item, dict):
        return item.size
    # A built entry (an injected outage, a request whose secret was redacted): its body as shown, its answer at most.
    request = item.get("request")
    body = request.get("body") if isinstance(request, dict) else None
    return _DICT_SIZE + (len(body) if isinstance(body, str) else 0) + (_DICT_ANSWER if item.get("response") is not None else 0)


_SHOWN_BODY_CHARS = 600


class Journal:
    def __init__(self, maxlen: int = 10_000, *, max_bytes: int = DEFAULT_JOURNAL_BYTES) -> None:
        self._entries: deque[JournalEntry | DeferredEntry] = deque()
        self._maxlen = maxlen
        self._max_bytes = max_bytes
        self._bytes = 0
        self._seq = itertools.count(1)
        #: The seq of the last entry recorded (0: none yet); entries cleared or fallen off keep theirs.
        self.last_seq = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[JournalEntry], None]] = []

    def record(self, entry: JournalEntry | DeferredEntry) -> int:
        """Append ``entry``, giving it the next sequence number ``seq`` (returned), and tell listeners."""
        size = _size(entry)
        with self._lock:
            seq = self.last_seq = next(self._seq)
            if isinstance(entry, dict):
                entry["seq"] = seq
            else:
                entry.seq = seq
            entries = self._entries
            if len(entries) >= self._maxlen:
                self._bytes -= _size(entries.popleft())
            entries.append(entry)
            self._bytes += size
            # The newest entry stays whatever its size: a test reads what it just sent.
            while self._bytes > self._max_bytes and len(entries) > 1:
                self._bytes -= _size(entries.popleft())
            listeners = list(self._listeners) if self._listeners else None
        if listeners:
            built = _built(entry)
            for listener in listeners:
                listener(built)
        return seq

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
            selected = [e for e in self._entries if _seq(e) > since and (not refused_only or _status(e) >= 400)]
        return [_built(e) for e in (selected[-limit:] if limit else selected)]

    def recorded_since(self, seq: int) -> list[JournalEntry | DeferredEntry]:
        """The entries after ``seq`` as they were recorded (unbuilt), oldest first.

        For a reader that polls (the terminal log): nothing is built, so the requests pay nothing for it.
        """
        with self._lock:
            # The entries' seqs run without a gap up to last_seq (clear() empties it whole): count, do not compare.
            count = min(len(self._entries), self.last_seq - seq)
            newer = list(itertools.islice(reversed(self._entries), count)) if count > 0 else []
        newer.reverse()
        return newer

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def kept_bytes(self) -> int:
        """About how many bytes the entries keep alive (what counts against ``max_bytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def explain_entry(entry: JournalEntry) -> str:
    """A journal entry as a person reads it: the request, the verdict, why and how to fix it.

    >>> print(explain_entry({"method": "POST", "path": "/v2/origin/custom/x/chats", "status": 404,
    ...     "error_type": "SCOPE_NOT_FOUND", "error_description": "No connected scope with scope_id 'x'.",
    ...     "hint": "Call connect first.", "request": {"body": "{}"}}))
    POST /v2/origin/custom/x/chats -> 404 SCOPE_NOT_FOUND
      No connected scope with scope_id 'x'.
      how to fix: Call connect first.
      request body: {}
    """
    query = f"?{entry['query']}" if entry.get("query") else ""
    status = entry.get("status")
    lines = [f"{entry.get('method', '?')} {entry.get('path', '?')}{query} -> {status} {entry.get('error_type', '')}".rstrip()]
    if entry.get("error_description"):
        lines.append(f"  {entry['error_description']}")
    if entry.get("hint"):
        lines.append(f"  how to fix: {entry['hint']}")
    verdict = entry.get("verdict") or {}
    if isinstance(verdict, dict) and verdict.get("check") not in (None, "OK"):
        if verdict.get("canonical") is not None:
            lines.append("  the canonical string the fake signed (method, Content-MD5, Content-Type, Date, path):")
            lines.extend(f"    | {part}" for part in str(verdict["canonical"]).split("\n"))
        for key, label in (
            ("received_signature", "received X-Signature"),
            ("received_md5", "received Content-MD5"),
            ("body_md5", "MD5 of the body received"),
            ("date_age_seconds", "Date age (seconds)"),
        ):
            if verdict.get(key) is not None:
                lines.append(f"  {label}: {verdict[key]}")
    detail = (entry.get("response") or {}).get("detail") if isinstance(entry.get("response"), dict) else None
    detail = detail or entry.get("detail")
    if isinstance(detail, dict) and "pointer" in detail and "rule" in detail:
        lines.append(f"  at JSON pointer {detail['pointer']} (rule {detail['rule']!r}), value: {detail.get('value')!r}")
        for extra in detail.get("errors", []):
            if extra.get("pointer") != detail["pointer"]:
                lines.append(f"  also at {extra.get('pointer')}: {extra.get('message')}")
    elif isinstance(detail, dict) and "traceback" in detail:
        # The last frames say where the fake broke; the full traceback is in the journal.
        lines.append("  traceback inside mock-amojo (last lines):")
        lines.extend(f"    {line}" for line in str(detail["traceback"]).rstrip().splitlines()[-3:])
    for warning in entry.get("warnings") or ():
        lines.append(f"  warning {warning['rule']}: {warning['message']}")
    headers = (entry.get("request") or {}).get("headers") or {}
    if headers and status == 403:
        lines.append("  signed headers received: " + ", ".join(f"{k}: {v}" for k, v in headers.items()))
    body = (entry.get("request") or {}).get("body")
    if body:
        shown = body if len(body) <= _SHOWN_BODY_CHARS else body[:_SHOWN_BODY_CHARS] + "…"
        lines.append(f"  request body: {shown}")
    return "\n".join(lines)
