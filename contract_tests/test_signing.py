"""§2 Request signing: Date, Content-Type, Content-MD5 and X-Signature, as amojo checks them."""

from __future__ import annotations

import time

import pytest

from .expect import expect_error, expect_json, vectors
from .targets import Target
from .wire import PREFIX, Wire, hmac_hex, http_date, legacy_signature, md5_hex, new_id, rfc2822_date, sign

rule = pytest.mark.rule


@rule("§7", evidence="doc")
def test_published_vectors_reproduce_and_their_bytes_are_accepted(amojo: Wire) -> None:
    """The suite's signer reproduces all seven verified vectors, and the target accepts a vector body byte-exact (PHP escapes)."""
    for vector in vectors():
        headers = sign(
            vector["secret"],
            vector["method"],
            vector["path"],
            vector["body"].encode(),
            date=vector["date"],
            content_type=vector["content_type"],
        )
        assert headers["Content-MD5"] == vector["content_md5"], vector["name"]
        assert headers["X-Signature"] == vector["signature"], vector["name"]
    create_chat = next(v for v in vectors() if v["name"] == "create_chat")
    raw = create_chat["body"].encode()
    assert b"\\/" in raw and b"\\u" in raw  # PHP json_encode escaping, sent as published
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", raw=raw)
    expect_json(response, 200, "create_chat.response.json")


@rule("§2.4", evidence="doc")
def test_correctly_signed_request_is_accepted(amojo: Wire) -> None:
    """A request signed over METHOD, Content-MD5, Content-Type, Date and path is accepted."""
    response = amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "Signed"})
    expect_json(response, 200, "create_chat.response.json")


@rule("§2.4", evidence="doc")
def test_missing_signature_is_refused_403(amojo: Wire, target: Target) -> None:
    """No X-Signature header: 403."""
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/typing", {"conversation_id": "c", "sender": {"id": "u"}}, drop=("X-Signature",)
    )
    expect_error(response, 403, "MISSING_SIGNATURE", fake=target.is_fake)


@rule("§2.4", evidence="doc")
def test_signature_with_another_secret_is_refused_403(amojo: Wire, target: Target) -> None:
    """A signature keyed with a different secret: 403 (every endpoint lists it)."""
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/chats", {"conversation_id": "c", "user": {"id": "u", "name": "n"}}, secret="0" * 40
    )
    expect_error(response, 403, "SIGNATURE_MISMATCH", fake=target.is_fake)


@rule("§2.4", evidence="doc")
def test_signature_hex_is_compared_case_insensitively(amojo: Wire) -> None:
    """Upper-case hex in X-Signature still verifies (compare case-insensitively, §2 notes)."""
    body = b'{"conversation_id":"%s","user":{"id":"u-1","name":"Caps"}}' % new_id("conv").encode()
    path = f"{PREFIX}/{amojo.channel.scope_id}/chats"
    headers = sign(amojo.channel.secret, "POST", path, body)
    headers["X-Signature"] = headers["X-Signature"].upper()
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", raw=body, headers=headers)
    expect_json(response, 200)


@rule("§2.4", evidence="doc")
def test_method_is_part_of_the_signed_string(fresh: Wire, target: Target) -> None:
    """Signing DELETE's body with POST (the RU PHP sample's slip) is refused: the method is signed."""
    assert fresh.connect().status_code == 200
    body = b'{"account_id":"%s"}' % fresh.channel.account_id.encode()
    path = f"{PREFIX}/{fresh.channel.id}/disconnect"
    headers = sign(fresh.channel.secret, "POST", path, body)
    response = fresh.http.request("DELETE", path, content=body, headers=headers)
    expect_error(response, 403, "SIGNATURE_MISMATCH", fake=target.is_fake)


@rule("§2.4", evidence="doc")
def test_query_string_is_not_signed(amojo: Wire) -> None:
    """History with ?offset&limit verifies against the path without the query."""
    conversation, user = new_id("conv"), new_id("user")
    chat_id = amojo.chat_id(conversation, user)
    assert amojo.incoming(conversation, user).status_code == 200
    response = amojo.history(chat_id, offset=0, limit=10)
    expect_json(response, 200, "history.response.json")


@rule("§2.4", evidence="doc")
def test_signing_the_query_string_is_refused(amojo: Wire, target: Target) -> None:
    """A signature computed over path?query does not verify: the query is not part of the signed string."""
    conversation, user = new_id("conv"), new_id("user")
    chat_id = amojo.chat_id(conversation, user)
    path = f"{PREFIX}/{amojo.channel.scope_id}/chats/{chat_id}/history"
    date = rfc2822_date()
    canonical_with_query = "\n".join(("GET", md5_hex(b""), "application/json", date, path + "?limit=5"))
    signature = hmac_hex(amojo.channel.secret, canonical_with_query)
    headers = {"Date": date, "Content-Type": "application/json", "Content-MD5": md5_hex(b""), "X-Signature": signature}
    response = amojo.http.get(path, params={"limit": 5}, headers=headers)
    expect_error(response, 403, "SIGNATURE_MISMATCH", fake=target.is_fake)


