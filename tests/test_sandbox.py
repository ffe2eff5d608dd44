"""Sandbox settings and state helpers, without pytest's plugin machinery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mock_amojo.domain._clock import ManualClock
from mock_amojo.testing._sandbox import RefusedRequests, Sandbox, SandboxHost, SandboxSettings
from mock_amojo.webhooks import WebhookFaults


@pytest.fixture(scope="module")
def host() -> Iterator[SandboxHost]:
    host = SandboxHost()
    yield host
    host.close()


@pytest.fixture
def sandbox(host: SandboxHost) -> Iterator[Sandbox]:
    with host.open(SandboxSettings(clock=1639609975)) as sandbox:
        yield sandbox


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1639609975, 1639609975.0),
        ("2021-12-15T23:12:55+00:00", 1639609975.0),
        (datetime(2021, 12, 15, 23, 12, 55, tzinfo=UTC), 1639609975.0),
    ],
)
def test_clock_start_forms(value: object, expected: float) -> None:
    assert SandboxSettings.from_options({"clock": value}).clock == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"clock": "2021-12-15T23:12:55"}, "has no UTC offset"),
        ({"clock": "yesterday"}, "not an ISO 8601"),
        ({"clock": True}, "got a bool"),
        ({"hook_api_version": "v3"}, "'v1' or 'v2'"),
        ({"webhook_url": "localhost:8000/hook"}, "must start with http"),
        ({"channel_secret": "short"}, "40 lowercase hex"),
        ({"strict_account": True}, "did you mean 'strict_accounts'?"),
    ],
)
def test_bad_settings_say_what_is_wrong(options: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        SandboxSettings.from_options(options)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), float("1e400"), -1, 253_402_300_800, 10**30])
def test_clock_start_must_be_a_time_a_date_header_can_show(value: float) -> None:
    # Issue #14 item 8: a NaN or infinite clock made every Date check pass or fail at random.
    with pytest.raises(ValueError, match=r"clock: must be a finite number, 0\.\.253402300799"):
        SandboxSettings.from_options({"clock": value})
    with pytest.raises(ValueError, match="clock: must be a finite number"):
        SandboxSettings(clock=value)


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ({"delay": float("nan")}, "faults.delay: must be a finite number"),
        ({"delay": float("inf")}, "faults.delay: must be a finite number"),
        ({"stale_time": float("inf")}, "faults.stale_time: must be a finite number"),
        ({"delay": 61}, "maximum"),
        ({"stale_time": 5.0}, "not an integer"),
        ({"delay": "1"}, "faults.delay: must be a finite number"),
    ],
)
def test_fault_settings_follow_the_faults_schema(faults: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxSettings(faults=faults)


def test_faults_built_in_python_are_checked_too() -> None:
    with pytest.raises(ValueError, match=r"faults\.delay: must be a finite number"):
        WebhookFaults(delay=float("nan"))
    assert WebhookFaults(delay=0.5, stale_time=30).active() == ["delay", "stale_time"]


@pytest.mark.parametrize(
    ("method", "value"), [("advance", float("nan")), ("advance", float("inf")), ("set", float("nan")), ("advance", -2.0)]
)
def test_a_manual_clock_never_leaves_the_dates_amojo_can_show(method: str, value: float) -> None:
    clock = ManualClock(1.0)
    with pytest.raises(ValueError, match="must be a finite number"):
        getattr(clock, method)(value)
    assert clock.now() == 1.0


def test_hosts_accept_one_string() -> None:
    assert SandboxSettings.from_options({"hosts": "amojo.example"}).hosts == ("amojo.example",)


def test_state_helpers_follow_the_api(sandbox: Sandbox) -> None:
    assert sandbox.connect()["scope_id"] == f"{sandbox.channel_id}_{sandbox.account_id}"
    client = sandbox.client
    payload = {
        "timestamp": 1639609975,
        "msgid": "m-1",
        "conversation_id": "chat-1",
        "sender": {"id": "user-1", "name": "Ann", "profile": {"phone": "+7 915 111-22-33"}},
        "message": {"type": "text", "text": "hello"},
    }
    assert client.send_message(payload).status_code == 200
    assert sandbox.chat("chat-1")["client"]["phone"] == "79151112233"
    assert [m["message"]["text"] for m in sandbox.messages_in("chat-1")] == ["hello"]
    assert len(sandbox.leads) == 1 and sandbox.leads[0]["chat_id"] == sandbox.chat("chat-1")["id"]
    assert [e["endpoint"] for e in sandbox.journal] == ["send_message"]
    with pytest.raises(KeyError, match=r"no chat with conversation_id 'chat-2'; the fake has \['chat-1'\]"):
        sandbox.chat("chat-2")


def test_assert_all_accepted_explains(sandbox: Sandbox) -> None:
    sandbox.assert_all_accepted()
    assert sandbox.client.history("some-chat", scope_id=f"{sandbox.channel_id}_not-connected").status_code == 404
    with pytest.raises(RefusedRequests, match="SCOPE_NOT_FOUND") as caught:
        sandbox.assert_all_accepted()
    assert "how to fix: Call POST /v2/origin/custom/{channel_id}/connect first" in str(caught.value)


def test_client_signs_with_the_virtual_clock(sandbox: Sandbox) -> None:
    sandbox.connect()
    sandbox.clock.advance(3600)
    # An hour later by the fake's clock, the client's Date is that hour too: still fresh.
    assert sandbox.client.typing("chat-1", "user-1").status_code == 404  # no such chat, but signed fine
    assert sandbox.refused[0]["error_type"] == "CHAT_NOT_FOUND"


def test_added_accounts_may_connect_to_a_strict_channel(host: SandboxHost) -> None:
    with host.open(SandboxSettings(strict_accounts=True)) as sandbox:
        other = sandbox.add_account(name="Second", users=["Olga"])
        assert sandbox.scope_id is None
        assert sandbox.connect(other.id)["account_id"] == other.id
        assert sandbox.scope_id == f"{sandbox.channel_id}_{other.id}"  # the only connected scope
        # Once the test account is connected (here by the integration itself, over HTTP), its scope wins.
        assert sandbox.client.connect(sandbox.account_id).status_code == 200
        assert sandbox.scope_id == f"{sandbox.channel_id}_{sandbox.account_id}"
        assert other.users[0].name == "Olga"
