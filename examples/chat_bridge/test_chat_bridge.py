"""The chat bridge's test suite — nothing but mock-amojo's pytest plugin (no network, no sleeps).

``amojo`` is a clean fake amojo per test: the bridge's httpx calls to
https://amojo.amocrm.com are served by it in process. ``amojo_webhook_target`` points the
channel's webhooks at the bridge's own webhook app, so ``amojo.reply(...)`` — a manager
answering in amoCRM — reaches the bridge as the signed POST amojo would send.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from chat_bridge import AmojoRefused, Bridge, Channel, Unreachable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_amojo import Sandbox


class Inbox:
    """A stand-in messenger: remembers what it was asked to send; some users cannot be reached."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.unreachable: set[str] = set()

    def send(self, user_id: str, text: str) -> None:
        if user_id in self.unreachable:
            raise Unreachable(f"user {user_id} blocked the bot")
        self.sent.append((user_id, text))


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def bridge(amojo: Sandbox, inbox: Inbox) -> Iterator[Bridge]:
    # The fake's fresh channel credentials, exactly what amoCRM support would issue.
    bridge = Bridge(Channel(amojo.channel_id, amojo.channel_secret, amojo.account_id), inbox, directory={"79161234567": "tg-42"})
    yield bridge
    bridge.close()


@pytest.fixture
def amojo_webhook_app(bridge: Bridge) -> Any:
    """The plugin serves this app at the channel's webhook URL (used by ``amojo_webhook_target``)."""
    return bridge.webhook_app()


@pytest.fixture
def installed(bridge: Bridge, amojo_webhook_target: str) -> Bridge:
    bridge.install()
    return bridge


def test_install_connects_the_account_with_v2_hooks(amojo: Sandbox, bridge: Bridge) -> None:
    scope_id = bridge.install()
    assert scope_id == f"{amojo.channel_id}_{amojo.account_id}"
    (scope,) = amojo.state()["scopes"]
    assert scope["connected"] and scope["hook_api_version"] == "v2"
    amojo.assert_all_accepted()


def test_a_messenger_message_opens_a_chat_and_an_incoming_lead(amojo: Sandbox, installed: Bridge) -> None:
    installed.forward(
        chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Do you deliver on Sundays?", msgid="tg-m-1", phone="+7 915 111-22-33"
    )
    chat = amojo.chat("tg-chat-1")
    assert chat["client"]["name"] == "Anna" and chat["client"]["phone"] == "79151112233"
    assert [m["message"]["text"] for m in amojo.messages_in("tg-chat-1")] == ["Do you deliver on Sundays?"]
    (lead,) = amojo.leads
    assert lead["chat_id"] == chat["id"]


def test_a_manager_reply_reaches_the_messenger_and_is_marked_delivered(amojo: Sandbox, installed: Bridge, inbox: Inbox) -> None:
    installed.forward(chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Hi!", msgid="tg-m-1")
    result = amojo.reply("tg-chat-1", "Yes, every day from 9 to 21.")
    assert inbox.sent == [("tg-1", "Yes, every day from 9 to 21.")]
    assert result["delivery"]["status"] == "delivered"
    reply = next(m for m in amojo.messages_in("tg-chat-1") if m["direction"] == "outgoing")
    assert reply["status"] == "delivered"


def test_an_unreachable_user_is_reported_to_the_manager(amojo: Sandbox, installed: Bridge, inbox: Inbox) -> None:
    installed.forward(chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Hi!", msgid="tg-m-1")
    inbox.unreachable.add("tg-1")
    amojo.reply("tg-chat-1", "Are you there?")
    reply = next(m for m in amojo.messages_in("tg-chat-1") if m["direction"] == "outgoing")
    assert reply["statuses"][-1]["code"] == -1 and reply["statuses"][-1]["error_code"] == 904


def test_a_chat_started_from_the_crm_is_answered_in_the_same_chat(amojo: Sandbox, installed: Bridge, inbox: Inbox) -> None:
    started = amojo.initiate("+7 916 123-45-67", "Hello! Your order is ready.")
    assert inbox.sent == [("tg-42", "Hello! Your order is ready.")]
    installed.forward(chat_id="tg-chat-42", user_id="tg-42", name="Oleg", text="Great, thanks!", msgid="tg-m-9", phone="+79161234567")
    chat = amojo.chat("tg-chat-42")
    assert chat["id"] == started["chat_id"]  # linked, not a second chat
    assert [m["message"]["text"] for m in amojo.messages_in("tg-chat-42")] == ["Hello! Your order is ready.", "Great, thanks!"]


@pytest.mark.amojo(faults={"tamper_signature": True})
def test_a_forged_webhook_is_refused(amojo: Sandbox, installed: Bridge, inbox: Inbox) -> None:
    installed.forward(chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Hi!", msgid="tg-m-1")
    delivery = amojo.reply("tg-chat-1", "pay to this card…")["delivery"]
    assert delivery["status_code"] == 403
    assert inbox.sent == []


@pytest.mark.amojo(webhook_mode="async")
def test_replies_sent_in_the_background_arrive_in_order(amojo: Sandbox, installed: Bridge, inbox: Inbox) -> None:
    installed.forward(chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Hi!", msgid="tg-m-1")
    for text in ("one", "two", "three"):
        amojo.reply("tg-chat-1", text)
    amojo.wait_for_webhook({"message": {"message": {"text": "three"}}})
    assert [text for _user, text in inbox.sent] == ["one", "two", "three"]


def test_a_stale_signature_is_refused_with_the_reason(amojo: Sandbox, installed: Bridge) -> None:
    amojo.clock.advance(16 * 60)  # amojo accepts a signature for 15 minutes after its Date
    with pytest.raises(AmojoRefused, match="STALE_DATE"):
        installed.forward(chat_id="tg-chat-1", user_id="tg-1", name="Anna", text="Hi!", msgid="tg-m-1")
    assert amojo.refused[0]["error_type"] == "STALE_DATE"


msgids = itertools.count()


@settings(max_examples=25, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=200).filter(str.strip), name=st.text(min_size=1, max_size=40).filter(str.strip))
def test_any_text_and_name_is_forwarded_intact(amojo: Sandbox, installed: Bridge, text: str, name: str) -> None:
    msgid = f"tg-m-{next(msgids)}"
    installed.forward(chat_id="tg-chat-1", user_id="tg-1", name=name, text=text, msgid=msgid)
    assert amojo.messages[-1]["message"]["text"] == text
    amojo.assert_all_accepted()