@rule("§2.1", evidence="doc")
def test_content_md5_mismatch_is_refused_403(amojo: Wire, target: Target) -> None:
    """Content-MD5 that is not the MD5 of the body: refused like a bad signature (403, code assumed)."""
    body = b'{"conversation_id":"c-md5","sender":{"id":"u"}}'
    path = f"{PREFIX}/{amojo.channel.scope_id}/typing"
    # Sign honestly over the wrong MD5, so only the MD5 check can fail.
    date = rfc2822_date()
    wrong = md5_hex(b"something else")
    signature = hmac_hex(amojo.channel.secret, "\n".join(("POST", wrong, "application/json", date, path)))
    headers = {"Date": date, "Content-Type": "application/json", "Content-MD5": wrong, "X-Signature": signature}
    response = amojo.http.post(path, content=body, headers=headers)
    expect_error(response, 403, "CONTENT_MD5_MISMATCH", fake=target.is_fake)


@rule("§2.1", evidence="doc")
def test_content_md5_covers_raw_bytes_including_trailing_newline(amojo: Wire) -> None:
    """A body with a trailing newline and spaces verifies when MD5 and signature cover exactly those bytes."""
    raw = b'{ "conversation_id" : "%s", "user" : {"id": "u-raw", "name": "Raw"} }\n' % new_id("conv").encode()
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", raw=raw)
    expect_json(response, 200)


@rule("§2.1", evidence="doc")
def test_get_without_body_signs_md5_of_empty_string(amojo: Wire) -> None:
    """A GET with no body carries Content-MD5 d41d8cd98f00b204e9800998ecf8427e and is accepted."""
    response = amojo.history(new_id("unknown-chat"))
    assert response.request.headers["Content-MD5"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert response.status_code == 204, response.text


@rule("§2", evidence="client")
def test_get_with_json_body_hashes_the_bytes_received(amojo: Wire) -> None:
    """amojowrapper sends history GET with body "[]" and Content-MD5 md5("[]"): accepted, body ignored."""
    response = amojo.send("GET", f"{amojo.channel.scope_id}/chats/{new_id('chat')}/history", raw=b"[]")
    assert response.request.headers["Content-MD5"] == "d751713988987e9331980363e24189ce"
    assert response.status_code == 204, response.text


@rule("§2.2", evidence="doc")
def test_date_with_numeric_utc_offset_is_accepted(amojo: Wire) -> None:
    """Date in PHP RFC2822 form with +0000 (the documented spelling)."""
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/chats", {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}}, date=rfc2822_date()
    )
    expect_json(response, 200)


@rule("§2.2", evidence="client")
def test_date_in_gmt_spelling_is_accepted(amojo: Wire) -> None:
    """Date as JS toUTCString() writes it (…GMT), signed verbatim."""
    date = http_date()
    assert date.endswith(" GMT")
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/chats", {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}}, date=date
    )
    expect_json(response, 200)


@rule("§2.2", evidence="assumption")
def test_date_with_other_numeric_offset_is_accepted(amojo: Wire) -> None:
    """Date in a +0300 zone denoting the current instant is accepted (any numeric offset)."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}},
        date=rfc2822_date(offset_minutes=180),
    )
    expect_json(response, 200)


@rule("§2.2", evidence="assumption")
def test_wrong_weekday_in_date_is_not_rejected(amojo: Wire) -> None:
    """The documented example has a wrong weekday; the date itself is what counts."""
    date = rfc2822_date()
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    wrong = weekdays[(weekdays.index(date[:3]) + 1) % 7] + date[3:]
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/chats", {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}}, date=wrong
    )
    expect_json(response, 200)


@rule("§2.4", evidence="doc")
def test_date_is_signed_verbatim(amojo: Wire, target: Target) -> None:
    """Signing the +0000 spelling but sending the GMT spelling of the same instant fails: the received string is signed."""
    now = time.time()
    body = b'{"conversation_id":"c-date","user":{"id":"u","name":"n"}}'
    path = f"{PREFIX}/{amojo.channel.scope_id}/chats"
    headers = sign(amojo.channel.secret, "POST", path, body, date=rfc2822_date(now))
    headers["Date"] = http_date(now)
    response = amojo.http.post(path, content=body, headers=headers)
    expect_error(response, 403, "SIGNATURE_MISMATCH", fake=target.is_fake)


@rule("§2.5", evidence="doc")
def test_date_within_fifteen_minutes_is_accepted(amojo: Wire) -> None:
    """A signature dated 14 minutes ago is still valid."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}},
        date=rfc2822_date(time.time() - 14 * 60),
    )
    expect_json(response, 200)


