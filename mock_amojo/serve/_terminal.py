"""What ``mock-amojo serve`` prints while it runs: one line per amojo request and per webhook attempt.

A request line names the method, the path (ids shortened), the status, the endpoint or why it was
refused, and how long the fake took; a webhook line names the hook, where it went, its outcome (the
receiver's status, or why it failed or was not sent) and how long the receiver took. ``text`` lines
are coloured on a terminal (not with ``NO_COLOR``); ``json`` lines are one object each, for CI.

The requests pay nothing for their lines: a writer thread reads what is new in the journal every
:data:`FLUSH_DELAY` seconds (:meth:`~mock_amojo.domain._journal.Journal.recorded_since`, nothing built)
and writes all its lines in one write. Under a flood at most :data:`MAX_LINES` accepted requests a
flush get a line, the rest a count; refusals and webhook attempts always get theirs. No line holds a
channel secret: a request that carried one is journaled redacted, a webhook line is redacted with
its channel's secret.

>>> import io
>>> from mock_amojo.domain import Backend
>>> backend, out = Backend(), io.StringIO()
>>> log = TerminalLog(out, backend, color=False)
>>> _ = backend.journal.record({"at": 0.0, "method": "POST", "path": "/v2/origin/custom/f90ba33d-c9d9-44da-b76c-c349b0ecbe41/connect",
...     "status": 403, "endpoint": "connect", "error_type": "SIGNATURE_MISMATCH", "duration_ms": 0.41})
>>> log.flush()
>>> print(out.getvalue().rstrip())
00:00:00.000  amojo  POST /v2/origin/custom/f90ba33d…/connect  403 SIGNATURE_MISMATCH  0.4 ms
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

import orjson

from ..domain import Backend
from ..webhooks import Delivery, WebhookDispatcher
from ..wire._redaction import redact_secrets

__all__ = ["MAX_LINES", "TerminalLog", "wants_color"]

#: Accepted requests that get a line of their own per flush; more are counted (a person reads no more).
MAX_LINES = 50
#: How long lines wait to be written together: short for a person, long enough to batch a burst.
FLUSH_DELAY = 0.05
#: Most webhook attempts waiting for their line while the writer is blocked (a pipe nobody reads).
MAX_PENDING = 10_000

_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_MAX_PATH = 100
_MAX_ERROR = 120
_RESET = "\x1b[0m"
_COLORS = {"ok": "\x1b[32m", "refused": "\x1b[33m", "failed": "\x1b[31m", "dim": "\x1b[2m"}


def wants_color(stream: IO[str], env: dict[str, str] | None = None) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set (no-color.org)."""
    env = dict(os.environ) if env is None else env
    isatty = getattr(stream, "isatty", None)
    return not env.get("NO_COLOR") and callable(isatty) and bool(isatty())


