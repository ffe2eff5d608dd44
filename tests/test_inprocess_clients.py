"""requests and aiohttp in process: amojo's hosts (and configured ones) are served with no socket, every other host passes through."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest
import requests

from mock_amojo import create_app
from mock_amojo.config import DEMO_ACCOUNT_ID, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from mock_amojo.testing import Sandbox, SandboxHost, SandboxSettings
from mock_amojo.testing._inprocess import AMOJO_HOSTS, InProcessRouting
from mock_amojo.wire._signing import sign_request

from .test_pytest_plugin import STRICT_INI

CONNECT = f"/v2/origin/custom/{DEMO_CHANNEL_ID}/connect"


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return create_app()


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[str]:
    """A real server on 127.0.0.1: what a host the fake does not serve answers."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"passed through"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def connect_body() -> bytes:
    return json.dumps({"account_id": DEMO_ACCOUNT_ID, "title": "t", "hook_api_version": "v2"}).encode()


# -- requests ------------------------------------------------------------------------------


def test_requests_is_served_for_every_amojo_host_and_signed_calls_are_verified(app) -> None:  # type: ignore[no-untyped-def]
    body = connect_body()
    with InProcessRouting(app):
        for host in AMOJO_HOSTS:
            assert requests.get(f"https://{host}/__mock__/health", timeout=10).json()["status"] == "ok"
        with requests.Session() as session:
            response = session.post(
                f"https://amojo.kommo.com{CONNECT}", data=body, headers=sign_request(DEMO_CHANNEL_SECRET, "POST", CONNECT, body)
            )
        assert response.status_code == 200, response.text
        assert response.json()["scope_id"] == f"{DEMO_CHANNEL_ID}_{DEMO_ACCOUNT_ID}"
        assert response.headers["content-type"] == "application/json"
        # A signature over other bytes is refused: the fake sees exactly what requests sends.
        tampered = requests.post(
            f"https://amojo.amocrm.ru{CONNECT}",
            data=body + b" ",
            headers=sign_request(DEMO_CHANNEL_SECRET, "POST", CONNECT, body),
            timeout=10,
        )
        assert tampered.status_code == 403, tampered.text


