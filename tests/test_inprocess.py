"""In-process routing: httpx calls to amojo's hosts reach the app with no socket; others do not."""

from __future__ import annotations

import asyncio

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
