"""§3 error answers and §6 where amojo is strict: JSON errors, Content-Type, routes."""

from __future__ import annotations

import pytest

from .expect import expect_error, expect_json
from .targets import Target
from .wire import PREFIX, Wire, new_id

rule = pytest.mark.rule


@rule("§3", evidence="client")
@pytest.mark.fake_only("amojo's error body is undocumented; the fake's shape is what fcritic's client reads")
def test_error_body_has_code_type_and_description(amojo: Wire) -> None:
    """Error bodies are {error_code, error_type, error_description} (+ the fake's hint), error_code = the status."""
    body = expect_error(amojo.create_chat(new_id("conv"), {"id": "u"}), 400)
    assert body["error_code"] == 400
    assert body["error_description"]
    assert body["hint"], "a refusal says how to fix it"


@rule("§3", evidence="doc")
def test_invalid_json_is_400(amojo: Wire, target: Target) -> None:
    """A body that is not JSON: 400 (errors are application/json)."""
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", raw=b'{"conversation_id": "c",')
    expect_error(response, 400, "INVALID_JSON", fake=target.is_fake)


@rule("§6", evidence="doc")
def test_non_json_content_type_is_400(amojo: Wire, target: Target) -> None:
    """Only application/json is supported: a form Content-Type, correctly signed, is refused with 400."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        raw=b"conversation_id=c&user=u",
        content_type="application/x-www-form-urlencoded",
    )
    expect_error(response, 400, "UNSUPPORTED_MEDIA_TYPE", fake=target.is_fake)


@rule("§2.3", evidence="assumption")
def test_content_type_with_charset_is_accepted(amojo: Wire) -> None:
    """application/json; charset=utf-8 (signed verbatim) is JSON too."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        {"conversation_id": new_id("conv"), "user": {"id": "u", "name": "n"}},
        content_type="application/json; charset=utf-8",
    )
    expect_json(response, 200)


@rule("§5", evidence="doc")
def test_strict_typing_refuses_numbers_as_strings(amojo: Wire, target: Target) -> None:
    """ "Strict typing": timestamp "1639660529" instead of 1639660529 is invalid data (400), naming the field."""
    payload = {
        "timestamp": "1639660529",
        "msgid": new_id("msg"),
        "conversation_id": new_id("conv"),
        "sender": {"id": "u", "name": "n"},
        "message": {"type": "text", "text": "x"},
    }
    body = expect_error(amojo.message(payload), 400, "SCHEMA_VIOLATION", fake=target.is_fake)
    if target.is_fake:
        assert body["detail"]["pointer"] == "/payload/timestamp"


@rule("§3", evidence="assumption")
@pytest.mark.fake_only("route errors of the fake")
def test_unknown_route_is_json_404(target: Target) -> None:
    """A path amojo does not serve answers a JSON 404, not HTML."""
    expect_error(target.http.get(f"{PREFIX}/nothing/here/at/all/really"), 404, "ROUTE_NOT_FOUND")


@rule("§3", evidence="assumption")
@pytest.mark.fake_only("route errors of the fake")
def test_wrong_method_is_json_405(amojo: Wire) -> None:
    """GET on connect (a POST endpoint) answers a JSON 405 naming the allowed method."""
    response = amojo.send("GET", f"{amojo.channel.id}/connect")
    expect_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers.get("allow", "")
