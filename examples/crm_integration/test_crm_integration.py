"""The whole integration against the fake, in one test, in process and served: nothing else runs.

The account installs the integration (the fake calls its redirect URI), the integration exchanges the
code, reads the account's amojo_id, connects the channel and registers its source; a messenger user
writes; the integration accepts the incoming lead the chat created (the same lead the REST API and
the chat state show); a manager answers and the webhook reaches the messenger.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crm_integration import SOURCE, ChatIntegration, Credentials

from mock_amojo import Sandbox


class Inbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, user_id: str, text: str) -> None:
        self.sent.append((user_id, text))


@pytest.fixture(params=["inprocess", "served"])
def integration(request: pytest.FixtureRequest, amojo: Sandbox) -> Iterator[ChatIntegration]:
    registered = amojo.crm.integration("https://integration.test/oauth")
    credentials = Credentials(
        registered.client_id, registered.client_secret, registered.redirect_uri, amojo.channel_id, amojo.channel_secret
    )
    served = request.param == "served"
    integration = ChatIntegration(
        credentials,
        Inbox(),
        # Served, the fake is at 127.0.0.1: the integration is configured with that address instead of amoCRM's.
        crm_base_url=amojo.crm.base_url if served else None,
        amojo_base_url=amojo.base_url,
    )
    # amoCRM calls the redirect URI and the webhook URL on the integration's host: served in process by its app.
    amojo.serve_webhooks(integration.app(), "http://integration.test/amojo/:scope_id")
    yield integration
    integration.close()


def test_install_receive_accept_and_answer(amojo: Sandbox, integration: ChatIntegration) -> None:
    amojo.crm.install(integration.credentials.client_id, state="csrf-1")  # the account installs it
    assert integration.bridge is not None and integration.bridge.scope_id == f"{amojo.channel_id}_{amojo.account_id}"

    integration.receive(chat_id="tg-1", user_id="tg-user-1", name="Anna", text="Do you deliver?", msgid="tg-m-1")
    (lead_id,) = integration.accept_incoming()

    lead = integration.lead(lead_id)
    assert lead["_embedded"]["source"]["external_id"] == SOURCE
    assert lead["status_id"] not in (142, 143) and lead["responsible_user_id"] == amojo.crm.user_ids[amojo.manager_id]
    assert [chat_lead["id"] for chat_lead in amojo.leads] == [lead_id]  # the chat's lead is the REST lead
    assert amojo.chat("tg-1")["lead_id"] == lead_id

    amojo.reply("tg-1", "Yes, every day")
    assert integration.messenger.sent == [("tg-user-1", "Yes, every day")]  # type: ignore[attr-defined]
