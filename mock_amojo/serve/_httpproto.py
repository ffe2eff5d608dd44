"""The served fake's HTTP protocol: uvicorn's httptools protocol, with amojo's endpoints answered in line.

uvicorn serves every request through an ASGI task: a scope dict, a request/response cycle
object, an ``asyncio.Event``, a task, two ``send`` messages (each header checked against two
regular expressions), a keep-alive timer armed after each response — a large share of a signed
JSON request the fake answers without waiting for anything (``docs/design/performance.md``). This protocol answers such requests where the parser hands them over: once
the body is complete the endpoint's synchronous pipeline runs and the answer goes out in one
write — with the headers uvicorn would send, its ``date`` and ``server`` included.

Everything else takes uvicorn's path unchanged: the control plane and the console (event
streams), other apps, bodies over the limit (413 before they are read), chunked bodies,
``Expect: 100-continue``, upgrades, percent-encoded paths, a request pipelined behind one still
being answered, a ``root_path``, a concurrency limit and HTTP/1.0 clients. The answers are uvicorn's
byte for byte (but the ``date``); ``tests/test_served_http.py`` holds both protocols to that.

An app opts in with a ``fast_route(method, path)`` method returning ``(route, path_params)`` —
``route`` has ``body_limit`` and ``answer(scope, body)`` (see :class:`FastRoute`) — or None to
let ASGI serve the request. It is asked once per request, so its answer may change at any time.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

__all__ = ["FastRoute", "InlineHttpProtocol", "Reply"]

_URLS_KEPT = 1024
# What uvicorn answers when an ASGI app raises before responding, after its default headers.
_INTERNAL_ERROR = b"content-type: text/plain; charset=utf-8\r\ncontent-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"


class Reply(Protocol):
    """An answer: its status, its JSON (None: no JSON body) and the body's bytes."""

    @property
    def status(self) -> int: ...

    @property
    def data(self) -> Any: ...

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> tuple[tuple[bytes, bytes], ...]: ...


class FastRoute(Protocol):
    """An endpoint that answers a fully read request synchronously."""

    @property
    def body_limit(self) -> int: ...

    def answer(self, scope: dict[str, Any], body: bytes) -> Reply: ...


# What httptools.parse_url makes of a request target (path, raw path, query), by target: clients
# send the same few over and over. Bounded; shared by every connection (the values are immutable).
_targets: dict[bytes, tuple[str, bytes, bytes] | None] = {}


def _target(url: bytes) -> tuple[str, bytes, bytes] | None:
    found = _targets.get(url, False)
    if found is False:
        parsed = httptools.parse_url(url)
        raw_path: bytes = parsed.path
        # Percent-encoded paths are left to uvicorn, which decodes them.
        found = None if b"%" in raw_path else (raw_path.decode("ascii"), raw_path, parsed.query or b"")
        if len(_targets) >= _URLS_KEPT:
            _targets.clear()
        _targets[url] = found
    return found  # type: ignore[return-value]


class InlineHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; requests the app's ``fast_route`` claims are answered without an ASGI task.

    Idle keep-alive connections are closed after ``timeout_keep_alive`` to twice that (uvicorn:
    exactly ``timeout_keep_alive``): one timer per connection checks for activity, instead of a
    timer armed after every answer and cancelled by the next request.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # A root path or a concurrency limit (uvicorn's 503s) is uvicorn's business: everything goes its way.
        plain = not self.root_path and config.limit_concurrency is None
        self.fast_route = getattr(self.app, "fast_route", None) if plain else None
        # The request being answered inline: route, path parameters, method, path, raw path, query.
        self.inline: tuple[FastRoute, dict[str, str], str, str, bytes, bytes] | None = None
        self.inline_body = b""
        self.in_request = False
        self.active = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.heads: dict[tuple[int, bool, bool], tuple[bytes, bytes]] = {}
        self.heads_for: list[tuple[bytes, bytes]] | None = None

    # -- connection -----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.active = True
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        super().connection_lost(exc)

    def _idle_check(self) -> None:
        self.idle_timer = None
        if self.transport.is_closing() or self.in_request or (self.cycle is not None and not self.cycle.response_complete):
            return  # a request under way: its answer arms the next check (or uvicorn's own timer)
        if self.active:
            self._arm_idle_check()
        else:
            self.transport.close()

    def _arm_idle_check(self) -> None:
        self.active = False
        self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

    # -- parser callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        # No scope yet: only a request that goes the ASGI way needs one (see _to_asgi).
        self.in_request = True
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.inline = None

    # on_header is uvicorn's own: it reads each header (name case, surrounding whitespace, Expect) and
    # appends it to self.headers, so the inline path sees the headers the ASGI path would.

    def on_headers_complete(self) -> None:
        fast_route = self.fast_route
        if fast_route is not None and self._claim(fast_route):
            return
        self._to_asgi()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.inline is None:
            super().on_body(body)
        else:
            self.inline_body += body

    def on_message_complete(self) -> None:
        self.in_request = False
        if self.inline is None:
            super().on_message_complete()
            return
        route, params, method, path, raw_path, query = self.inline
        self.inline = None
        body, self.inline_body = self.inline_body, b""
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "scheme": self.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self.headers,
            "server": self.server,
            "client": self.client,
            "path_params": params,
        }
        try:
            reply = route.answer(scope, body)
        except Exception:
            # What uvicorn answers when an ASGI app raises before responding.
            self.logger.exception("Exception in the inline route of %s %s", method, path)
            self.transport.write(self._head(500, False, False)[0] + _INTERNAL_ERROR)
            self.transport.close()
            return
        keep_alive = self.parser.should_keep_alive()
        head, tail = self._head(reply.status, reply.data is not None, keep_alive)
        if reply.headers:
            # Warnings and explanations (rare), in uvicorn's order: content-length, content type, these, connection: close.
            parts = [head, b"" if reply.status == 204 else b"content-length: %d\r\n" % len(reply.body)]
            if reply.data is not None:
                parts.append(b"content-type: application/json\r\n")
            parts += (b"%s: %s\r\n" % pair for pair in reply.headers)
            parts += (b"" if keep_alive else b"connection: close\r\n", b"\r\n", reply.body)
            self.transport.write(b"".join(parts))
        elif reply.status == 204:
            self.transport.write(head + tail)
        else:
            self.transport.write(b"%scontent-length: %d\r\n%s%s" % (head, len(reply.body), tail, reply.body))
        self.server_state.total_requests += 1
        if not keep_alive:
            self.transport.close()
        elif self.idle_timer is None:
            self._arm_idle_check()

    # -- the inline path ------------------------------------------------------------

    def _claim(self, fast_route: Any) -> bool:
        """Take the request inline if the app's route answers it synchronously and nothing about it is unusual."""
        parser = self.parser
        if self.expect_100_continue or parser.should_upgrade() or parser.get_http_version() != "1.1":
            return False
        if self.cycle is not None and not self.cycle.response_complete:
            return False  # pipelined behind a request still being answered: answers go out in order
        target = _target(self.url)
        if target is None:
            return False
        path, raw_path, query = target
        method = parser.get_method().decode("ascii")
        found = fast_route(method, path)
        if found is None:
            return False
        route, params = found
        length = None
        for name, value in self.headers:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                return False  # a chunked body: uvicorn's path reads it
        if length is not None and (not length.isdigit() or int(length) > route.body_limit):
            return False  # the ASGI path refuses it (413) before reading it, or says what is wrong
        self.inline = (route, params, method, path, raw_path, query)
        self.inline_body = b""
        return True

    def _to_asgi(self) -> None:
        # uvicorn's own scope for this request, as its on_message_begin would have built it.
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        HttpToolsProtocol.on_message_begin(self)
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def _head(self, status: int, json: bool, keep_alive: bool) -> tuple[bytes, bytes]:
        """What uvicorn writes around the body's length: status line and default headers; the app's content type,
        ``connection: close`` and the blank line. Kept until the date changes."""
        defaults = self.server_state.default_headers
        if defaults is not self.heads_for:  # uvicorn makes a new list when the second (the date) changes
            self.heads.clear()
            self.heads_for = defaults
        key = (status, json, keep_alive)
        found = self.heads.get(key)
        if found is None:
            parts = [STATUS_LINE[status]]
            for name, value in defaults:
                parts += (name, b": ", value, b"\r\n")
            # In the order uvicorn sends them: its defaults, then the app's (mock_amojo.http._exchange sends content-length,
            # then content-type), then its own connection: close.
            tail = (b"content-type: application/json\r\n" if json else b"") + (b"" if keep_alive else b"connection: close\r\n")
            found = self.heads[key] = (b"".join(parts), tail + b"\r\n")
        return found
