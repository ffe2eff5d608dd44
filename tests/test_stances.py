"""Fidelity stances: each rule amoCRM's documents disagree on, under its default, strict and off.

Every rule's test cites the evidence the stance rests on (mock_amojo/wire/_stances.py holds the same
citations, docs/fidelity.md the table). A warned request is accepted and says so three ways: the
``X-Mock-Amojo-Warning`` header, the journal entry's ``warnings`` and the console.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from mock_amojo.errors import ConfigError
from mock_amojo.wire._canonical import hmac_sha1
from mock_amojo.wire._stances import RULES, STANCES, Stances

from .conftest import Fake, text_payload

WARNING = "x-mock-amojo-warning"


def _use(fake: Fake, overrides: dict[str, str] | None = None, *, strict: bool = False, error_bodies: str = "explain") -> None:
    fake.backend.stances = Stances.resolve(overrides, strict=strict, error_bodies=error_bodies)


def _warned(response: httpx.Response) -> list[str]:
    return [value.split(":", 1)[0] for value in response.headers.get_list(WARNING)]


def _journal_warnings(fake: Fake) -> list[str]:
    return [w["rule"] for w in fake.backend.journal.entries()[-1]["warnings"]]


def _send(fake: Fake, msgid: str, **changes: Any) -> httpx.Response:
    payload = text_payload(msgid)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return fake.amojo.send_message(payload)


# -- the registry ---------------------------------------------------------------------------


def test_every_rule_has_a_summary_evidence_a_default_and_a_refusal() -> None:
    assert len(RULES) >= 10
    for rule in RULES.values():
        assert rule.default in STANCES and rule.summary and "\n" not in rule.summary
        assert rule.refusal.split()[0] in {"400", "403", "404"}
        assert len(rule.evidence) >= 1
        assert all(e.split(":")[0].split(" (")[0] in _SOURCES or e.startswith(_SOURCES) for e in rule.evidence), rule.id


_SOURCES = ("doc RU", "doc EN", "doc RU/EN", "doc RU and Kommo OAS", "Kommo OAS", "seed", "client", "no document")


def test_strict_makes_every_rule_strict_and_a_rule_override_wins() -> None:
    stances = Stances.resolve({"empty_text": "off"}, strict=True)
    assert {r: s for r, s in stances.by_rule.items() if s != "strict"} == {"empty_text": "off"}


def test_an_unknown_rule_or_stance_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown rule 'empty_txt' \(did you mean 'empty_text'\?\)"):
        Stances.resolve({"empty_txt": "warn"})
    with pytest.raises(ConfigError, match="strict, warn or off, got 'loud'"):
        Stances.resolve({"empty_text": "loud"})


# -- each rule -------------------------------------------------------------------------------


def test_msec_timestamp_absent_warns_by_default(connected: Fake) -> None:
    """The RU reference's payload table lists msec_timestamp and Kommo's OAS marks it required (POST /{scope_id}
    payload.required), but the EN seed's own «Message sending» example omits it: accepted with a warning."""
    response = _send(connected, "m-1", msec_timestamp=None)
    assert response.status_code == 200
    assert _warned(response) == ["msec_timestamp_absent"]
    assert _journal_warnings(connected) == ["msec_timestamp_absent"]
    warning = connected.backend.journal.entries()[-1]["warnings"][0]
    assert "Kommo OAS" in warning["evidence"] and "seed" in warning["evidence"]
    assert connected.state()["messages"][0]["msec_timestamp"] == int(connected.clock.now()) * 1000
    assert _warned(_send(connected, "m-2")) == []  # with it: no warning


def test_msec_timestamp_absent_strict_and_off(connected: Fake) -> None:
    """Same evidence; strict refuses with the schema's 400 naming the pointer, off accepts silently."""
    _use(connected, {"msec_timestamp_absent": "strict"})
    refused = _send(connected, "m-1", msec_timestamp=None)
    assert refused.status_code == 400
    assert refused.json()["detail"]["pointer"] == "/payload/msec_timestamp"
    assert "stance msec_timestamp_absent=strict" in refused.json()["hint"]
    _use(connected, {"msec_timestamp_absent": "off"})
    accepted = _send(connected, "m-1", msec_timestamp=None)
    assert accepted.status_code == 200 and _warned(accepted) == []
    assert connected.backend.journal.entries()[-1]["warnings"] == []


