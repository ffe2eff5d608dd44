"""amojo having a bad day: injected API failures an integration must survive (retries, backoff, alerting).

An :class:`OutagePlan` holds rules ("the next 2 ``send_message`` calls get 503"); :class:`OutageApp`
wraps the fake's ASGI app and answers a request a rule matches before the fake sees it — as the
load balancer in front of amojo would. Served in process, a rule with ``error`` raises the httpx
error a client would get from the network (``httpx.ReadTimeout``, ``httpx.ConnectError``); over a
real socket it answers 504, what a gateway sends when amojo does not answer in time.

Every injected failure is written to the journal (``"injected": true``), so a failing test's report
shows it next to the requests the fake refused.

>>> plan = OutagePlan()
>>> rule = plan.add(Outage(endpoint="send_message", status=503, times=1))
>>> plan.take("send_message").status, plan.take("send_message")
(503, None)
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from ..config import check_number
from ..domain import Backend
from ..wire._endpoints import ENDPOINT_NAMES, endpoint_of

__all__ = ["ENDPOINTS", "NETWORK_ERRORS", "Outage", "OutageApp", "OutagePlan", "endpoint_of"]

#: amojo's endpoint names, as rules and the journal name them.
ENDPOINTS = ENDPOINT_NAMES
#: ``error`` values: what the client sees instead of a response.
NETWORK_ERRORS = {"timeout": httpx.ReadTimeout, "connect": httpx.ConnectError}
_STATUS_TEXT = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}

ASGIScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass
class Outage:
    """One failure rule. ``times=None``: until cleared; ``error``: ``"timeout"`` or ``"connect"`` instead of a status."""

    endpoint: str = "*"
    status: int = 503
    times: int | None = 1
    error: str | None = None
    retry_after: int | None = None
    #: how many requests this rule failed so far
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.endpoint != "*" and self.endpoint not in ENDPOINTS:
            raise ValueError(f"outage endpoint: one of {', '.join(sorted(ENDPOINTS))} or '*', got {self.endpoint!r}")
        check_number("outage status (an HTTP error status)", self.status, minimum=400, maximum=599, whole=True)
        if self.error is not None and self.error not in NETWORK_ERRORS:
            raise ValueError(f"outage error: one of {', '.join(NETWORK_ERRORS)}, got {self.error!r}")
        if self.times is not None:
            check_number("outage times (or None: until cleared)", self.times, minimum=1, whole=True)
        if self.retry_after is not None:
            check_number("outage retry_after (seconds)", self.retry_after, minimum=0, whole=True)

    @classmethod
    def from_options(cls, options: Any) -> Outage:
        if isinstance(options, Outage):
            return options
        if not isinstance(options, dict):
            raise TypeError(f"an outage is a dict like {{'endpoint': 'send_message', 'status': 503}}, got {options!r}")
        unknown = sorted(set(options) - {"endpoint", "status", "times", "error", "retry_after"})
        if unknown:
            raise TypeError(f"unknown outage field(s) {', '.join(unknown)}; known: endpoint, status, times, error, retry_after")
        return cls(**options)


class OutagePlan:
    """The rules in force, first match wins; thread-safe (served and in-process requests share it)."""

    def __init__(self) -> None:
        self._rules: list[Outage] = []
        self._lock = threading.Lock()

    def add(self, outage: Outage) -> Outage:
        with self._lock:
            self._rules.append(outage)
        return outage

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[Outage]:
        with self._lock:
            return list(self._rules)

    def take(self, endpoint: str) -> Outage | None:
        """The rule failing this request (counted), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.endpoint in ("*", endpoint):
                    rule.hits += 1
                    if rule.times is not None and rule.hits >= rule.times:
                        self._rules.remove(rule)
                    return rule
        return None


class OutageApp:
    """ASGI wrapper: requests an outage rule matches fail here; everything else reaches ``app``.

    ``network_errors``: raise the rule's httpx error (in-process transports pass it to the
    client); otherwise answer 504 for such rules.
    """

    def __init__(self, app: Any, plan: OutagePlan, backend: Backend, *, network_errors: bool) -> None:
        self.app = app
        self.plan = plan
        self.backend = backend
        self.network_errors = network_errors
        self.state = app.state

    def fast_route(self, method: str, path: str) -> Any:
        """The app's inline route (:mod:`mock_amojo.serve._httpproto`) while no rule is in force; with rules, ASGI."""
        fast_route = getattr(self.app, "fast_route", None)
        if fast_route is None or self.plan.rules():
            return None
        return fast_route(method, path)

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.plan.rules():
            await self.app(scope, receive, send)
            return
        endpoint = endpoint_of(scope["method"], scope["path"])
        rule = self.plan.take(endpoint) if endpoint is not None else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        status = 504 if rule.error is not None else rule.status
        self._record(scope, endpoint or "", rule, status)
        if rule.error is not None and self.network_errors:
            error = NETWORK_ERRORS[rule.error]
            raise error(f"mock-amojo injected outage: {rule.error} on {endpoint} (amojo.fail_next / @pytest.mark.amojo(outages=...))")
        headers = [(b"content-type", b"text/html")]
        if rule.retry_after is not None:
            headers.append((b"retry-after", str(rule.retry_after).encode()))
        text = _STATUS_TEXT.get(status, "Error")
        # What the gateway in front of amojo answers: a small HTML page, not amojo's JSON.
        page = f"<html><head><title>{status} {text}</title></head><body><center><h1>{status} {text}</h1></center></body></html>"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": page.encode()})

    def _record(self, scope: ASGIScope, endpoint: str, rule: Outage, status: int) -> None:
        what = f"{rule.error} (no response)" if rule.error is not None and self.network_errors else f"HTTP {status}"
        self.backend.journal.record(
            {
                "at": self.backend.clock.now(),
                "endpoint": endpoint,
                "method": scope["method"],
                "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "status": status,
                "injected": True,
                "error_type": "INJECTED_OUTAGE",
                "error_description": f"Injected outage: {what} for {endpoint} (failure {rule.hits} of {rule.times or 'unlimited'}).",
                "hint": "The test asked for this (amojo.fail_next or @pytest.mark.amojo(outages=...)); your code should retry or report it.",
                "rule": orjson.loads(orjson.dumps({"endpoint": rule.endpoint, "status": rule.status, "error": rule.error})),
                "request": {"headers": {}, "body": "", "body_truncated": False, "body_size": 0},
                "verdict": None,
                "response": None,
            }
        )
