"""Which :class:`~mock_amojo.domain.Backend` calls change state, and who hears about each change.

A Backend method decorated with :func:`mutation` is one state change, recorded as the domain
event it names (:mod:`mock_amojo.domain._events`). The outermost mutating call on a thread becomes one
:class:`Change`: the event and its named data, every id, timestamp and secret it drew (the
*tape*) and whether it raised. Nested mutating calls (``connect`` registering an unknown
account) are part of the outer change.

*Recorders* (the durable store) hear a change inside the state lock, before the call
returns — so an HTTP answer is only sent for a change already recorded. *Listeners* (the
console's live feed) hear it after. :meth:`ChangeFeed.replay` re-runs a recorded change
with its tape, so the state it rebuilds is the state that was acknowledged.

>>> from mock_amojo.domain._clock import ManualClock, SequentialIds
>>> from mock_amojo.domain import Backend
>>> heard = []
>>> backend = Backend(clock=ManualClock(0), ids=SequentialIds())
>>> backend.changes.add_recorder(heard.append)
>>> _ = backend.register_account(amojo_id="acc-1", name="Shop")
>>> heard[0].event, heard[0].data, heard[0].tape
('account_registered', {'amojo_id': 'acc-1', 'name': 'Shop', 'users': None}, ['00000000-0000-4000-8000-000000000001'])
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import orjson

from ._clock import Clock, IdSource
from ._events import EVENTS, Recorder, recorder

__all__ = ["Change", "ChangeFeed", "TapedClock", "TapedIds", "mutation"]

_log = logging.getLogger("mock_amojo.domain._changes")

Taped = str | float
F = TypeVar("F", bound=Callable[..., Any])


class Change:
    """One state change: the event, its data, and the tape that replays it to the same state."""

    __slots__ = ("_data", "_json", "event", "failed", "tape")

    def __init__(self, event: str, data: dict[str, Any], tape: list[Taped] | None = None, failed: bool = False) -> None:
        self.event = event
        self._data: dict[str, Any] | None = data
        self._json: bytes | None = None
        self.tape: list[Taped] = [] if tape is None else tape
        self.failed = failed

    @classmethod
    def _captured(cls, event: str, data_json: bytes, tape: list[Taped], failed: bool) -> Change:
        # The data was encoded before the call ran (a method may keep and later change what it was given).
        change = cls(event, {}, tape, failed)
        change._data, change._json = None, data_json
        return change

    @property
    def data(self) -> dict[str, Any]:
        """The event's named fields (:data:`mock_amojo.domain._events.EVENTS`)."""
        if self._data is None:
            self._data = orjson.loads(self._json or b"{}")
        return self._data

    def encode(self) -> bytes:
        """The change as one record of the durable format."""
        data = self._json if self._json is not None else orjson.dumps(self._data)
        tail = b',"failed":true}' if self.failed else b',"failed":false}'
        return b"".join((b'{"event":', orjson.dumps(self.event), b',"data":', data, b',"tape":', orjson.dumps(self.tape), tail))

    @classmethod
    def decode(cls, raw: bytes | str) -> Change:
        record = orjson.loads(raw)
        return cls(record["event"], record["data"], record["tape"], record["failed"])

    def __repr__(self) -> str:
        failed = ", failed" if self.failed else ""
        return f"Change({self.event!r}, {self.data!r}, tape={self.tape!r}{failed})"


class _Tape:
    """The values one outermost call draws, in order; replayed values are handed back instead."""

    __slots__ = ("position", "replay", "values")

    def __init__(self, replay: list[Taped] | None = None) -> None:
        self.values: list[Taped] = []
        self.replay = replay
        self.position = 0

    def draw(self, make: Callable[[], Taped]) -> Taped:
        if self.replay is not None and self.position < len(self.replay):
            value = self.replay[self.position]
            self.position += 1
        else:
            # Past the end of a replayed tape (the code changed since it was recorded): draw afresh.
            value = make()
        self.values.append(value)
        return value


