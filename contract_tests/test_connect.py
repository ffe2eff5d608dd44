"""§1 identifiers and §3.1–3.2 connect / disconnect."""

from __future__ import annotations

import uuid

import pytest

from .expect import example, examples, expect_error, expect_json
from .targets import Target
from .wire import Channel, Wire, new_id

rule = pytest.mark.rule


@rule("§3.1", evidence="doc")
def test_connect_echoes_fields_and_scope_id(fresh: Wire) -> None:
    """Connect answers 200 echoing account_id, title, hook_api_version, is_time_window_disabled plus scope_id."""
    response = fresh.connect(title="Contract title", hook_api_version="v2", is_time_window_disabled=True)
    body = expect_json(response, 200, "connect.response.json")
    assert body["account_id"] == fresh.channel.account_id
    assert body["title"] == "Contract title"
    assert body["hook_api_version"] == "v2"
    assert body["is_time_window_disabled"] is True


@rule("§1", evidence="doc")
def test_scope_id_joins_channel_and_account_with_underscore(fresh: Wire) -> None:
    """scope_id = "{channel_id}_{account amojo_id}"."""
    body = expect_json(fresh.connect(hook_api_version="v2"), 200)
    assert body["scope_id"] == f"{fresh.channel.id}_{fresh.channel.account_id}"


@rule("§3.1", evidence="doc")
def test_connect_defaults_hook_api_version_to_v1(fresh: Wire) -> None:
    """Without hook_api_version the connection uses v1 (the deprecated default)."""
    body = expect_json(fresh.connect(), 200, "connect.response.json")
    assert body["hook_api_version"] == "v1"


@rule("§3.1", evidence="doc")
def test_connect_title_defaults_to_channel_name(fresh: Wire) -> None:
    """Without title the account shows the channel's name."""
    body = expect_json(fresh.connect(hook_api_version="v2"), 200, "connect.response.json")
    assert isinstance(body["title"], str)
    assert body["title"]
    if fresh.channel.name is not None:
        assert body["title"] == fresh.channel.name


@rule("§3.1", evidence="doc")
def test_connect_accepts_the_vector_body_shape(fresh: Wire) -> None:
    """The verified vector's body shape (account_id, title, hook_api_version) connects."""
    body = example("connect.request.vector.json")
    body["account_id"] = fresh.channel.account_id
    response = fresh.send("POST", f"{fresh.channel.id}/connect", body)
    expect_json(response, 200, "connect.response.json")


@rule("§3.1", evidence="assumption")
def test_reconnect_is_idempotent(fresh: Wire) -> None:
    """Connecting an already connected account answers 200 with the same scope_id."""
    first = expect_json(fresh.connect(hook_api_version="v2"), 200)
    second = expect_json(fresh.connect(hook_api_version="v2"), 200)
    assert first["scope_id"] == second["scope_id"]


@rule("§3.1", evidence="doc")
def test_connect_to_unknown_channel_is_404(target: Target, channel: Channel) -> None:
    """A channel id amoCRM never issued: 404."""
    ghost = Channel(str(uuid.uuid4()), channel.secret, channel.account_id)
    response = Wire(target.http, ghost).connect(hook_api_version="v2")
    expect_error(response, 404, "CHANNEL_NOT_FOUND", fake=target.is_fake)


@rule("§3.1", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/connect.request.*.json"))
def test_connect_with_invalid_data_is_400(fresh: Wire, target: Target, name: str) -> None:
    """Invalid connect bodies (null account_id, hook_api_version v3, "true" as a flag): 400 with details."""
    body = example(name)
    if isinstance(body.get("account_id"), str):
        body["account_id"] = fresh.channel.account_id
    response = fresh.send("POST", f"{fresh.channel.id}/connect", body)
    expect_error(response, 400, "SCHEMA_VIOLATION", fake=target.is_fake)


@rule("§1", evidence="assumption")
@pytest.mark.fake_only("registers a private channel with an allow-list")
def test_private_channel_refuses_accounts_not_listed(target: Target) -> None:
    """A private channel connects only the accounts listed at registration (403 assumed)."""
    channel = target.new_channel(strict=True)
    outsider = Channel(channel.id, channel.secret, str(uuid.uuid4()))
    expect_error(Wire(target.http, outsider).connect(hook_api_version="v2"), 403, "ACCOUNT_NOT_ALLOWED")
    expect_json(Wire(target.http, channel).connect(hook_api_version="v2"), 200)


@rule("§3.2", evidence="doc")
def test_disconnect_answers_200_without_body(amojo: Wire) -> None:
    """Disconnect: 200 with no body."""
    response = amojo.disconnect()
    assert response.status_code == 200, response.text
    assert response.content == b""
    amojo.connect(hook_api_version="v2")  # leave a live account connected


@rule("§3.2", evidence="doc")
def test_disconnect_unknown_channel_is_404(target: Target, channel: Channel) -> None:
    """Disconnect from a channel that does not exist: 404."""
    ghost = Channel(str(uuid.uuid4()), channel.secret, channel.account_id)
    expect_error(Wire(target.http, ghost).disconnect(), 404, "CHANNEL_NOT_FOUND", fake=target.is_fake)


@rule("§3.2", evidence="doc")
def test_disconnect_without_account_id_is_400(amojo: Wire, target: Target) -> None:
    """Disconnect needs account_id: an empty object is invalid data (400)."""
    response = amojo.send("DELETE", f"{amojo.channel.id}/disconnect", example("invalid/disconnect.request.missing-account-id.json"))
    expect_error(response, 400, "SCHEMA_VIOLATION", fake=target.is_fake)


@rule("§6", evidence="assumption")
def test_scope_endpoints_refuse_after_disconnect_with_404(amojo: Wire, target: Target) -> None:
    """After disconnect the scope is gone: its endpoints answer 404 until the account reconnects (§3.1: re-run connect)."""
    assert amojo.disconnect().status_code == 200
    response = amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "Late"})
    expect_error(response, 404, "SCOPE_NOT_FOUND", fake=target.is_fake)
    expect_json(amojo.connect(hook_api_version="v2"), 200)
    expect_json(amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "Back"}), 200)


@rule("§6", evidence="assumption")
def test_unknown_scope_is_404(target: Target, channel: Channel) -> None:
    """A scope id of a never-connected account: 404 on scope endpoints."""
    stranger = Channel(channel.id, channel.secret, str(uuid.uuid4()))
    response = Wire(target.http, stranger).create_chat(new_id("conv"), {"id": "u", "name": "n"})
    expect_error(response, 404, "SCOPE_NOT_FOUND", fake=target.is_fake)