def test_delivery_status_msgid_must_match_the_url(connected: Fake) -> None:
    """Kommo's OAS, POST /{scope_id}/{msgid}/delivery_status: the body's msgid «Must match the msgid in the method URL»;
    the RU reference's samples always send the same id. Documented and not contradicted: strict by default."""
    assert _send(connected, "m-0").status_code == 200
    reply = connected.app.state.operator.reply(connected.scope_id, conversation_id="conv-1", message={"type": "text", "text": "hi"})
    amojo_id = reply["message_id"]
    path = f"{connected.scope_id}/{amojo_id}/delivery_status"
    mismatch = connected.amojo.request("POST", path, {"msgid": "another-id", "delivery_status": 1})
    assert mismatch.status_code == 400
    assert mismatch.json()["error_type"] == "INVALID_REFERENCE" and mismatch.json()["detail"]["pointer"] == "/msgid"
    assert connected.amojo.request("POST", path, {"msgid": amojo_id, "delivery_status": 1}).status_code == 200
    assert connected.amojo.request("POST", path, {"delivery_status": 2}).status_code == 200  # no msgid in the body: nothing to compare
    _use(connected, {"delivery_status_msgid_mismatch": "warn"})
    warned = connected.amojo.request("POST", path, {"msgid": "another-id", "delivery_status": 2})
    assert warned.status_code == 200 and _warned(warned) == ["delivery_status_msgid_mismatch"]


def _import(msgid: str, ref_id: str) -> dict[str, Any]:
    return {
        **text_payload(msgid),
        "sender": {"ref_id": ref_id, "name": "Manager"},
        "receiver": {"id": "user-1", "name": "Client"},
    }


def test_import_from_an_unknown_crm_user_warns_or_is_404(connected: Fake) -> None:
    """The RU reference: an outgoing message's sender.ref_id is a CRM user's amojo_id (/api/v4/users?with=amojo_id)
    or the channel bot's id; no document says what amojo answers for another id. Warn by default (the fake knows a real
    account's users only if registered), strict answers 404 USER_NOT_FOUND."""
    response = connected.amojo.send_message(_import("m-1", "not-a-user"))
    assert response.status_code == 200 and _warned(response) == ["import_unknown_sender"]
    manager = connected.backend.account(connected.config.account_id).users[0].id  # type: ignore[union-attr]
    assert _warned(connected.amojo.send_message(_import("m-2", manager))) == []
    _use(connected, strict=True)
    refused = connected.amojo.send_message(_import("m-3", "another-stranger"))
    assert refused.status_code == 404 and refused.json()["error_type"] == "USER_NOT_FOUND"


def _write_first(fake: Fake) -> dict[str, Any]:
    started: dict[str, Any] = fake.app.state.operator.initiate(fake.scope_id, phone="+79161234567", message={"type": "text", "text": "Hi"})
    return started


def _answer(started: dict[str, Any], msgid: str, conversation_id: str) -> dict[str, Any]:
    return {
        **text_payload(msgid, conversation_id=conversation_id),
        "conversation_ref_id": started["chat_id"],
        "sender": {"id": "client-7", "ref_id": started["receiver_id"], "name": "Client"},
    }


def test_write_first_answered_with_a_fresh_conversation_id_each_time(connected: Fake) -> None:
    """The RU/EN write-first guide: the answer carries the integration's conversation_id plus conversation_ref_id and
    sender.ref_id, and amoCRM links the chats. @mobilon-dev/amotop sends a fresh random conversation_id with the known
    conversation_ref_id on every message: accepted into the chat conversation_ref_id names, with a warning."""
    started = _write_first(connected)
    first = connected.amojo.send_message(_answer(started, "a-1", "random-1"))
    assert first.status_code == 200 and _warned(first) == []  # the first answer links the chat: documented
    second = connected.amojo.send_message(_answer(started, "a-2", "random-2"))
    assert second.status_code == 200 and _warned(second) == ["write_first_new_conversation_id"]
    chats = connected.state()["chats"]
    assert len(chats) == 1 and chats[0]["conversation_id"] == "random-1"
    assert [m["msgid"] for m in connected.state()["messages"] if m["direction"] == "incoming"] == ["a-1", "a-2"]
    _use(connected, strict=True)
    refused = connected.amojo.send_message(_answer(started, "a-3", "random-3"))
    assert refused.status_code == 400 and refused.json()["detail"]["pointer"] == "/payload/conversation_ref_id"