class _Unheard(_Tape):
    """The tape of a change nobody records or listens to: it keeps nothing."""

    def draw(self, make: Callable[[], Taped]) -> Taped:
        return make()


_UNHEARD = _Unheard()


class ChangeFeed:
    """Announces each outermost mutating call of one backend to recorders and listeners."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._recorders: list[Callable[[Change], None]] = []
        self._listeners: list[Callable[[Change], None]] = []
        #: Counts successful and failed changes; the console uses it to tell stale views.
        self.revision = 0

    def add_recorder(self, recorder: Callable[[Change], None]) -> None:
        """``recorder`` runs inside the state lock before the call returns; if it raises, so does the call."""
        self._recorders.append(recorder)

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """``listener`` runs after each change (its errors are logged, never raised); returns an unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def draw(self, make: Callable[[], Taped]) -> Taped:
        """A value from ``make`` — recorded on the tape when a change is in progress on this thread."""
        tape: _Tape | None = getattr(self._local, "tape", None)
        return make() if tape is None else tape.draw(make)

    def run(self, record: Recorder, args: tuple[Any, ...], kwargs: dict[str, Any], call: Callable[[], Any]) -> Any:
        """Run ``call`` as the change ``record`` makes of ``args``/``kwargs``; the caller holds the state lock."""
        local = self._local
        if getattr(local, "tape", None) is not None:
            return call()  # nested: part of the outer change
        replay: list[Taped] | None = getattr(local, "replay", None)
        if replay is not None or (not self._recorders and not self._listeners):
            # Replayed, or nobody will hear of this change: no event to make, no tape to keep.
            local.tape = _UNHEARD if replay is None else _Tape(replay)
            try:
                return call()
            finally:
                local.tape = None
                if replay is None:
                    self.revision += 1
        event, data = record(args, kwargs)
        # Encoded before the call: a method may keep (and later change) what it was given.
        data_json = orjson.dumps(data)
        tape = _Tape()
        local.tape = tape
        failed = False
        try:
            return call()
        except Exception:
            failed = True
            raise
        finally:
            local.tape = None
            self.revision += 1
            change = Change._captured(event, data_json, tape.values, failed)
            for recorder_ in self._recorders:
                recorder_(change)
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:  # a broken listener must not fail the request
                    _log.exception("change listener failed")

    def replay(self, target: Any, change: Change) -> bool:
        """Re-run ``change`` on ``target`` with its tape, telling no one; False if it ended unlike it was recorded."""
        event = EVENTS.get(change.event)
        if event is None:
            return False
        self._local.replay = change.tape
        try:
            event.replay(target, change.data)
        except Exception:
            return change.failed
        finally:
            self._local.replay = None
        return not change.failed


class _Mutable(Protocol):
    changes: ChangeFeed
    #: The backend's state lock (an RLock: the method takes it again inside).
    _lock: AbstractContextManager[Any]


def mutation(*events: str) -> Callable[[F], F]:
    """Mark a Backend method as a state change, recorded as one of ``events`` (see the module docs)."""

    def decorate(method: F) -> F:
        record = recorder(method, events)

        @functools.wraps(method)
        def changing(self: _Mutable, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return self.changes.run(record, args, kwargs, functools.partial(method, self, *args, **kwargs))

        changing.__mutation__ = events  # type: ignore[attr-defined]
        return changing  # type: ignore[return-value]

    return decorate


class TapedIds:
    """An id source whose ids, drawn during a change, go on the change's tape."""

    def __init__(self, inner: IdSource, feed: ChangeFeed) -> None:
        self.inner = inner
        self._feed = feed

    def new(self) -> str:
        return str(self._feed.draw(self.inner.new))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TapedClock:
    """A clock whose readings, taken during a change, go on the change's tape."""

    def __init__(self, inner: Clock, feed: ChangeFeed) -> None:
        self.inner = inner
        self._feed = feed

    def now(self) -> float:
        return float(self._feed.draw(self.inner.now))

    def __getattr__(self, name: str) -> Any:
        # ManualClock.advance / .set and the like stay reachable through the backend's clock.
        return getattr(self.inner, name)
