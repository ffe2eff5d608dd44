"""In-process routing: httpx calls to amojo's hosts reach the app with no socket; others do not."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from mock_amojo import create_app
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._inprocess import AMOJO_HOSTS, InProcessRouting, SyncASGITransport


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return create_app()


def test_sync_and_async_clients_are_served_for_every_amojo_host(app) -> None:  # type: ignore[no-untyped-def]
    async def fetch(url: str) -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).status_code

    with InProcessRouting(app) as routing:
        for host in AMOJO_HOSTS:
            assert httpx.get(f"https://{host}/__mock__/health").json()["status"] == "ok"
            assert asyncio.run(fetch(f"http://{host}:8443/__mock__/health")) == 200
        assert len(routing.calls) == 2 * len(AMOJO_HOSTS)


def test_routing_ends_with_the_context(app) -> None:  # type: ignore[no-untyped-def]
    with InProcessRouting(app):
        pass
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(599))) as client:
        # Without routing, a client's own transport answers again.
        assert client.get("https://amojo.amocrm.com/__mock__/health").status_code == 599


def test_other_hosts_pass_through_to_the_network(app) -> None:  # type: ignore[no-untyped-def]
    with ServerThread(create_app()) as server, InProcessRouting(app) as routing:
        assert httpx.get(f"{server.url}/__mock__/health").status_code == 200
        assert len(routing.calls) == 0


def test_coexists_with_an_integrators_own_respx_mocks(app) -> None:  # type: ignore[no-untyped-def]
    with respx.mock(assert_all_called=True) as other, InProcessRouting(app):
        other.get("https://api.telegram.org/bot1/getMe").respond(json={"ok": True})
        assert httpx.get("https://api.telegram.org/bot1/getMe").json() == {"ok": True}
        assert httpx.get("https://amojo.amocrm.ru/__mock__/health").json()["status"] == "ok"


def test_sync_transport_from_a_thread_with_a_running_loop(app) -> None:  # type: ignore[no-untyped-def]
    transport = SyncASGITransport(app)

    async def inside_loop() -> int:
        with httpx.Client(transport=transport, base_url="http://amojo") as client:
            return client.get("/__mock__/health").status_code

    try:
        assert asyncio.run(inside_loop()) == 200
    finally:
        transport.close()


def test_mounted_app_calling_amojo_from_a_worker_thread(app) -> None:  # type: ignore[no-untyped-def]
    """An async webhook handler that calls amojo with a sync client on a worker thread (run_in_threadpool)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hook(request: Request) -> JSONResponse:
        status = await run_in_threadpool(lambda: httpx.get("https://amojo.amocrm.com/__mock__/health").status_code)
        return JSONResponse({"amojo": status})

    bridge = Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    async def deliver() -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            return (await client.post("http://bridge.test/hook")).json()  # type: ignore[no-any-return]

    with InProcessRouting(app) as routing:
        routing.mount("bridge.test", bridge)
        assert asyncio.run(deliver()) == {"amojo": 200}
        assert httpx.post("http://bridge.test/hook").json() == {"amojo": 200}


def test_wsgi_apps_can_be_mounted(app) -> None:  # type: ignore[no-untyped-def]
    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    async def fetch() -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get("http://flask.test/async")).text

    with InProcessRouting(app) as routing:
        routing.mount("flask.test", wsgi)
        assert httpx.get("http://flask.test/sync").text == "/sync"
        assert asyncio.run(fetch()) == "/async"


def test_a_paused_routing_stays_patched_but_serves_nothing(app) -> None:  # type: ignore[no-untyped-def]
    other = create_app()
    first, second = InProcessRouting(app), InProcessRouting(other, hosts=["amojo.example"])
    try:
        first.start()
        first.pause()
        with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(599))) as client:
            assert client.get("https://amojo.amocrm.com/__mock__/health").status_code == 599  # passed through
        second.start()
        # The paused routing does not swallow requests another routing serves.
        assert httpx.get("https://amojo.example/__mock__/health").status_code == 200
        first.start()
        assert httpx.get("https://amojo.amocrm.com/__mock__/health").status_code == 200
        assert len(first.calls) == 1 and len(second.calls) == 1
    finally:
        first.close()
        second.close()


