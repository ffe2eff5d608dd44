"""The pytest plugin as an integrator meets it: run real pytest sessions with ``pytester``.

Each inner session runs with the strict settings integrators use (warnings are errors,
strict markers) and only the plugin (loaded through its ``pytest11`` entry point).
"""

from __future__ import annotations

import pytest

# hypothesis's plugin re-imports (and assertion-rewrites) all of hypothesis in every inner
# session, which costs seconds a run; the inner sessions do not use it.
STRICT_INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider -p no:hypothesispytest
filterwarnings = error
"""

CLIENT = """
import asyncio
import httpx
import pytest
from mock_amojo.testing._client import AmojoClient
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(STRICT_INI)
    return pytester


def test_fixture_available_with_zero_config(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
def test_connect_and_chat(amojo):
    client = AmojoClient(amojo.http, amojo.channel_id, amojo.channel_secret)
    assert amojo.base_url == "https://amojo.amocrm.com"
    assert client.connect(amojo.account_id, hook_api_version="v2").status_code == 200
    assert client.create_chat("chat-1", {"id": "user-1", "name": "Ann"}).status_code == 200
    assert [c["conversation_id"] for c in amojo.chats] == ["chat-1"]
    assert amojo.refused == []
"""
    )
    inner.runpytest().assert_outcomes(passed=1)


def test_each_test_gets_its_own_channel_and_state(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
seen = []

def test_first(amojo):
    seen.append((amojo.channel_id, amojo.channel_secret, amojo.account_id))
    amojo.connect()
    assert amojo.client.create_chat("chat-1", {"id": "user-1", "name": "Ann"}).status_code == 200
    assert len(amojo.chats) == 1 and len(amojo.journal) == 1

def test_second_sees_nothing_of_the_first(amojo):
    old_channel, old_secret, old_account = seen[0]
    assert (amojo.channel_id, amojo.channel_secret, amojo.account_id) != (old_channel, old_secret, old_account)
    assert amojo.chats == [] and amojo.messages == [] and amojo.leads == [] and amojo.journal == []
    # The first test's channel is gone: its credentials no longer work.
    stale = AmojoClient(amojo.http, old_channel, old_secret)
    assert stale.connect(old_account).status_code == 404
"""
    )
    inner.runpytest().assert_outcomes(passed=2)


def test_refused_request_is_explained_in_the_failing_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
def test_wrong_secret(amojo):
    client = AmojoClient(amojo.http, amojo.channel_id, "0" * 40)
    response = client.connect(amojo.account_id)
    assert response.status_code == 200
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*mock-amojo refused 1 request(s)*",
            "POST /v2/origin/custom/*/connect -> 403 SIGNATURE_MISMATCH",
            "*how to fix:*",
            "*the canonical string the fake signed*",
            "    | POST",
            "*received X-Signature:*",
        ]
    )