def test_create_chat_with_only_user_ref_id(connected: Fake) -> None:
    """The RU reference and Kommo's OAS (POST /{scope_id}/chats, user.required [id, name]) require user.id and name;
    @mobilon-dev/amotop creates chats with user: {ref_id} only. Accepted for the client ref_id names, with a warning."""
    started = _write_first(connected)
    response = connected.amojo.create_chat("amotop-chat", {"ref_id": started["receiver_id"]})
    assert response.status_code == 200 and _warned(response) == ["create_chat_ref_id_only"]
    assert response.json()["user"]["id"] == started["receiver_id"]
    unknown = connected.amojo.create_chat("amotop-chat-2", {"ref_id": "no-such-user"})
    assert unknown.status_code == 404 and unknown.json()["error_type"] == "USER_NOT_FOUND"
    _use(connected, strict=True)
    refused = connected.amojo.create_chat("amotop-chat-3", {"ref_id": started["receiver_id"]})
    assert refused.status_code == 400 and refused.json()["detail"]["pointer"] == "/user/id"
    assert connected.amojo.create_chat("c-4", {"name": "No id"}).status_code == 400  # neither id nor ref_id: always refused


def test_create_chat_with_an_existing_user_id_returns_the_existing_user(connected: Fake) -> None:
    """Kommo's create-chat reference (developers.kommo.com/reference/create-chat, kommo.com/developers/content/chats/
    creating-new-chat): «If you enter an existing user[id] you will get the existing information related to this user»."""
    first = connected.amojo.create_chat("c-1", {"id": "user-1", "name": "Ann", "profile": {"phone": "+79151112233"}})
    again = connected.amojo.create_chat("c-2", {"id": "user-1", "name": "Bob", "profile": {"phone": "+70000000000"}})
    assert again.status_code == 200
    assert again.json()["user"] == first.json()["user"]
    assert again.json()["id"] != first.json()["id"]


def test_legacy_body_only_signature_on_send_message(connected: Fake) -> None:
    """The RU reference: the older signature stays valid «for the methods that used it», methods since autumn 2019
    need the new one; the older «API online чатов» page signs a new_message body with HMAC-SHA1 of the body alone,
    and a published PHP integration still does. Accepted on send_message with a warning; strict: 403 MISSING_DATE."""
    body = b'{"event_type":"new_message","payload":' + httpx.Request("POST", "/", json=text_payload("m-1")).content + b"}"
    headers = {"Content-Type": "application/json", "X-Signature": hmac_sha1(connected.config.channel_secret, body)}
    path = f"/v2/origin/custom/{connected.scope_id}"
    response = connected.http.post(path, content=body, headers=headers)
    assert response.status_code == 200 and _warned(response) == ["legacy_signature_new_message"]
    typing = b'{"conversation_id":"conv-1","sender":{"id":"user-1"}}'
    later = connected.http.post(
        f"{path}/typing", content=typing, headers={**headers, "X-Signature": hmac_sha1(connected.config.channel_secret, typing)}
    )
    assert later.status_code == 403  # typing came after autumn 2019: new scheme only
    _use(connected, strict=True)
    body2 = body.replace(b'"m-1"', b'"m-2"')
    refused = connected.http.post(
        path, content=body2, headers={**headers, "X-Signature": hmac_sha1(connected.config.channel_secret, body2)}
    )
    assert refused.status_code == 403 and refused.json()["error_type"] == "MISSING_DATE"


def test_legacy_signature_on_connect_stays_silent(fake: Fake) -> None:
    """connect and disconnect keep the body-only scheme without a warning (the RU reference and amotop agree)."""
    body = f'{{"account_id":"{fake.config.account_id}"}}'.encode()
    headers = {"Content-Type": "application/json", "X-Signature": hmac_sha1(fake.config.channel_secret, body)}
    response = fake.http.post(f"/v2/origin/custom/{fake.config.channel_id}/connect", content=body, headers=headers)
    assert response.status_code == 200 and _warned(response) == []