def test_requests_to_other_hosts_pass_through(app, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    with InProcessRouting(app):
        assert requests.get(elsewhere, timeout=10).text == "passed through"


def test_requests_is_not_routed_once_the_routing_ends(app, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    routing = InProcessRouting(app)
    routing.mount("127.0.0.1", app)
    with routing:
        assert requests.get(f"{elsewhere}__mock__/health", timeout=10).json()["status"] == "ok"
    assert requests.get(elsewhere, timeout=10).text == "passed through"


# -- aiohttp -------------------------------------------------------------------------------


async def aiohttp_call(method: str, url: str, session_options: dict[str, Any] | None = None, **options: Any) -> tuple[int, bytes, Any]:
    async with aiohttp.ClientSession(**(session_options or {})) as session, session.request(method, url, **options) as response:
        return response.status, await response.read(), response.headers


def test_aiohttp_is_served_for_every_amojo_host_and_signed_calls_are_verified(app) -> None:  # type: ignore[no-untyped-def]
    body = connect_body()
    with InProcessRouting(app):
        for host in AMOJO_HOSTS:
            status, content, _ = asyncio.run(aiohttp_call("GET", f"https://{host}/__mock__/health"))
            assert (status, json.loads(content)["status"]) == (200, "ok")
        status, content, headers = asyncio.run(
            aiohttp_call(
                "POST", f"https://amojo.amocrm.com{CONNECT}", data=body, headers=sign_request(DEMO_CHANNEL_SECRET, "POST", CONNECT, body)
            )
        )
        assert status == 200, content
        assert json.loads(content)["scope_id"] == f"{DEMO_CHANNEL_ID}_{DEMO_ACCOUNT_ID}"
        assert headers["Content-Type"] == "application/json"


def test_aiohttp_json_bodies_are_the_bytes_the_session_would_send(app) -> None:  # type: ignore[no-untyped-def]
    # The session's own JSON encoder makes the body the client signed, so its signature verifies.
    document = {"account_id": DEMO_ACCOUNT_ID, "title": "Ж", "hook_api_version": "v2"}
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    signed = sign_request(DEMO_CHANNEL_SECRET, "POST", CONNECT, compact.encode())
    session = {"json_serialize": lambda value: json.dumps(value, separators=(",", ":"), ensure_ascii=False)}
    with InProcessRouting(app):
        status, content, _ = asyncio.run(aiohttp_call("POST", f"https://amojo.amocrm.com{CONNECT}", session, json=document, headers=signed))
    assert status == 200, content


def test_aiohttp_to_other_hosts_passes_through(app, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    with InProcessRouting(app):
        assert asyncio.run(aiohttp_call("GET", elsewhere))[1] == b"passed through"


# -- the sandbox: configured hosts, outages, a missing library -------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    host = SandboxHost()
    with host.open(SandboxSettings(hosts=("amojo.staging.test",))) as amojo:
        yield amojo
    host.close()


def test_configured_hosts_are_served_to_requests_and_aiohttp(sandbox: Sandbox) -> None:
    assert requests.get("http://amojo.staging.test/__mock__/health", timeout=10).json()["status"] == "ok"
    assert asyncio.run(aiohttp_call("GET", "https://amojo.staging.test:8443/__mock__/health"))[0] == 200


def test_an_injected_timeout_is_the_clients_own_timeout_error(sandbox: Sandbox) -> None:
    sandbox.fail_next("connect", error="timeout", times=2)
    body = connect_body()
    path = f"/v2/origin/custom/{sandbox.channel_id}/connect"
    with pytest.raises(requests.exceptions.ReadTimeout, match="injected outage"):
        requests.post(f"https://amojo.amocrm.com{path}", data=body, timeout=10)
    with pytest.raises(aiohttp.ServerTimeoutError, match="injected outage"):
        asyncio.run(aiohttp_call("POST", f"https://amojo.amocrm.com{path}", data=body))
    sandbox.fail_next("connect", error="connect")
    with pytest.raises(requests.exceptions.ConnectionError, match="injected outage"):
        requests.post(f"https://amojo.amocrm.com{path}", data=body, timeout=10)


def test_without_the_mocking_library_a_client_is_simply_not_routed(app, monkeypatch: pytest.MonkeyPatch, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name in ("responses", "aioresponses") else real(name, *args)
    )
    routing = InProcessRouting(app)
    routing.mount("127.0.0.1", app)
    with routing:
        assert httpx_health(routing) == "ok"
        # requests and aiohttp reach the real server: nothing patched them, and nothing failed to import.
        assert requests.get(elsewhere, timeout=10).text == "passed through"
        assert asyncio.run(aiohttp_call("GET", elsewhere))[1] == b"passed through"


def httpx_health(routing: InProcessRouting) -> str:
    import httpx

    status: str = httpx.get("https://amojo.amocrm.com/__mock__/health").json()["status"]
    return status


# -- the pytest plugin: isolation and refusal reports -----------------------------------------

INNER = """
import asyncio, json
import aiohttp, requests
from mock_amojo.wire._signing import sign_request

def create_chat(amojo, conversation_id, secret=None, client="requests"):
    path = f"/v2/origin/custom/{amojo.scope_id}/chats"
    body = json.dumps({"conversation_id": conversation_id, "user": {"id": "u-" + conversation_id, "name": "Ann"}}).encode()
    headers = sign_request(secret or amojo.channel_secret, "POST", path, body)
    if client == "requests":
        return requests.post("https://amojo.amocrm.com" + path, data=body, headers=headers, timeout=10).status_code
    async def call():
        async with aiohttp.ClientSession() as session, session.post("https://amojo.amocrm.ru" + path, data=body, headers=headers) as r:
            return r.status
    return asyncio.run(call())
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(STRICT_INI)
    return pytester


def test_each_test_sees_only_its_own_requests_and_aiohttp_calls(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        INNER
        + """
def test_first(amojo):
    amojo.connect()
    assert create_chat(amojo, "one") == 200
    assert create_chat(amojo, "two", client="aiohttp") == 200
    assert [c["conversation_id"] for c in amojo.chats] == ["one", "two"]

def test_second(amojo):
    amojo.connect()
    assert amojo.chats == [] and amojo.journal == []
    assert create_chat(amojo, "three", client="aiohttp") == 200
    assert [c["conversation_id"] for c in amojo.chats] == ["three"]
"""
    )
    inner.runpytest().assert_outcomes(passed=2)


@pytest.mark.parametrize("client", ["requests", "aiohttp"])
def test_a_refused_call_is_explained_in_the_failing_test(inner: pytest.Pytester, client: str) -> None:
    inner.makepyfile(
        INNER
        + f"""
def test_wrong_secret(amojo):
    amojo.connect()
    assert create_chat(amojo, "one", secret="0" * 40, client={client!r}) == 200
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*mock-amojo refused 1 request(s)*", "POST /v2/origin/custom/*/chats -> 403 SIGNATURE_MISMATCH", "*how to fix:*"]
    )


def test_two_routings_share_one_patch_newest_first(app, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    # A session's paused routing stays patched while a test starts its own (aioresponses cannot patch twice).
    first, second = InProcessRouting(app), InProcessRouting(create_app(), hosts=["amojo.example"])
    try:
        first.start()
        first.pause()
        second.start()
        assert requests.get("https://amojo.example/__mock__/health", timeout=10).status_code == 200
        assert asyncio.run(aiohttp_call("GET", "https://amojo.example/__mock__/health"))[0] == 200
        second.close()
        # Paused, the first routes nothing: the request reaches the network (here, the local server).
        first.mount("127.0.0.1", app)
        assert requests.get(elsewhere, timeout=10).text == "passed through"
        first.start()
        assert requests.get(f"{elsewhere}__mock__/health", timeout=10).json()["status"] == "ok"
        assert asyncio.run(aiohttp_call("GET", f"{elsewhere}__mock__/health"))[0] == 200
    finally:
        first.close()
        second.close()
    assert requests.get(elsewhere, timeout=10).text == "passed through"


def test_an_integrators_own_aioresponses_stacks_on_the_fixture(sandbox: Sandbox) -> None:
    from aioresponses import aioresponses

    # Its own patch goes on top (no "Cannot spec a Mock object"), and what it passes through reaches the fake.
    with aioresponses(passthrough=["https://amojo.amocrm.com"]) as own:
        own.get("https://api.telegram.org/bot1/getMe", exception=aiohttp.ClientConnectionError("telegram is down"))
        with pytest.raises(aiohttp.ClientConnectionError, match="telegram is down"):
            asyncio.run(aiohttp_call("GET", "https://api.telegram.org/bot1/getMe"))
        assert asyncio.run(aiohttp_call("GET", "https://amojo.amocrm.com/__mock__/health"))[0] == 200
    assert asyncio.run(aiohttp_call("GET", "https://amojo.amocrm.ru/__mock__/health"))[0] == 200


def test_an_integrators_own_responses_mock_built_on_the_fixture(sandbox: Sandbox) -> None:
    import re

    import responses

    with responses.RequestsMock(real_adapter_send=requests.adapters.HTTPAdapter.send) as own:  # type: ignore[arg-type]  # responses types it narrower than requests
        own.add_passthru(re.compile(r"https://amojo\."))
        own.get("https://api.telegram.org/bot1/getMe", json={"ok": True})
        assert requests.get("https://api.telegram.org/bot1/getMe", timeout=10).json() == {"ok": True}
        assert requests.get("https://amojo.amocrm.ru/__mock__/health", timeout=10).json()["status"] == "ok"


def test_passed_through_aiohttp_requests_leave_no_record(app, elsewhere: str) -> None:  # type: ignore[no-untyped-def]
    from mock_amojo.testing import _inprocess_aiohttp

    # aioresponses keeps a deep copy of every request it matches: requests to other hosts never reach it.
    with InProcessRouting(app):
        for _ in range(3):
            asyncio.run(aiohttp_call("GET", elsewhere))
        assert _inprocess_aiohttp._SHARED.patch.mock.requests == {}  # type: ignore[attr-defined]


def test_a_closed_sandbox_leaves_no_record_of_its_calls() -> None:
    from mock_amojo.testing import _inprocess_aiohttp, _inprocess_requests

    host = SandboxHost()
    try:
        with host.open():
            requests.get("https://amojo.amocrm.com/__mock__/health", timeout=10)
            asyncio.run(aiohttp_call("GET", "https://amojo.amocrm.com/__mock__/health"))
            assert len(_inprocess_requests._SHARED.patch.mock.calls) == 1  # type: ignore[attr-defined]
            assert len(_inprocess_aiohttp._SHARED.patch.mock.requests) == 1  # type: ignore[attr-defined]
        # What the libraries recorded does not pile up over a session (nor stay patched: test_pytest_plugin).
        assert len(_inprocess_requests._SHARED.patch.mock.calls) == 0  # type: ignore[attr-defined]
        assert len(_inprocess_aiohttp._SHARED.patch.mock.requests) == 0  # type: ignore[attr-defined]
    finally:
        host.close()


def test_a_bad_url_gets_aiohttps_own_error(app) -> None:  # type: ignore[no-untyped-def]
    with InProcessRouting(app), pytest.raises(aiohttp.InvalidURL):
        asyncio.run(aiohttp_call("GET", "http://[bad"))