def test_schema_refusal_names_the_pointer(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
def test_missing_name(amojo):
    amojo.connect()
    assert amojo.client.create_chat("chat-1", {"id": "user-1"}).status_code == 200
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*-> 400 SCHEMA_VIOLATION", "*at JSON pointer /user*required*"])


def test_a_server_error_fails_the_test_that_caused_it(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
def test_breaks_the_fake(amojo):
    def broken(*args):
        raise RuntimeError("kaboom")
    amojo.backend.connect = broken
    assert AmojoClient(amojo.http, amojo.channel_id, amojo.channel_secret).connect(amojo.account_id).status_code == 500
    del amojo.backend.connect

def test_next_one_is_unaffected(amojo):
    assert amojo.server_errors == []
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*test_breaks_the_fake*", "*mock-amojo failed while serving this test*", "*RuntimeError: kaboom*"])


def test_assert_all_accepted_marker_and_method(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
@pytest.mark.amojo(assert_all_accepted=True)
def test_marker(amojo):
    AmojoClient(amojo.http, amojo.channel_id, amojo.channel_secret).connect("not_a_uuid")

def test_method(amojo):
    AmojoClient(amojo.http, amojo.channel_id, amojo.channel_secret).connect("not_a_uuid")
    amojo.assert_all_accepted()

def test_all_good(amojo):
    assert AmojoClient(amojo.http, amojo.channel_id, amojo.channel_secret).connect(amojo.account_id).status_code == 200
    amojo.assert_all_accepted()
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(["*assert_all_accepted=True*", "*SCHEMA_VIOLATION*", "*at /account_id*"])
    result.stdout.fnmatch_lines(["*RefusedRequests: mock-amojo refused 1 request(s)*"])


def test_marker_settings_reach_the_channel(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
pytestmark = pytest.mark.amojo(hook_api_version="v2", sequential_ids=True)

@pytest.mark.amojo(strict_accounts=True, clock="2021-12-16T13:15:29+00:00")
def test_settings(amojo):
    assert amojo.clock.now() == 1639660529.0
    assert amojo.channel.strict and amojo.channel.hook_api_version == "v2"
    assert amojo.account_id.startswith("00000000-0000-4000-8000-")
    client = amojo.client
    assert client.connect(amojo.account_id).json()["hook_api_version"] == "v2"
    other = client.connect("0b5a2f5e-0000-4000-8000-00000000abcd")
    assert other.status_code == 403 and other.json()["error_type"] == "ACCOUNT_NOT_ALLOWED"

@pytest.mark.amojo(hook_api_version="v1")
def test_closest_marker_wins(amojo):
    assert amojo.channel.hook_api_version == "v1"
"""
    )
    inner.runpytest().assert_outcomes(passed=2)


def test_unknown_marker_keyword_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
import pytest

@pytest.mark.amojo(hook_version="v2")
def test_typo(amojo):
    pass
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.amojo: unknown amojo setting 'hook_version'; did you mean 'hook_api_version'?*"])


def test_virtual_clock_drives_date_freshness(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
from mock_amojo.wire._signing import format_date, sign_request

def test_stale(amojo):
    amojo.connect()
    signed_at = amojo.clock.now()
    path = f"/v2/origin/custom/{amojo.scope_id}/typing"
    body = b'{"conversation_id":"c1","sender":{"id":"u1"}}'
    headers = sign_request(amojo.channel_secret, "POST", path, body, date=format_date(signed_at))
    amojo.clock.advance(15 * 60 + 1)
    response = amojo.http.post(path, content=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error_type"] == "STALE_DATE"
"""
    )
    inner.runpytest().assert_outcomes(passed=1)


def test_async_and_sync_clients_and_every_amojo_host(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
@pytest.mark.parametrize("host", ["amojo.amocrm.com", "amojo.amocrm.ru", "amojo.kommo.com"])
def test_hosts(amojo, host):
    with httpx.Client(base_url=f"https://{host}") as http:
        assert AmojoClient(http, amojo.channel_id, amojo.channel_secret).connect(amojo.account_id).status_code == 200

def test_async_client_inside_a_running_loop(amojo):
    async def main():
        async with httpx.AsyncClient(base_url=amojo.base_url) as http:
            response = await http.get("/__mock__/health")
        # a sync client called from async code works too
        with httpx.Client(base_url=amojo.base_url) as sync_http:
            sync = sync_http.get("/__mock__/health")
        return response.status_code, sync.status_code
    assert asyncio.run(main()) == (200, 200)

@pytest.mark.amojo(hosts=["amojo.staging.example"])
def test_extra_host(amojo):
    with httpx.Client() as http:
        assert http.get("https://amojo.staging.example/__mock__/health").status_code == 200
"""
    )
    inner.runpytest().assert_outcomes(passed=5)


def test_served_mode_uses_a_real_socket(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        CLIENT
        + """
import socket

@pytest.mark.amojo(served=True)
def test_served(amojo, amojo_server):
    assert amojo.base_url == amojo_server.url and amojo.base_url.startswith("http://127.0.0.1:")
    with socket.create_connection((amojo_server.host, amojo_server.port)):
        pass
    assert amojo.client.connect(amojo.account_id).status_code == 200
    assert len(amojo.journal) == 1

def test_inprocess_after_served(amojo):
    assert amojo.journal == [] and amojo.base_url == "https://amojo.amocrm.com"
"""
    )
    inner.runpytest().assert_outcomes(passed=2)


def test_xdist_two_workers_each_with_its_own_server(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        CLIENT
        + """
import os

@pytest.mark.amojo(served=True)
@pytest.mark.parametrize("n", range(8))
def test_isolated(amojo, amojo_server, n):
    client = amojo.client
    assert client.connect(amojo.account_id).status_code == 200
    assert client.create_chat(f"chat-{n}", {"id": f"user-{n}", "name": "Ann"}).status_code == 200
    assert [c["conversation_id"] for c in amojo.chats] == [f"chat-{n}"]
    with open(f"port-{os.environ['PYTEST_XDIST_WORKER']}", "a") as ports:
        ports.write(f"{amojo_server.port}\\n")
"""
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)
    ports = {path.name: set(path.read_text().split()) for path in pytester.path.glob("port-*")}
    assert sorted(ports) == ["port-gw0", "port-gw1"]
    # One server per worker, kept for the whole session.
    assert all(len(p) == 1 for p in ports.values()) and ports["port-gw0"] != ports["port-gw1"]


RECEIVER = """
import json
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from mock_amojo import verify_webhook

received = []

@pytest.fixture
def amojo_webhook_app(amojo):
    async def hook(request):
        body = await request.body()
        if not verify_webhook(amojo.channel_secret, body, request.headers.get("x-signature", "")):
            return Response(status_code=403)
        received.append((request.path_params["scope_id"], json.loads(body)))
        return Response("ok")
    received.clear()
    return Starlette(routes=[Route("/amojo/{scope_id}", hook, methods=["POST"])])

@pytest.fixture
def chat(amojo):
    amojo.connect(hook_api_version="v2")
    response = amojo.client.send_message({
        "timestamp": 1639609975, "msgid": "m-1", "conversation_id": "chat-1",
        "sender": {"id": "user-1", "name": "Ann", "profile": {"phone": "+79151112233"}},
        "message": {"type": "text", "text": "Hello"},
    })
    assert response.status_code == 200
    return response.json()["new_message"]
"""


def test_manager_actions_reach_the_integrations_app(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        RECEIVER
        + """
def test_reply_is_delivered_before_reply_returns(amojo, amojo_webhook_target, chat):
    result = amojo.reply("chat-1", "Hi, how can I help?")
    assert result["delivery"]["status"] == "delivered"
    scope_id, body = received[-1]
    assert scope_id == amojo.scope_id
    assert body["message"]["message"]["text"] == "Hi, how can I help?"
    assert body["message"]["conversation"]["client_id"] == "chat-1"
    assert body["time"] == int(amojo.clock.now())

def test_typing_react_and_write_first(amojo, amojo_webhook_target, chat):
    amojo.typing("chat-1")
    amojo.react("m-1", "😍")
    started = amojo.initiate("+7 916 123-45-67", "We called you")
    kinds = [d.kind for d in amojo.webhooks]
    assert kinds == ["typing", "reaction", "message"]
    assert received[1][1]["action"]["reaction"]["emoji"] == "😍"
    assert "client_id" not in received[2][1]["message"]["conversation"]
    assert received[2][1]["message"]["receiver"]["phone"] == "79161234567"
    assert started["chat_id"] == received[2][1]["message"]["conversation"]["id"]

@pytest.mark.amojo(faults={"tamper_signature": True})
def test_faults_marker(amojo, amojo_webhook_target, chat):
    delivery = amojo.reply("chat-1", "forged?")["delivery"]
    assert delivery["status"] == "failed" and delivery["status_code"] == 403
    assert received == []

@pytest.mark.amojo(webhook_mode="async")
def test_async_mode_wait_for_webhook(amojo, amojo_webhook_target, chat):
    amojo.reply("chat-1", "first")
    amojo.reply("chat-1", "second")
    second = amojo.wait_for_webhook({"message": {"message": {"text": "second"}}}, timeout=5)
    first = amojo.wait_for_webhook(kind="message", timeout=5)
    assert first.json()["message"]["message"]["text"] == "first" and first.status == "delivered"
    assert second.status == "delivered"
    with pytest.raises(TimeoutError):
        amojo.wait_for_webhook(timeout=0.05)

def test_webhooks_recorded_without_a_target(amojo, chat):
    amojo.reply("chat-1", "nobody listens")
    (delivery,) = amojo.webhooks
    assert delivery.status == "skipped" and "no webhook_url" in delivery.error
    assert delivery.json()["message"]["message"]["text"] == "nobody listens"
"""
    )
    inner.runpytest().assert_outcomes(passed=5)


def test_webhook_target_without_an_app_says_what_to_define(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
def test_needs_app(amojo_webhook_target):
    pass
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*define a fixture named amojo_webhook_app*"])


WARNED = (
    CLIENT
    + """
def _send(amojo, msgid):
    amojo.connect()
    payload = {"timestamp": 1639609975, "msgid": msgid, "conversation_id": "c-1",
               "sender": {"id": "u-1", "name": "Ann"}, "message": {"type": "text", "text": "hi"}}
    return amojo.client.send_message(payload)  # no msec_timestamp: amoCRM's documents disagree
"""
)


def test_a_warned_request_is_reported_and_readable(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        WARNED
        + """
from mock_amojo import StanceWarnings

def test_warned(amojo):
    response = _send(amojo, "m-1")
    assert response.status_code == 200
    assert response.headers["x-mock-amojo-warning"].startswith("msec_timestamp_absent: ")
    assert [w["rule"] for w in amojo.warnings] == ["msec_timestamp_absent"]
    with pytest.raises(StanceWarnings, match="msec_timestamp_absent"):
        amojo.assert_no_warnings()

def test_clean(amojo):
    amojo.connect()
    amojo.assert_no_warnings()
"""
    )
    result = inner.runpytest("-rA")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*mock-amojo fidelity warnings*", "*send_message -> 200: msec_timestamp_absent:*", "*evidence:*Kommo OAS*"]
    )
    assert result.stdout.str().count("mock-amojo fidelity warnings") == 1


def test_amojo_strict_option_and_marker_refuse_what_warns(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        WARNED
        + """
def test_default(amojo):
    assert _send(amojo, "m-1").status_code == 200

@pytest.mark.amojo(strict=True)
def test_marker(amojo):
    assert _send(amojo, "m-1").status_code == 400

@pytest.mark.amojo(stances={"msec_timestamp_absent": "off"})
def test_one_rule_off(amojo):
    response = _send(amojo, "m-1")
    assert response.status_code == 200 and "x-mock-amojo-warning" not in response.headers
"""
    )
    inner.runpytest().assert_outcomes(passed=3)
    strict = inner.runpytest("--amojo-strict", "-k", "default")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*mock-amojo refused 1 request(s)*", "*stance msec_timestamp_absent=strict*"])


def test_unknown_stance_rule_in_the_marker_says_did_you_mean(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
import pytest

@pytest.mark.amojo(stances={"msec_timestamp": "strict"})
def test_typo(amojo):
    pass
"""
    )
    result = inner.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown rule 'msec_timestamp' (did you mean 'msec_timestamp_absent'?)*"])


def test_the_fixture_leaves_no_patch_behind_for_the_next_test(inner: pytest.Pytester) -> None:
    # Like respx's and responses' fixtures: after an amojo test, httpx, requests and aiohttp are the
    # libraries' own again, so a later test that patches them itself, or checks they are unpatched, is
    # not changed by the order tests run in. In a subprocess: the patches are process-wide.
    inner.makepyfile(
        """
import aiohttp, httpx, requests.adapters

def patchable():
    return (httpx.Client.__dict__.get("_transport_for_url"), httpx.AsyncClient.__dict__.get("_transport_for_url"),
            requests.adapters.HTTPAdapter.send, aiohttp.ClientSession._request)

UNPATCHED = patchable()

def test_before():
    assert patchable() == UNPATCHED

def test_uses_the_fixture(amojo):
    assert all(a is not b for a, b in zip(patchable(), UNPATCHED))
    assert httpx.get("https://amojo.amocrm.com/__mock__/health").json()["status"] == "ok"

def test_after():
    assert patchable() == UNPATCHED

def test_uses_the_fixture_again(amojo):
    assert httpx.get("https://amojo.amocrm.ru/__mock__/health").json()["status"] == "ok"
    assert requests.get("https://amojo.amocrm.ru/__mock__/health", timeout=10).json()["status"] == "ok"

def test_after_again():
    assert patchable() == UNPATCHED
"""
    )
    inner.runpytest_subprocess().assert_outcomes(passed=5)