def test_flat_reply_to_quotes_like_the_nested_one(connected: Fake) -> None:
    """The RU reference: reply_to is {message: embedded_message}; Kommo's OAS (POST /{scope_id}) sends the embedded
    message itself (reply_to.id / reply_to.msgid). Both quote the same message; the flat one warns."""
    assert _send(connected, "m-1").status_code == 200
    nested = _send(connected, "m-2", reply_to={"message": {"msgid": "m-1"}})
    flat = _send(connected, "m-3", reply_to={"msgid": "m-1"})
    assert (nested.status_code, _warned(nested), flat.status_code, _warned(flat)) == (200, [], 200, ["reply_to_flat"])
    quoted = [m["reply_to"] for m in connected.state()["messages"][1:]]
    assert quoted[0] == quoted[1] and quoted[0]["message"]["msgid"] == "m-1"
    missing = _send(connected, "m-4", reply_to={"msgid": "nope"})
    assert missing.status_code == 404 and missing.json()["detail"]["field"] == "/payload/reply_to/msgid"
    _use(connected, strict=True)
    refused = _send(connected, "m-5", reply_to={"msgid": "m-1"})
    assert refused.status_code == 400 and refused.json()["detail"]["pointer"] == "/payload/reply_to/message"


@pytest.mark.parametrize("kind", ["picture", "video", "file"])
def test_file_name_and_size_optional_as_in_kommo(connected: Fake, kind: str) -> None:
    """The RU reference requires file_name and file_size for file, video, picture; Kommo's OAS says file_name «the field
    is optional» and file_size «(Optional)». Accepted with one warning per absent field; strict: 400 at the field."""
    media = {"type": kind, "media": f"https://x/{kind}", "file_name": "f"}
    response = _send(connected, "m-1", message=media)
    assert response.status_code == 200 and _warned(response) == ["file_fields_absent"]
    bare = _send(connected, "m-2", message={"type": kind, "media": f"https://x/{kind}"})
    assert _warned(bare) == ["file_fields_absent", "file_fields_absent"]
    _use(connected, strict=True)
    refused = _send(connected, "m-3", message=media)
    assert refused.status_code == 400 and refused.json()["detail"]["pointer"] == "/payload/message/file_size"


def test_media_absent_for_audio_voice_and_a_sticker_id(connected: Fake) -> None:
    """The RU reference and Kommo's OAS describe media as the download URL for picture/file/video/audio/voice/sticker
    and neither says when it may be absent; sticker_id is a global sticker id. Audio, voice and a sticker with only
    sticker_id are accepted with a warning; a picture, file or video without media stays refused (nothing to show)."""
    sticker = _send(connected, "m-1", message={"type": "sticker", "sticker_id": "st-42"})
    assert sticker.status_code == 200 and _warned(sticker) == ["media_absent"]
    assert "sticker_id only" in sticker.headers[WARNING]
    assert _warned(_send(connected, "m-2", message={"type": "voice"})) == ["media_absent"]
    picture = _send(connected, "m-3", message={"type": "picture", "file_name": "p", "file_size": 1})
    assert picture.status_code == 400
    _use(connected, {"media_absent": "strict"})
    assert _send(connected, "m-4", message={"type": "audio"}).json()["detail"]["pointer"] == "/payload/message/media"


def test_empty_text(connected: Fake) -> None:
    """The RU reference and Kommo's OAS make text mandatory for type text; neither says whether "" is allowed.
    Accepted with a warning; a text message without text stays refused (documented)."""
    empty = _send(connected, "m-1", message={"type": "text", "text": ""})
    assert empty.status_code == 200 and _warned(empty) == ["empty_text"]
    assert _send(connected, "m-2", message={"type": "text"}).status_code == 400
    _use(connected, {"empty_text": "strict"})
    assert _send(connected, "m-3", message={"type": "text", "text": ""}).json()["detail"]["pointer"] == "/payload/message/text"


def test_edits_fire_no_new_message_rule(connected: Fake) -> None:
    """Per-type rules are new_message rules (the reference: an edit sends only what changes)."""
    assert _send(connected, "m-1").status_code == 200
    edit = connected.amojo.send_message({"msgid": "m-1", "message": {"type": "text", "text": ""}}, event_type="edit_message")
    assert edit.status_code == 200 and _warned(edit) == []


def test_every_warning_is_one_header_and_one_journal_item(connected: Fake) -> None:
    response = _send(connected, "m-1", msec_timestamp=None, message={"type": "picture", "media": "https://x/p"})
    assert _warned(response) == ["msec_timestamp_absent", "file_fields_absent", "file_fields_absent"]
    entry = connected.backend.journal.entries()[-1]
    assert [w["rule"] for w in entry["warnings"]] == _warned(response)
    assert all(set(w) == {"rule", "message", "evidence"} for w in entry["warnings"])