@functools.lru_cache(maxsize=1024)
def _short(text: str, limit: int) -> str:
    """``text`` with every UUID cut to its first 8 characters, and at most ``limit`` characters (a request's paths repeat: cached)."""
    text = _UUID.sub(lambda match: match.group(0)[:8] + "…", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_second: list[Any] = [None, ""]


def _clock(at: float) -> str:
    """``at`` as HH:MM:SS.mmm (UTC); the seconds' text is made once a second."""
    whole = int(at)
    if _second[0] != whole:
        _second[0], _second[1] = whole, time.strftime("%H:%M:%S", time.gmtime(whole))
    return f"{_second[1]}.{int((at - whole) * 1000):03d}"


class TerminalLog:
    """Lines for the amojo requests in ``backend``'s journal and for the webhook attempts it is told of (:meth:`hook`).

    :meth:`flush` writes the lines of everything new since the last flush; :meth:`attach` flushes
    every :data:`FLUSH_DELAY` seconds from a thread of its own, so a terminal or pipe nobody reads (a
    full pipe blocks its writer) never holds up the fake.
    """

    def __init__(self, stream: IO[str], backend: Backend, *, color: bool, json: bool = False) -> None:
        self.stream = stream
        self.backend = backend
        self.color = color
        self.json = json
        self._seen = backend.journal.last_seq  # what is already there is not new
        self._hooks: deque[tuple[int, Delivery]] = deque(maxlen=MAX_PENDING)
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None

    def attach(self, webhooks: WebhookDispatcher) -> Callable[[], None]:
        """Log ``webhooks``' attempts too, and flush from a writer thread; returns the function that stops it."""
        webhooks.add_listener(self.hook)
        self._writer = threading.Thread(target=self._write_loop, name="mock-amojo-terminal-log", daemon=True)
        self._writer.start()

        def detach() -> None:
            webhooks.remove_listener(self.hook)
            self._stop.set()
            if self._writer is not None:
                self._writer.join(1.0)  # a write blocked on a full pipe must not hold the shutdown

        return detach

    def hook(self, delivery: Delivery) -> None:
        """A webhook attempt that ended (delivered, failed or skipped); its line is written at the next flush."""
        # With the last request journaled by then: its line goes among the requests' lines as it happened.
        self._hooks.append((self.backend.journal.last_seq, delivery))

    def _write_loop(self) -> None:
        while not self._stop.wait(FLUSH_DELAY):
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Format and write, in one write, a line for every request and webhook attempt since the last flush.

        Accepted requests past the first :data:`MAX_LINES` are counted instead; refusals always get a line.
        """
        seen = self._seen
        entries = self.backend.journal.recorded_since(seen)
        if entries:
            self._seen = _seq(entries[-1])
        missed = _seq(entries[0]) - seen - 1 if entries else 0  # fell off a full journal (or a reset cleared them) before this flush
        hooks = [self._hooks.popleft() for _ in range(len(self._hooks))]
        if not entries and not hooks:
            return
        counted = 0
        if len(entries) > MAX_LINES:  # a flood: every refusal, the first accepted requests, a count of the others
            kept, budget = [], MAX_LINES
            for entry in entries:
                if (entry["status"] if isinstance(entry, dict) else entry.status) >= 400:
                    kept.append(entry)
                elif budget:
                    budget -= 1
                    kept.append(entry)
            counted, entries = len(entries) - len(kept), kept
        lines: list[str] = []
        for entry in entries:
            while hooks and hooks[0][0] < _seq(entry):
                lines.append(self._hook_line(hooks.pop(0)[1]))
            lines.append(self._api_line(entry))
        lines += [self._hook_line(delivery) for _, delivery in hooks]
        if counted or missed > 0:
            lines.append(self._counted_line(counted, max(missed, 0)))
        try:
            self.stream.write("".join(lines))
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal or pipe must not stop the fake
            pass

    def _api_line(self, entry: Any) -> str:
        if isinstance(entry, dict):
            at, method, path, status = entry.get("at", 0.0), entry.get("method", ""), entry.get("path", ""), entry.get("status", 0)
            endpoint, error, ms = entry.get("endpoint", ""), entry.get("error_type"), entry.get("duration_ms", 0.0)
            description = entry.get("error_description") or ""
        else:
            at, method, path, status = entry.at, entry.method, entry.path, entry.status
            endpoint, error, ms = entry.endpoint, entry.error_code, entry.duration * 1000
            description = entry.error_description or ""
        verdict = error or endpoint
        if status >= 500 and description:
            # A bug in the fake: its exception in a few words (the journal has the traceback).
            verdict = f"{verdict} {_short(description.removeprefix('mock-amojo failed on this request: '), _MAX_ERROR)}"
        if self.json:
            record = {"at": at, "kind": "amojo", "method": method, "path": path, "status": status, "endpoint": endpoint}
            if error:
                record["error_type"] = error
            record["ms"] = round(ms, 3)
            return orjson.dumps(record).decode() + "\n"
        tone = "ok" if status < 400 else "refused" if status < 500 else "failed"
        shown = f"{status} {verdict}"
        return f"{_clock(at)}  amojo  {method} {_short(path, _MAX_PATH)}  {self._paint(shown, tone)}  {ms:.1f} ms\n"

    def _hook_line(self, delivery: Delivery) -> str:
        secret = self._secret(delivery.channel_id)
        url, error = delivery.url, delivery.error
        if secret and (secret in url.lower() or secret in error.lower()):
            url, error = redact_secrets(url, (secret,)), redact_secrets(error, (secret,))
        at = delivery.attempted_at if delivery.attempted_at is not None else delivery.queued_at
        if self.json:
            record: dict[str, Any] = {"at": at, "kind": "webhook", "hook": delivery.kind, "url": url, "outcome": delivery.outcome}
            record["status"] = delivery.status_code
            if error:
                record["error"] = error
            record["ms"] = delivery.latency_ms
            return orjson.dumps(record).decode() + "\n"
        if delivery.outcome == "delivered":
            shown, tone = f"{delivery.status_code} delivered", "ok"
        elif delivery.outcome == "skipped":
            shown, tone = f"skipped: {_short(error, _MAX_ERROR)}", "dim"
        elif delivery.status_code is not None:
            shown, tone = f"{delivery.status_code} failed (only 200 counts)", "failed"
        else:
            shown, tone = f"failed {_short(error, _MAX_ERROR)}", "failed"
        ms = f"  {delivery.latency_ms:.1f} ms" if delivery.latency_ms is not None else ""
        target = _short(url, _MAX_PATH) if url else "(no webhook_url)"
        return f"{_clock(at)}  hook   {delivery.kind} → {target}  {self._paint(shown, tone)}{ms}\n"

    def _counted_line(self, counted: int, missed: int) -> str:
        if self.json:
            return orjson.dumps({"at": time.time(), "kind": "amojo", "more_accepted": counted, "not_shown": missed}).decode() + "\n"
        parts = [f"{counted} more accepted amojo requests (a line each for the first {MAX_LINES} a flush)"] if counted else []
        if missed:
            parts.append(f"{missed} requests the journal no longer held (more than it keeps, or a reset)")
        text = "… " + "; ".join(parts) + "; /__mock__/journal has the latest"
        return f"{_clock(time.time())}  amojo  {self._paint(text, 'dim')}\n"

    def _paint(self, text: str, tone: str) -> str:
        return f"{_COLORS[tone]}{text}{_RESET}" if self.color else text

    def _secret(self, channel_id: str) -> str:
        channel = self.backend.find_channel(channel_id)
        return channel.secret.lower() if channel is not None else ""


def _seq(entry: Any) -> int:
    return int(entry["seq"] if type(entry) is dict else entry.seq)
