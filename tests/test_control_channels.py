"""Changing a channel while the fake runs: PATCH /__mock__/channels/{channel_id}.

Every test runs in memory and on a state file (the ``fake`` fixture); on a state file the fixture
also restarts the fake at the end and checks it holds exactly what it held.
"""

from __future__ import annotations

from typing import Any

import pytest

from mock_amojo import Config, create_app
from mock_amojo.domain import ChannelChanges
from mock_amojo.domain._clock import ManualClock

from .conftest import Fake, text_payload

OTHER_ACCOUNT = "52e591f7-c98f-4255-8495-827210138c81"


def patch(fake: Fake, body: Any, channel_id: str | None = None) -> Any:
    return fake.http.patch(f"/__mock__/channels/{channel_id or fake.config.channel_id}", json=body)


def test_the_next_reply_goes_to_the_webhook_url_set_while_running(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    before = connected.http.post(
        "/__mock__/operator/reply",
        json={"scope_id": connected.scope_id, "conversation_id": "conv-1", "message": {"type": "text", "text": "a"}},
    )
    assert before.json()["delivery"]["outcome"] == "skipped"
    changed = patch(connected, {"webhook_url": "http://127.0.0.1:9/amojo/:scope_id"})
    assert changed.status_code == 200
    assert changed.json()["webhook_url"] == "http://127.0.0.1:9/amojo/:scope_id"
    reply = connected.http.post(
        "/__mock__/operator/reply",
        json={"scope_id": connected.scope_id, "conversation_id": "conv-1", "message": {"type": "text", "text": "b"}},
    )
    assert reply.json()["delivery"]["url"] == f"http://127.0.0.1:9/amojo/{connected.scope_id}"
    assert (
        connected.http.get(f"/__mock__/channels/{connected.config.channel_id}").json()["webhook_url"]
        == "http://127.0.0.1:9/amojo/:scope_id"
    )


def test_fields_not_given_keep_their_value(fake: Fake) -> None:
    before = fake.http.get(f"/__mock__/channels/{fake.config.channel_id}").json()
    after = patch(fake, {"hook_api_version": "v2", "write_first": False, "name": "Shop chat"}).json()
    assert {k: v for k, v in after.items() if k not in ("hook_api_version", "write_first", "name", "bot")} == {
        k: v for k, v in before.items() if k not in ("hook_api_version", "write_first", "name", "bot")
    }
    assert (after["hook_api_version"], after["write_first"], after["name"]) == ("v2", False, "Shop chat")
    assert after["bot"]["id"] == before["bot"]["id"]  # integrations hold the bot's id


def test_a_private_channel_takes_its_allow_list_at_the_next_connect(fake: Fake) -> None:
    assert patch(fake, {"strict": True, "allowed_accounts": [fake.config.account_id]}).status_code == 200
    refused = fake.amojo.connect(OTHER_ACCOUNT)
    assert (refused.status_code, refused.json()["error_type"]) == (403, "ACCOUNT_NOT_ALLOWED")
    assert f"PATCH /__mock__/channels/{fake.config.channel_id}" in refused.json()["hint"]
    assert patch(fake, {"allowed_accounts": [fake.config.account_id, OTHER_ACCOUNT]}).json()["allowed_accounts"] == sorted(
        [fake.config.account_id, OTHER_ACCOUNT]
    )
    assert fake.amojo.connect(OTHER_ACCOUNT).status_code == 200


def test_rotating_the_secret_refuses_the_old_one(fake: Fake) -> None:
    rotated = patch(fake, {"secret": None})
    assert rotated.status_code == 200
    secret = rotated.json()["secret"]  # drawn, so shown this once
    assert len(secret) == 40 and secret != fake.config.channel_secret
    assert secret not in fake.http.get("/__mock__/channels").text
    assert fake.amojo.connect(fake.config.account_id).status_code == 403
    fake.amojo.secret = secret
    assert fake.amojo.connect(fake.config.account_id).status_code == 200
    given = "0123456789abcdef0123456789abcdef01234567"
    chosen = patch(fake, {"secret": given})
    assert "secret" not in chosen.json() and given not in chosen.text  # the caller knows it: never echoed


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"webhook_url": "http://127.0.0.1:99999/hooks"}, "/webhook_url"),  # the rule registering applies
        ({"webhook_url": "ftp://127.0.0.1/hooks"}, "/webhook_url"),
        ({"webhok_url": "http://127.0.0.1:9/hooks"}, "/"),
        ({"id": "344a5002-f8ca-454d-af3d-396180102ac7"}, "/"),
        ({"secret": "F2D7F8704EFF95087ED45B23BA99C0B5AAC8278E"}, "/secret"),
        ({"hook_api_version": "v3"}, "/hook_api_version"),
        ({}, "/"),
        ([], "/"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(fake: Fake, body: Any, pointer: str) -> None:
    before = fake.http.get("/__mock__/channels").json()
    refused = patch(fake, body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"]["pointer"] == pointer
    assert fake.http.get("/__mock__/channels").json() == before


def test_an_unknown_channel_is_a_404(fake: Fake) -> None:
    missing = patch(fake, {"name": "x"}, channel_id="344a5002-f8ca-454d-af3d-396180102ac7")
    assert (missing.status_code, missing.json()["error_type"]) == (404, "CHANNEL_NOT_FOUND")
    assert fake.http.get("/__mock__/channels/344a5002-f8ca-454d-af3d-396180102ac7").status_code == 404


def test_registering_an_existing_channel_says_to_patch_it(fake: Fake) -> None:
    duplicate = fake.http.post("/__mock__/channels", json={"id": fake.config.channel_id, "webhook_url": "http://127.0.0.1:9/x"})
    assert duplicate.status_code == 409
    assert f"PATCH /__mock__/channels/{fake.config.channel_id}" in duplicate.json()["hint"]


def test_a_restart_on_the_state_file_keeps_the_change_unless_a_setting_is_given(state_file: Any) -> None:
    config = Config(db=str(state_file))
    app = create_app(config, clock=ManualClock(0))
    app.state.backend.update_channel(
        config.channel_id, ChannelChanges(webhook_url="http://127.0.0.1:9/a", hook_api_version="v2", secret=None)
    )
    secret = app.state.backend.channel(config.channel_id).secret
    app.state.store.close()
    again = create_app(config, clock=ManualClock(0))
    kept = again.state.backend.channel(config.channel_id)
    assert (kept.webhook_url, kept.hook_api_version, kept.secret) == ("http://127.0.0.1:9/a", "v2", secret)
    again.state.store.close()
    flagged = create_app(config.replace(webhook_url="http://127.0.0.1:9/b"), clock=ManualClock(0))
    changed = flagged.state.backend.channel(config.channel_id)
    assert (changed.webhook_url, changed.hook_api_version, changed.secret) == ("http://127.0.0.1:9/b", "v2", secret)
    flagged.state.store.close()