def test_a_header_never_carries_a_line_break_or_non_ascii(connected: Fake) -> None:
    started = _write_first(connected)
    assert connected.amojo.send_message(_answer(started, "a-1", "чат-1")).status_code == 200
    response = connected.amojo.send_message(_answer(started, "a-2", "чат\r\nX-Evil: 1"))
    (value,) = response.headers.get_list(WARNING)
    assert value.isascii() and "\n" not in value and "x-evil" not in response.headers


def test_the_console_marks_warned_requests(connected: Fake) -> None:
    _send(connected, "m-1", msec_timestamp=None)
    journal = connected.http.get("/__mock__/ui/fragments/journal").text
    assert 'class="entry warned"' in journal and "⚠ msec_timestamp_absent" in journal
    assert "Kommo OAS" in journal  # the evidence is shown


# -- error bodies ------------------------------------------------------------------------------


def test_bare_error_bodies_answer_kommos_sparsest_shapes(fake: Fake) -> None:
    """Kommo's OAS examples: 403 and 404 answer an empty text/plain body, 400 answers {}. With --error-bodies bare the
    fake answers exactly that; the explanation moves to X-Mock-Amojo-Explain and stays in the journal."""
    _use(fake, error_bodies="bare")
    assert fake.amojo.connect(fake.config.account_id).status_code == 200
    bad_sig = fake.http.post(f"/v2/origin/custom/{fake.scope_id}/chats", content=b"{}", headers={"X-Signature": "0" * 40})
    assert (bad_sig.status_code, bad_sig.content, bad_sig.headers["content-type"]) == (403, b"", "text/plain")
    assert bad_sig.headers["x-mock-amojo-explain"].startswith("MISSING_DATE: ")
    not_found = fake.amojo.delivery_status("no-such-message", 1)
    assert (not_found.status_code, not_found.content) == (404, b"")
    assert "MESSAGE_NOT_FOUND" in not_found.headers["x-mock-amojo-explain"]
    invalid = fake.amojo.create_chat("c-1", {"id": "u-1"})
    assert (invalid.status_code, invalid.json(), invalid.headers["content-type"]) == (400, {}, "application/json")
    assert "/user" in invalid.headers["x-mock-amojo-explain"]
    entry = fake.backend.journal.entries()[-1]
    assert entry["error_type"] == "SCHEMA_VIOLATION" and entry["detail"]["pointer"] == "/user"
    no_route = fake.http.get("/v2/origin/custom/nowhere/at/all")
    assert (no_route.status_code, no_route.content) == (404, b"")
    journal = fake.http.get("/__mock__/ui/fragments/journal").text
    assert "SCHEMA_VIOLATION" in journal and "/user" in journal


def test_bare_error_bodies_never_leak_a_secret_in_the_header(fake: Fake) -> None:
    _use(fake, error_bodies="bare")
    secret = fake.config.channel_secret
    response = fake.http.post(f"/v2/origin/custom/{fake.config.channel_id}/connect", content=b"{}", headers={"X-Signature": secret})
    assert response.status_code == 403 and secret not in response.headers["x-mock-amojo-explain"]


def test_delivery_status_codes_as_strings(connected: Fake) -> None:
    """Kommo's OAS types delivery_status and error_code as strings (enum "1", "2", "-1"; "901"…"905"); the RU reference
    types them int under «strict typing» and the verified signing vector sends "delivery_status":2. Strings are read as
    the integers with a warning; strict refuses them with the schema's 400."""
    assert _send(connected, "m-0").status_code == 200
    reply = connected.app.state.operator.reply(connected.scope_id, conversation_id="conv-1", message={"type": "text", "text": "hi"})
    path = f"{connected.scope_id}/{reply['message_id']}/delivery_status"
    response = connected.amojo.request("POST", path, {"delivery_status": "-1", "error_code": "905", "error": "blocked"})
    assert response.status_code == 200 and _warned(response) == ["delivery_status_string", "delivery_status_string"]
    (status,) = next(m for m in connected.state()["messages"] if m["id"] == reply["message_id"])["statuses"][1:]
    assert (status["status"], status["code"], status["error_code"], status["error"]) == ("error", -1, 905, "blocked")
    assert connected.amojo.request("POST", path, {"delivery_status": "3"}).status_code == 400  # not a status in either spelling
    _use(connected, strict=True)
    refused = connected.amojo.request("POST", path, {"delivery_status": "2"})
    assert refused.status_code == 400 and refused.json()["detail"]["pointer"] == "/delivery_status"


