"""A published amojo client, unmodified, against the ``amojo`` fixture — with no socket.

`amojowrapper <https://pypi.org/project/amojowrapper/>`_ speaks ``requests`` and hard-codes
``https://amojo.<domain of the account>``: nothing to point at a test server. The fixture serves
amojo's hosts to ``requests`` in process (``mock-amojo[requests]``), so the client's own calls — its
own signatures, its own JSON — reach the fake as they would reach amoCRM.
"""

from __future__ import annotations

import pytest

from mock_amojo import Sandbox

amojowrapper = pytest.importorskip("amojowrapper", reason="the example needs amojowrapper (pip install 'mock-amojo[test]')")
pytest.importorskip("responses", reason="requests is served in process with mock-amojo[requests]")

from amojowrapper.actions import ChannelAction, ChatAction, MessageAction, TypingAction  # noqa: E402
from amojowrapper.client import AmojoClient  # noqa: E402
from amojowrapper.request.exceptions import RequestError  # noqa: E402


@pytest.fixture
def client(amojo: Sandbox) -> AmojoClient:
    # The client takes the account's subdomain ("referer") and derives https://amojo.amocrm.ru from it.
    return AmojoClient(amojo.channel_secret, amojo.channel_id, referer="example.amocrm.ru", amojo_account_token=amojo.account_id)


def test_connect_create_chat_and_send_a_message(amojo: Sandbox, client: AmojoClient) -> None:
    connected = ChannelAction(client).connect(hook_api_version="v2", title="amojowrapper")
    assert connected.scope_id == f"{amojo.channel_id}_{amojo.account_id}"

    chat = ChatAction(client).create(conversation_id="chat-1", user_id="client-1", user_name="Ann", user_profile_phone="+79161234567")
    assert chat.id == amojo.chat("chat-1")["id"]

    MessageAction(client).send(
        conversation_id="chat-1", sender_id="client-1", sender_name="Ann", message_type="text", message_text="Hello from amojowrapper"
    )
    assert [m["message"]["text"] for m in amojo.messages_in("chat-1")] == ["Hello from amojowrapper"]

    TypingAction(client).send(conversation_id="chat-1", sender_id="client-1")
    amojo.assert_all_accepted()
    # Every call went over amojowrapper's https://amojo.amocrm.ru, answered in process.
    assert {entry["endpoint"] for entry in amojo.journal} == {"connect", "create_chat", "send_message", "typing"}


def test_a_refusal_reaches_the_client_as_amoCRM_would_send_it(amojo: Sandbox) -> None:
    wrong_secret = "0" * 40
    client = AmojoClient(wrong_secret, amojo.channel_id, referer="example.amocrm.ru", amojo_account_token=amojo.account_id)
    with pytest.raises(RequestError, match="403"):
        ChannelAction(client).connect()
    # The fake says why, in the journal and (when a test fails) in its report.
    assert "signature" in amojo.explain_refusals().lower()
