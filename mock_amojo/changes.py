"""Which :class:`~mock_amojo.models.Backend` calls change state, and who hears about each change.

A Backend method decorated with :func:`mutation` is one state change. The outermost
mutating call on a thread becomes one :class:`Change`: the method, its arguments, every
id, timestamp and secret it drew (the *tape*) and whether it raised. Nested mutating calls
(``connect`` registering an unknown account) are part of the outer change.

*Recorders* (the durable store) hear a change inside the state lock, before the call
returns — so an HTTP answer is only sent for a change already recorded. *Listeners* (the
console's live feed) hear it after. :meth:`ChangeFeed.replay` re-runs a recorded change
with its tape, so the state it rebuilds is the state that was acknowledged.

>>> from mock_amojo.clock import ManualClock, SequentialIds
>>> from mock_amojo.models import Backend
>>> heard = []
>>> backend = Backend(clock=ManualClock(0), ids=SequentialIds())
>>> backend.changes.add_recorder(heard.append)
>>> _ = backend.register_account(amojo_id="acc-1", name="Shop")
>>> heard[0].method, heard[0].tape
('register_account', ['00000000-0000-4000-8000-000000000001'])
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

from .clock import Clock, IdSource

__all__ = ["Change", "ChangeFeed", "TapedClock", "TapedIds", "mutation"]

_log = logging.getLogger("mock_amojo.changes")

Taped = str | float
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Change:
    """One state change: enough to re-run it and land in the same state."""

    method: str
    args: list[Any]
    kwargs: dict[str, Any]
    tape: list[Taped] = field(default_factory=list)
    failed: bool = False

    def encode(self) -> bytes:
        return orjson.dumps({"method": self.method, "args": self.args, "kwargs": self.kwargs, "tape": self.tape, "failed": self.failed})

    @classmethod
    def decode(cls, raw: bytes | str) -> Change:
        data = orjson.loads(raw)
        return cls(data["method"], data["args"], data["kwargs"], data["tape"], data["failed"])


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

    def run(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], call: Callable[[], Any]) -> Any:
        """Run ``call`` as the change ``method(*args, **kwargs)``; the caller holds the state lock."""
        local = self._local
        if getattr(local, "tape", None) is not None:
            return call()  # nested: part of the outer change
        replay: list[Taped] | None = getattr(local, "replay", None)
        if replay is None and not self._recorders and not self._listeners:
            # Nobody will hear of this change: no tape to keep, only the nesting to mark.
            local.tape = _UNHEARD
            try:
                return call()
            finally:
                local.tape = None
                self.revision += 1
        # Arguments are captured before the call: a method may keep (and later change) what it was given.
        captured = orjson.loads(orjson.dumps([list(args), kwargs])) if self._recorders and replay is None else None
        tape = _Tape(replay)
        local.tape = tape
        failed = False
        try:
            return call()
        except Exception:
            failed = True
            raise
        finally:
            local.tape = None
            if replay is None:
                self.revision += 1
            if replay is None and (self._recorders or self._listeners):
                change = Change(method, captured[0] if captured else list(args), captured[1] if captured else kwargs, tape.values, failed)
                for recorder in self._recorders:
                    recorder(change)
                for listener in list(self._listeners):
                    try:
                        listener(change)
                    except Exception:  # a broken listener must not fail the request
                        _log.exception("change listener failed")

    def replay(self, target: Any, change: Change) -> bool:
        """Re-run ``change`` on ``target`` with its tape, telling no one; False if it ended unlike it was recorded."""
        self._local.replay = change.tape
        try:
            getattr(target, change.method)(*change.args, **change.kwargs)
        except Exception:
            return change.failed
        finally:
            self._local.replay = None
        return not change.failed


class _Mutable(Protocol):
    changes: ChangeFeed
    #: The backend's state lock (an RLock: the method takes it again inside).
    _lock: AbstractContextManager[Any]


def mutation(method: F) -> F:
    """Mark a Backend method as a state change (see the module docs)."""
    name = method.__name__

    @functools.wraps(method)
    def changing(self: _Mutable, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self.changes.run(name, args, kwargs, functools.partial(method, self, *args, **kwargs))

    changing.__mutation__ = True  # type: ignore[attr-defined]
    return changing  # type: ignore[return-value]


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
