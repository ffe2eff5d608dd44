"""The served protocol: amojo's endpoints answered in the parser's callbacks, everything else as uvicorn does.

Most tests drive the protocol over an in-memory transport (what uvicorn's own tests do): the bytes
a client sends in, the bytes the server writes out, no socket and no timing. The last ones use a
real server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httptools
import orjson
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from mock_amojo import Config, create_app
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.serve._httpproto import InlineHttpProtocol
from mock_amojo.serve._server import ServerThread, inline_supported
from mock_amojo.wire._signing import format_date, sign_request

# The inline protocol serves only on the uvicorn releases it is tested with (elsewhere: uvicorn's own).
pytestmark = pytest.mark.skipif(
    not inline_supported(uvicorn.__version__), reason=f"uvicorn {uvicorn.__version__}: inline protocol not used"
)

NOW = 1_764_460_800.0
DATE_HEADERS = [(b"date", b"Mon, 30 Nov 2026 00:00:00 GMT"), (b"server", b"uvicorn")]


class _Transport:
    """What a protocol writes, and whether it closed the connection."""

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def take(self) -> list[tuple[int, dict[str, str], bytes]]:
        """The responses written so far (status, headers, body), in order; forgets them."""
        responses = _parse_responses(self.written)
        self.written = b""
        return responses


def _parse_responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    responses: list[tuple[int, dict[str, str], bytes]] = []

    class Collector:
        headers: dict[str, str]
        body: bytes

        def on_message_begin(self) -> None:
            self.headers, self.body = {}, b""

        def on_header(self, name: bytes, value: bytes) -> None:
            assert name.decode().lower() not in self.headers, f"repeated header {name!r}"
            self.headers[name.decode().lower()] = value.decode()

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            responses.append((parser.get_status_code(), self.headers, self.body))

    parser = httptools.HttpResponseParser(Collector())
    parser.feed_data(data)
    return responses


class _Route:
    """An inline route that records what it was asked."""

    body_limit = 64

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], bytes]] = []
        self.fail = False

    def answer(self, scope: dict[str, Any], body: bytes) -> Any:
        if self.fail:
            raise RuntimeError("route failed")
        self.calls.append((scope, body))
        return _Reply(200, {"inline": True}, b'{"inline":true}')


class _Reply:
    def __init__(self, status: int, data: Any, body: bytes) -> None:
        self.status, self.data, self.body = status, data, body
        self.headers: tuple[tuple[bytes, bytes], ...] = ()


class _App:
    """ASGI app claiming ``POST /fast…`` inline; ``/slow`` waits for ``release``; the rest answers at once."""

    def __init__(self) -> None:
        self.route = _Route()
        self.asgi: list[tuple[str, str, bytes]] = []
        self.release = asyncio.Event()

    def fast_route(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        return (self.route, {"name": path.removeprefix("/fast/")}) if method == "POST" and path.startswith("/fast") else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.asgi.append((scope["method"], scope["path"], body))
        if scope["path"] == "/slow":
            await self.release.wait()
        answer = orjson.dumps({"asgi": scope["path"]})
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _connect(
    app: Any, loop: asyncio.AbstractEventLoop, protocol_class: type[HttpToolsProtocol] = InlineHttpProtocol, **config: Any
) -> tuple[HttpToolsProtocol, _Transport, ServerState]:
    state = ServerState()
    state.default_headers = list(DATE_HEADERS)
    protocol = protocol_class(
        config=uvicorn.Config(app, proxy_headers=False, lifespan="off", log_level="warning", **config),
        server_state=state,
        app_state={},
        _loop=loop,
    )
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport, state


def _settle(loop: asyncio.AbstractEventLoop, protocol: HttpToolsProtocol, state: ServerState) -> None:
    """Run the loop until every ASGI task of the connection (and what was pipelined behind it) is done."""

    async def settle() -> None:
        for _ in range(1000):
            if not state.tasks and not protocol.pipeline:
                return
            await asyncio.sleep(0)
        raise AssertionError("ASGI tasks did not finish")

    loop.run_until_complete(settle())


def _post(path: str, body: bytes = b"{}", *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: amojo", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- the inline path ------------------------------------------------------------------


def test_a_claimed_request_is_answered_in_the_parser_callback_without_an_asgi_task(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, state = _connect(app, loop)
    protocol.data_received(_post("/fast/one?x=1", b'{"a":1}', "X-Trace: t1"))
    # Answered before the loop ran once: no task, no ASGI call.
    assert transport.take() == [
        (
            200,
            {"date": "Mon, 30 Nov 2026 00:00:00 GMT", "server": "uvicorn", "content-type": "application/json", "content-length": "15"},
            b'{"inline":true}',
        )
    ]
    assert not state.tasks and app.asgi == [] and state.total_requests == 1
    scope, body = app.route.calls[0]
    assert body == b'{"a":1}'
    assert (scope["method"], scope["path"], scope["raw_path"], scope["query_string"]) == ("POST", "/fast/one", b"/fast/one", b"x=1")
    assert scope["path_params"] == {"name": "one"} and (b"x-trace", b"t1") in scope["headers"]
    assert not transport.closed


def test_a_body_split_over_several_reads_is_answered_once_complete(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, _ = _connect(app, loop)
    request = _post("/fast/x", b'{"text":"split"}')
    protocol.data_received(request[:-10])
    assert transport.written == b""
    protocol.data_received(request[-10:])
    assert [r[2] for r in transport.take()] == [b'{"inline":true}'] and app.route.calls[0][1] == b'{"text":"split"}'


def test_pipelined_inline_requests_are_answered_in_order(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, _ = _connect(app, loop)
    protocol.data_received(b"".join(_post(f"/fast/{n}", b"[%d]" % n) for n in range(5)))
    assert len(transport.take()) == 5
    assert [body for _, body in app.route.calls] == [b"[0]", b"[1]", b"[2]", b"[3]", b"[4]"]


def test_a_request_pipelined_behind_one_still_answered_waits_its_turn(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, state = _connect(app, loop)
    protocol.data_received(_post("/slow") + _post("/fast/behind") + _post("/other"))
    loop.run_until_complete(asyncio.sleep(0))
    assert transport.written == b""  # the slow one holds the others back
    app.release.set()
    _settle(loop, protocol, state)
    assert [orjson.loads(body) for _, _, body in transport.take()] == [{"asgi": "/slow"}, {"asgi": "/fast/behind"}, {"asgi": "/other"}]
    assert app.route.calls == []  # in order beats inline


def test_connection_close_closes_after_the_answer(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, _ = _connect(app, loop)
    protocol.data_received(_post("/fast/last", b"{}", "Connection: close"))
    [(status, headers, _)] = transport.take()
    assert status == 200 and headers["connection"] == "close" and transport.closed


def test_a_route_that_raises_gets_uvicorns_500_and_the_connection_closes(
    loop: asyncio.AbstractEventLoop, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _App()
    app.route.fail = True
    protocol, transport, _ = _connect(app, loop)
    protocol.data_received(_post("/fast/boom"))
    [(status, headers, body)] = transport.take()
    assert (status, body, headers["connection"], headers["content-type"]) == (
        500,
        b"Internal Server Error",
        "close",
        "text/plain; charset=utf-8",
    )
    assert transport.closed and "RuntimeError: route failed" in capsys.readouterr().err


def test_a_route_that_raises_gets_uvicorns_500_byte_for_byte(loop: asyncio.AbstractEventLoop) -> None:
    class Raising(_App):
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            raise RuntimeError("app failed")

    written = []
    for protocol_class in (InlineHttpProtocol, HttpToolsProtocol):
        app = Raising()
        app.route.fail = True
        protocol, transport, state = _connect(app, loop, protocol_class)
        protocol.data_received(_post("/fast/boom"))
        _settle(loop, protocol, state)
        written.append(transport.written)
    assert written[0] == written[1] and written[0].startswith(b"HTTP/1.1 500 ")


@pytest.mark.parametrize(
    ("name", "request_bytes"),
    [
        ("another path", _post("/other")),
        ("another method", b"GET /fast/x HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("a body over the route's limit", _post("/fast/big", b"x" * 65)),
        ("a chunked body", b"POST /fast/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        ("Expect: 100-continue", _post("/fast/e", b"{}", "Expect: 100-continue")),
        ("a percent-encoded path", _post("/fast/a%20b")),
        ("HTTP/1.0", b"POST /fast/old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"),
    ],
)
def test_unusual_requests_take_uvicorns_asgi_path(name: str, request_bytes: bytes, loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, state = _connect(app, loop)
    protocol.data_received(request_bytes)
    _settle(loop, protocol, state)
    responses = transport.take()
    assert app.route.calls == [], name
    assert len(app.asgi) == 1 and app.asgi[0][1] == _parse_path(request_bytes), name
    assert responses[-1][0] == 200 and orjson.loads(responses[-1][2]) == {"asgi": app.asgi[0][1]}, name


def _parse_path(request_bytes: bytes) -> str:
    from urllib.parse import unquote

    return unquote(request_bytes.split(b" ")[1].decode())


def test_an_app_without_fast_route_is_served_as_uvicorn_serves_it(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()

    async def plain(scope: dict[str, Any], receive: Any, send: Any) -> None:  # the same app, without fast_route
        await app(scope, receive, send)

    protocol, transport, state = _connect(plain, loop)
    protocol.data_received(_post("/fast/x"))
    _settle(loop, protocol, state)
    assert app.route.calls == [] and [orjson.loads(r[2]) for r in transport.take()] == [{"asgi": "/fast/x"}]


def test_a_root_path_turns_the_inline_path_off(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, state = _connect(app, loop, root_path="/behind-proxy")
    protocol.data_received(_post("/fast/x"))
    _settle(loop, protocol, state)
    # uvicorn puts the root path in front of the path: the app, not the protocol, knows what that means.
    assert app.route.calls == [] and [orjson.loads(r[2]) for r in transport.take()] == [{"asgi": "/behind-proxy/fast/x"}]


def test_a_concurrency_limit_turns_the_inline_path_off(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, state = _connect(app, loop, limit_concurrency=100)
    protocol.data_received(_post("/fast/x"))
    _settle(loop, protocol, state)
    # uvicorn answers 503 beyond the limit; only its own path counts what is in flight.
    assert app.route.calls == [] and [orjson.loads(r[2]) for r in transport.take()] == [{"asgi": "/fast/x"}]


# -- keep-alive -----------------------------------------------------------------------


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, _ = _connect(app, loop, timeout_keep_alive=0.05)
    protocol.data_received(_post("/fast/x"))
    assert isinstance(protocol, InlineHttpProtocol) and protocol.idle_timer is not None
    # The timer is due one timeout after the answer: check its deadline rather than sleep a fraction of it
    # (a loaded machine can stall any sleep longer than the timeout).
    assert protocol.idle_timer.when() - loop.time() <= 0.05 and not transport.closed
    _wait_until(loop, lambda: transport.closed)


def _wait_until(loop: asyncio.AbstractEventLoop, done: Callable[[], bool], limit: float = 10.0) -> None:
    deadline = loop.time() + limit
    while not done() and loop.time() < deadline:
        loop.run_until_complete(asyncio.sleep(0.01))
    assert done()


def test_a_busy_connection_is_kept_and_a_half_sent_request_is_not_cut_off(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, transport, _ = _connect(app, loop, timeout_keep_alive=0.3)
    for _ in range(12):  # a request every 40 ms for about 0.5 s: never 0.3 s without one on an idle machine
        protocol.data_received(_post("/fast/x"))
        loop.run_until_complete(asyncio.sleep(0.04))
    assert not transport.closed and len(transport.take()) == 12
    request = _post("/fast/late", b'{"slow":"client"}')
    protocol.data_received(request[:-5])
    loop.run_until_complete(asyncio.sleep(0.6))  # the client is mid-request for twice the timeout: not idle
    assert not transport.closed
    protocol.data_received(request[-5:])
    assert [r[0] for r in transport.take()] == [200]


def test_lost_connections_leave_no_timer_behind(loop: asyncio.AbstractEventLoop) -> None:
    app = _App()
    protocol, _, _ = _connect(app, loop, timeout_keep_alive=0.05)
    protocol.data_received(_post("/fast/x"))
    assert isinstance(protocol, InlineHttpProtocol) and protocol.idle_timer is not None
    protocol.connection_lost(None)
    assert protocol.idle_timer is None


# -- the fake itself: inline answers are uvicorn's answers ------------------------------


def _signed(method: str, path: str, body: bytes = b"", *extra: str, secret: str | None = None) -> bytes:
    config = Config()
    headers = sign_request(secret or config.channel_secret, method, path.split("?", 1)[0], body, date=format_date(NOW))
    lines = [f"{method} {path} HTTP/1.1", "Host: amojo", *(f"{k}: {v}" for k, v in headers.items()), *extra]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _fake_session() -> list[bytes]:
    config = Config()
    base = f"/v2/origin/custom/{config.channel_id}"
    scope = f"/v2/origin/custom/{config.channel_id}_{config.account_id}"
    message = {
        "event_type": "new_message",
        "payload": {
            "timestamp": int(NOW),
            "msgid": "m-1",
            "conversation_id": "conv-1",
            "sender": {"id": "client-1", "name": "Ann"},
            "message": {"type": "text", "text": "hello"},
        },
    }
    return [
        _signed("POST", base + "/connect", orjson.dumps({"account_id": config.account_id, "hook_api_version": "v2", "title": "T"})),
        _signed("POST", scope + "/chats", orjson.dumps({"conversation_id": "conv-1", "user": {"id": "client-1", "name": "Ann"}})),
        _signed("POST", scope, orjson.dumps(message)),
        _signed("POST", scope + "/typing", orjson.dumps({"action": "typing", "sender": {"id": "client-1"}, "conversation_id": "conv-1"})),
        _signed("GET", scope + "/chats/00000000-0000-4000-8000-000000000004/history?offset=0&limit=5"),
        _signed("GET", scope + "/chats/no-such-chat/history"),
        _signed("POST", scope, orjson.dumps(message), secret="not-the-secret"),
        _signed("POST", scope, b"{not json"),
        _signed("POST", "/v2/origin/custom/no-such-channel/connect", b"{}"),
        _signed("DELETE", base + "/disconnect", orjson.dumps({"account_id": config.account_id}), "Connection: close"),
    ]


def _serve_session(protocol_class: type[HttpToolsProtocol], loop: asyncio.AbstractEventLoop) -> list[tuple[int, dict[str, str], bytes]]:
    app = create_app(Config(), clock=ManualClock(NOW), ids=SequentialIds())
    protocol, transport, state = _connect(app, loop, protocol_class)
    responses = []
    for request in _fake_session():
        protocol.data_received(request)
        _settle(loop, protocol, state)
        responses += transport.take()
    return responses


def test_the_fake_answers_inline_exactly_what_uvicorn_would_answer(loop: asyncio.AbstractEventLoop) -> None:
    inline = _serve_session(InlineHttpProtocol, loop)
    stock = _serve_session(HttpToolsProtocol, loop)
    assert inline == stock
    # The session covers JSON answers, empty ones (200 and 204), refusals and a closing request.
    assert [status for status, _, _ in inline] == [200, 200, 200, 204, 200, 204, 403, 400, 404, 200]
    assert inline[-1][2] == b"" and "content-type" not in inline[-1][1]
    assert inline[-1][1]["connection"] == "close"


def test_the_fake_answers_its_endpoints_inline(loop: asyncio.AbstractEventLoop) -> None:
    app = create_app(Config(), clock=ManualClock(NOW), ids=SequentialIds())
    protocol, transport, state = _connect(app, loop)
    for request in _fake_session()[:3]:
        protocol.data_received(request)
        assert not state.tasks  # answered in the callback
    assert [r[0] for r in transport.take()] == [200, 200, 200]
    protocol.data_received(b"GET /__mock__/health HTTP/1.1\r\nHost: a\r\n\r\n")
    assert state.tasks  # the control plane is an ASGI app
    _settle(loop, protocol, state)


# -- over a real socket ---------------------------------------------------------------


def _exchange(port: int, data: bytes, answers: int) -> list[tuple[int, dict[str, str], bytes]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while len(_parse_responses(received)) < answers:
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            received += chunk
    return _parse_responses(received)


def test_a_served_fake_answers_pipelined_and_mixed_requests_in_order() -> None:
    config = Config()
    session = _fake_session()
    with ServerThread(create_app(config, clock=ManualClock(NOW), ids=SequentialIds())) as server:
        health = b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        responses = _exchange(server.port, session[0] + health + session[1] + session[2], 4)
    assert [status for status, _, _ in responses] == [200, 200, 200, 200]
    assert orjson.loads(responses[1][2])["status"] == "ok"
    assert orjson.loads(responses[2][2])["user"]["client_id"] == "client-1"
    assert orjson.loads(responses[3][2])["new_message"]["conversation_id"] == "conv-1"