def test_requests_and_aiohttp_in_process_see_warnings_and_bare_errors() -> None:
    """The headers reach code that does not speak httpx too (the amojo fixture serves requests and aiohttp in process)."""
    import asyncio

    import aiohttp
    import requests

    from mock_amojo.testing import SandboxHost, SandboxSettings
    from mock_amojo.wire._signing import format_date, sign_request

    host = SandboxHost()
    try:
        with host.open(SandboxSettings(clock=1_764_000_000, error_bodies="bare")) as amojo:
            amojo.connect()
            path = f"/v2/origin/custom/{amojo.scope_id}"
            payload = {**text_payload("m-1"), "timestamp": 1_764_000_000}
            del payload["msec_timestamp"]
            body = orjson.dumps({"event_type": "new_message", "payload": payload})
            signed = sign_request(amojo.channel_secret, "POST", path, body, date=format_date(amojo.clock.now()))
            warned = requests.post(f"https://amojo.amocrm.ru{path}", data=body, headers=signed, timeout=10)
            assert warned.status_code == 200 and warned.headers[WARNING].startswith("msec_timestamp_absent: ")

            async def refused() -> tuple[int, bytes, str]:
                async with aiohttp.ClientSession() as session, session.post(f"https://amojo.kommo.com{path}", data=body) as response:
                    return response.status, await response.read(), response.headers["x-mock-amojo-explain"]

            status, content, explain = asyncio.run(refused())
            assert (status, content) == (403, b"") and explain.startswith("MISSING_SIGNATURE: ")
            assert [w["rule"] for w in amojo.warnings] == ["msec_timestamp_absent"]
    finally:
        host.close()


def test_the_control_plane_lists_the_stances_in_force(fake: Fake) -> None:
    _use(fake, {"empty_text": "off"}, strict=True, error_bodies="bare")
    listed = fake.http.get("/__mock__/stances").json()
    assert listed["error_bodies"] == "bare"
    assert [r["id"] for r in listed["rules"]] == list(RULES)
    by_id = {r["id"]: r for r in listed["rules"]}
    assert (by_id["empty_text"]["stance"], by_id["media_absent"]["stance"], by_id["media_absent"]["default"]) == ("off", "strict", "warn")
    assert by_id["msec_timestamp_absent"]["evidence"] == list(RULES["msec_timestamp_absent"].evidence)
    # The fake's own API keeps explaining itself under bare error bodies.
    assert fake.http.get("/__mock__/journal?since=x").json()["error_type"] == "CONTROL_INVALID"


def test_the_reply_time_window_is_recorded_not_enforced(fake: Fake) -> None:
    """The RU reference: a channel may have a reply time window (set by amoCRM support) and connect's
    is_time_window_disabled turns it off per account; no source says how long it is or what it blocks. The fake
    stores and echoes the flag and refuses nothing for it (docs/fidelity.md, «Decisions that need no stance»)."""
    connected = fake.amojo.connect(fake.config.account_id, hook_api_version="v2", is_time_window_disabled=False)
    assert connected.json()["is_time_window_disabled"] is False
    assert _send(fake, "m-1").status_code == 200
    fake.clock.advance(8 * 24 * 3600)  # far past any messenger's reply window (WhatsApp's is 24 h)
    late = fake.app.state.operator.reply(fake.scope_id, conversation_id="conv-1", message={"type": "text", "text": "late"})
    assert late["message"]["statuses"][0]["status"] == "sent"


def test_a_warning_never_echoes_the_channel_secret(connected: Fake) -> None:
    secret = connected.config.channel_secret
    started = _write_first(connected)
    assert connected.amojo.send_message(_answer(started, "a-1", "conv-w")).status_code == 200
    response = connected.amojo.send_message(_answer(started, "a-2", secret))
    assert response.status_code == 200 and _warned(response) == ["write_first_new_conversation_id"]
    assert secret not in response.headers[WARNING]
    assert secret not in str(connected.backend.journal.entries()[-1]["warnings"])
