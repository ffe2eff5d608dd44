"""Injected API failures: the rule table, and what an integration's httpx client sees in each mode."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from mock_amojo.testing._outages import Outage, OutagePlan, endpoint_of
from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings

PAYLOAD = {
    "timestamp": 1639609975,
    "msgid": "m-1",
    "conversation_id": "chat-1",
    "sender": {"id": "user-1", "name": "Ann"},
    "message": {"type": "text", "text": "hello"},
}


@pytest.fixture(scope="module")
def host() -> Iterator[SandboxHost]:
    host = SandboxHost()
    yield host
    host.close()


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("POST", "/v2/origin/custom/ch/connect", "connect"),
        ("DELETE", "/v2/origin/custom/ch/disconnect", "disconnect"),
        ("POST", "/v2/origin/custom/ch_acc/chats", "create_chat"),
        ("GET", "/v2/origin/custom/ch_acc/chats/c1/history", "history"),
        ("POST", "/v2/origin/custom/ch_acc/typing", "typing"),
        ("POST", "/v2/origin/custom/ch_acc/react", "react"),
        ("POST", "/v2/origin/custom/ch_acc/m1/delivery_status", "delivery_status"),
        ("POST", "/v2/origin/custom/ch_acc", "send_message"),
        ("GET", "/v2/origin/custom/ch_acc", None),
        ("GET", "/__mock__/health", None),
    ],
)
def test_endpoint_names_come_from_the_route_table(method: str, path: str, endpoint: str | None) -> None:
    assert endpoint_of(method, path) == endpoint


def test_rules_count_down_and_match_in_order() -> None:
    plan = OutagePlan()
    twice = plan.add(Outage(endpoint="send_message", status=503, times=2))
    always = plan.add(Outage(endpoint="*", status=500, times=None))
    assert [plan.take("send_message").status for _ in range(3)] == [503, 503, 500]  # type: ignore[union-attr]
    assert twice.hits == 2 and plan.rules() == [always]
    assert plan.take("typing") is always
    plan.clear()
    assert plan.take("typing") is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "send"}, "one of connect"),
        ({"status": 200}, "HTTP error status"),
        ({"error": "reset"}, "timeout, connect"),
        ({"times": 0}, "at least 1"),
        ({"times": float("nan")}, "outage times .*: must be a whole number"),
        ({"status": 503.0}, "outage status .*: must be a whole number"),
        ({"status": float("nan")}, "HTTP error status"),
        ({"retry_after": float("inf")}, "outage retry_after .*: must be a whole number"),
        ({"code": 503}, "unknown outage field"),
    ],
)
def test_bad_rules_say_what_is_wrong(options: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        Outage.from_options(options)


def test_status_outage_then_recovery_in_process(host: SandboxHost) -> None:
    with host.open() as amojo:
        amojo.connect()
        rule = amojo.fail_next("send_message", 503, times=2, retry_after=3)
        statuses = [amojo.client.send_message({**PAYLOAD, "msgid": f"m-{n}"}) for n in range(3)]
        assert [r.status_code for r in statuses] == [503, 503, 200]
        assert statuses[0].headers["retry-after"] == "3" and "503 Service Temporarily Unavailable" in statuses[0].text
        assert rule.hits == 2
        # Only the third reached the fake; the journal says which failures were injected.
        assert [m["msgid"] for m in amojo.messages] == ["m-2"]
        assert amojo.refused == [] and len(amojo.outages_hit) == 2
        assert "Injected outage: HTTP 503 for send_message" in amojo.explain_refusals(include_injected=True)


def test_network_errors_in_process_sync_and_async(host: SandboxHost) -> None:
    with host.open() as amojo:
        amojo.connect()
        amojo.fail_next("*", error="timeout", times=2)
        with pytest.raises(httpx.ReadTimeout, match="injected outage"):
            httpx.get(f"https://amojo.amocrm.com/v2/origin/custom/{amojo.scope_id}/chats/x/history")

        async def call() -> None:
            async with httpx.AsyncClient() as client:
                await client.post(f"https://amojo.kommo.com/v2/origin/custom/{amojo.scope_id}/typing", json={})

        with pytest.raises(httpx.ReadTimeout):
            asyncio.run(call())
        amojo.fail_next("connect", error="connect")
        with pytest.raises(httpx.ConnectError):
            amojo.client.connect(amojo.account_id)


def test_served_mode_answers_504_for_network_errors(host: SandboxHost) -> None:
    with host.open(SandboxSettings(served=True, outages=({"endpoint": "typing", "error": "timeout"},))) as amojo:
        amojo.connect()
        assert amojo.client.typing("chat-1", "user-1").status_code == 504
        assert amojo.client.typing("chat-1", "user-1").status_code == 404  # the rule is spent; the chat is unknown


def test_marker_outages_and_the_failure_report(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-markers -p no:cacheprovider -p no:hypothesispytest\nfilterwarnings = error\n")
    pytester.makepyfile(
        """
import pytest

@pytest.mark.amojo(outages={"endpoint": "connect", "status": 502})
def test_integration_does_not_retry(amojo):
    assert amojo.client.connect(amojo.account_id).status_code == 200
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mock-amojo refused 0 request(s), failed 1 on purpose*", "*-> 502 INJECTED_OUTAGE*"])