@rule("§2.5", evidence="doc")
def test_date_older_than_fifteen_minutes_is_refused_403(amojo: Wire, target: Target) -> None:
    """A signature dated 16 minutes ago is stale (window doc; 403 assumed)."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}},
        date=rfc2822_date(time.time() - 16 * 60),
    )
    expect_error(response, 403, "STALE_DATE", fake=target.is_fake)


@rule("§2.5", evidence="assumption")
def test_date_far_in_the_future_is_refused_403(amojo: Wire, target: Target) -> None:
    """A Date an hour ahead is refused (future skew undocumented; ±15 min assumed)."""
    response = amojo.send(
        "POST",
        f"{amojo.channel.scope_id}/chats",
        {"conversation_id": new_id("c"), "user": {"id": "u", "name": "n"}},
        date=rfc2822_date(time.time() + 3600),
    )
    expect_error(response, 403, "FUTURE_DATE", fake=target.is_fake)


@rule("§2.2", evidence="doc")
def test_unparseable_date_is_refused_403(amojo: Wire, target: Target) -> None:
    """A Date that is not RFC 2822 cannot start a 15-minute window: 403."""
    response = amojo.send("POST", f"{amojo.channel.scope_id}/typing", {"conversation_id": "c", "sender": {"id": "u"}}, date="yesterday")
    expect_error(response, 403, "INVALID_DATE", fake=target.is_fake)


@rule("§6", evidence="doc")
def test_missing_date_is_refused_403(amojo: Wire, target: Target) -> None:
    """New-scheme endpoints need Date (headers required by the doc; 403 assumed)."""
    response = amojo.send("POST", f"{amojo.channel.scope_id}/typing", {"conversation_id": "c", "sender": {"id": "u"}}, drop=("Date",))
    expect_error(response, 403, "MISSING_DATE", fake=target.is_fake)


@rule("§6", evidence="doc")
def test_missing_content_md5_is_refused_403(amojo: Wire, target: Target) -> None:
    """New-scheme endpoints need Content-MD5 (headers required by the doc; 403 assumed)."""
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/typing", {"conversation_id": "c", "sender": {"id": "u"}}, drop=("Content-MD5",)
    )
    expect_error(response, 403, "MISSING_CONTENT_MD5", fake=target.is_fake)


@rule("§2", evidence="client")
def test_legacy_body_only_signature_is_accepted_on_connect(fresh: Wire) -> None:
    """amotop signs connect with HMAC(secret, body) and sends no Date/Content-MD5: accepted."""
    body = b'{"account_id":"%s","hook_api_version":"v2"}' % fresh.channel.account_id.encode()
    headers = {"Content-Type": "application/json", "X-Signature": legacy_signature(fresh.channel.secret, body)}
    response = fresh.http.post(f"{PREFIX}/{fresh.channel.id}/connect", content=body, headers=headers)
    expect_json(response, 200, "connect.response.json")


@rule("§2", evidence="client")
def test_legacy_body_only_signature_is_accepted_on_disconnect(fresh: Wire) -> None:
    """amotop signs disconnect the legacy way too: accepted with 200."""
    assert fresh.connect().status_code == 200
    body = b'{"account_id":"%s"}' % fresh.channel.account_id.encode()
    headers = {"Content-Type": "application/json", "X-Signature": legacy_signature(fresh.channel.secret, body)}
    response = fresh.http.request("DELETE", f"{PREFIX}/{fresh.channel.id}/disconnect", content=body, headers=headers)
    assert response.status_code == 200, response.text


@rule("§2", evidence="doc")
def test_legacy_signature_is_refused_on_newer_endpoints(amojo: Wire, target: Target) -> None:
    """Methods added since autumn 2019 need the new scheme: a body-only HMAC on create chat is refused."""
    body = b'{"conversation_id":"c-legacy","user":{"id":"u","name":"n"}}'
    headers = {"Content-Type": "application/json", "X-Signature": legacy_signature(amojo.channel.secret, body)}
    response = amojo.http.post(f"{PREFIX}/{amojo.channel.scope_id}/chats", content=body, headers=headers)
    expect_error(response, 403, "MISSING_DATE", fake=target.is_fake)


@rule("§2.4", evidence="doc")
def test_refusal_never_reveals_the_secret(amojo: Wire, target: Target) -> None:
    """A 403 explains what was signed, and never contains the channel secret."""
    response = amojo.send(
        "POST", f"{amojo.channel.scope_id}/chats", {"conversation_id": "c", "user": {"id": "u", "name": "n"}}, secret="1" * 40
    )
    expect_error(response, 403, fake=target.is_fake)
    assert amojo.channel.secret not in response.text