def _twin(clock_at: float = 1_764_000_000.0) -> Any:
    from mock_amojo import Config, ManualClock, SequentialIds

    return create_app(Config(body_limit=4096), clock=ManualClock(clock_at), ids=SequentialIds())


def _corpus(config: Any) -> list[httpx.Request]:
    """Requests to amojo's endpoints, accepted and refused, signed for the twin apps' clock."""
    from mock_amojo.wire._signing import format_date, sign_request

    date = format_date(1_764_000_000.0)
    prefix = "/v2/origin/custom"
    scope = f"{config.channel_id}_{config.account_id}"
    message = {"event_type": "new_message", "payload": {"timestamp": 1_764_000_000, "msgid": "m1", "conversation_id": "c1",
               "sender": {"id": "u1", "name": "Ann"}, "message": {"type": "text", "text": "hi"}}}  # fmt: skip

    def signed(method: str, path: str, body: bytes, **overrides: str) -> httpx.Request:
        headers = sign_request(config.channel_secret, method, path, body, date=date) | overrides
        return httpx.Request(method, f"https://amojo.amocrm.com{path}", content=body, headers=headers)

    import orjson

    connect = orjson.dumps({"account_id": config.account_id, "hook_api_version": "v2"})
    return [
        signed("POST", f"{prefix}/{config.channel_id}/connect", connect),
        signed("POST", f"{prefix}/{scope}", orjson.dumps(message)),
        signed("POST", f"{prefix}/{scope}", orjson.dumps(message)),  # the same msgid again
        signed("GET", f"{prefix}/{scope}/chats/c1/history", b""),
        signed("POST", f"{prefix}/{scope}", orjson.dumps(message), **{"X-Signature": "0" * 40}),
        signed("POST", f"{prefix}/{scope}", b"{not json"),
        signed("POST", f"{prefix}/{scope}", orjson.dumps(message), **{"Content-Type": "text/plain"}),
        signed("POST", f"{prefix}/{scope}", b'{"event_type":"new_message","payload":{}}'),
        signed("POST", f"{prefix}/{scope}", b'{"x":"' + b"a" * 5000 + b'"}'),  # over the body limit
        signed("POST", f"{prefix}/unknown_scope", orjson.dumps(message)),
        signed("DELETE", f"{prefix}/{config.channel_id}/disconnect", orjson.dumps({"account_id": config.account_id})),
    ]


def test_the_inline_answer_in_process_is_the_asgi_answer() -> None:
    """SyncASGITransport answers amojo's endpoints through the app's inline route: status, headers, body and journal as over ASGI."""
    inline, plain = _twin(), _twin()

    async def asgi_only(scope: Any, receive: Any, send: Any) -> None:
        await plain(scope, receive, send)  # no fast_route: every request takes the ASGI path

    answers = []
    for app in (inline, asgi_only):
        transport = SyncASGITransport(app)
        try:
            answers.append([transport.handle_request(request) for request in _corpus(inline.state.config)])
        finally:
            transport.close()
    for got, expected in zip(*answers, strict=True):
        assert (got.status_code, got.headers.raw, got.read()) == (expected.status_code, expected.headers.raw, expected.read())
    journals = [
        [{k: v for k, v in e.items() if k != "duration_ms"} for e in app.state.backend.journal.entries()] for app in (inline, plain)
    ]
    assert journals[0] == journals[1]


def test_in_process_routing_needs_nothing_of_respx() -> None:
    """Routing wraps httpx's transport choice itself: it imports no respx (whose internals it used to subclass)."""
    import subprocess
    import sys

    code = "import sys, mock_amojo.testing._inprocess; print('respx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_routing_puts_httpx_back_as_it_was(app) -> None:  # type: ignore[no-untyped-def]
    before = (httpx.Client.__dict__.get("_transport_for_url"), httpx.AsyncClient.__dict__.get("_transport_for_url"))
    with InProcessRouting(app):
        # The session's amojo host (another file's amojo fixture) may have wrapped httpx already: it stays wrapped.
        assert httpx.Client.__dict__.get("_transport_for_url") is not None
    assert (httpx.Client.__dict__.get("_transport_for_url"), httpx.AsyncClient.__dict__.get("_transport_for_url")) == before
