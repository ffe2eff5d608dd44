"""Signing: the published vectors reproduce, and verification catches any single change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_amojo.wire._signing import (
    SignatureCheck,
    canonical_string,
    content_md5,
    diagnose_signature,
    format_date,
    hmac_sha1,
    parse_date,
    sign_request,
    sign_webhook,
    verify_request,
    verify_webhook,
)

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "signing-vectors.json").read_text())
SECRET = "f2d7f8704eff95087ed45b23ba99c0b5aac8278e"
OTHER_SECRET = "0" * 40


def _headers(vector: dict[str, str]) -> dict[str, str]:
    return {
        "Date": vector["date"],
        "Content-Type": vector["content_type"],
        "Content-MD5": vector["content_md5"],
        "X-Signature": vector["signature"],
    }


def _at(date: str) -> float:
    parsed = parse_date(date)
    assert parsed is not None
    return parsed.timestamp()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_published_vector_reproduces(vector: dict[str, str]) -> None:
    body = vector["body"].encode()
    headers = sign_request(vector["secret"], vector["method"], vector["path"], body, date=vector["date"])
    assert headers["Content-MD5"] == vector["content_md5"]
    assert headers["X-Signature"] == vector["signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_published_vector_verifies_at_its_date(vector: dict[str, str]) -> None:
    verdict = verify_request(
        vector["secret"], vector["method"], vector["path"], vector["body"].encode(), _headers(vector), now=_at(vector["date"]) + 60
    )
    assert verdict.ok, verdict


def test_self_computed_vectors_from_the_reference() -> None:
    scope = "344a5002-f8ca-454d-af3d-396180102ac7_52e591f7-c98f-4255-8495-827210138c81"
    history = sign_request(
        SECRET,
        "GET",
        f"/v2/origin/custom/{scope}/chats/8b1a1828-fc4a-4874-9469-15e0d847570f/history",
        b"",
        date="Thu, 16 Dec 2021 13:00:00 +0000",
    )
    assert history["Content-MD5"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert history["X-Signature"] == "f652ef4b3ead897fc1f9e6b400bd0db157e783bf"
    connect = VECTORS[0]
    gmt = sign_request(SECRET, "POST", connect["path"], connect["body"].encode(), date="Wed, 15 Dec 2021 23:12:55 GMT")
    assert gmt["X-Signature"] == "c111d61e425b271b414508a0f2c7ae713b8ffce0"
    assert hmac_sha1(SECRET, connect["body"].encode()) == "3fa5856b066091e4112361eb781a044085cebba5"
    webhook = b'{"account_id":"52e591f7-c98f-4255-8495-827210138c81","time":1639572261}'
    assert sign_webhook(SECRET, webhook) == "fc4031478f90d30eacc4490d8ef1f9830a97b684"


def test_md5_of_get_body_sent_by_amojowrapper() -> None:
    assert content_md5(b"[]") == "d751713988987e9331980363e24189ce"


def test_canonical_string_drops_query_and_uppercases_method() -> None:
    assert canonical_string("get", "m", "t", "d", "/p?offset=1&limit=2") == "GET\nm\nt\nd\n/p"


@pytest.mark.parametrize(
    "spelling",
    [
        "Wed, 15 Dec 2021 23:12:55 +0000",
        "Wed, 15 Dec 2021 23:12:55 GMT",
        "Thu, 16 Dec 2021 02:12:55 +0300",
        "Mon, 15 Dec 2021 23:12:55 +0000",
    ],
)
def test_date_spellings_parse_to_the_same_instant(spelling: str) -> None:
    # The last one has a wrong weekday, like amojo's own documented example: accepted.
    assert _at(spelling) == 1639609975


@pytest.mark.parametrize("junk", ["", "yesterday", "Wed, 99 Dec 2021 23:12:55 +0000", "1639609975"])
def test_invalid_dates_are_none(junk: str) -> None:
    assert parse_date(junk) is None


def test_format_date_round_trips() -> None:
    assert format_date(1639609975) == "Wed, 15 Dec 2021 23:12:55 +0000"
    assert _at(format_date(1639609975)) == 1639609975


# -- verification failures -----------------------------------------------------------

CONNECT = VECTORS[0]
NOW = _at(CONNECT["date"]) + 30


def _verify(headers: dict[str, str], *, body: bytes | None = None, method: str = "POST", path: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return verify_request(
        SECRET,
        method,
        path or CONNECT["path"],
        CONNECT["body"].encode() if body is None else body,
        headers,
        now=kw.pop("now", NOW),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("missing", "check"),
    [
        ("X-Signature", SignatureCheck.MISSING_SIGNATURE),
        ("Date", SignatureCheck.MISSING_DATE),
        ("Content-MD5", SignatureCheck.MISSING_CONTENT_MD5),
    ],
)
def test_missing_header_is_named(missing: str, check: SignatureCheck) -> None:
    headers = _headers(CONNECT)
    del headers[missing]
    assert _verify(headers).check is check


def test_stale_and_future_dates() -> None:
    headers = _headers(CONNECT)
    stale = _verify(headers, now=_at(CONNECT["date"]) + 901)
    assert stale.check is SignatureCheck.STALE_DATE
    assert "valid for 900 s" in stale.hint
    assert _verify(headers, now=_at(CONNECT["date"]) + 899).ok
    assert _verify(headers, now=_at(CONNECT["date"]) - 901).check is SignatureCheck.FUTURE_DATE
    assert _verify(headers, now=_at(CONNECT["date"]) + 3600, max_age=7200).ok


def test_md5_mismatch_is_reported_before_signature() -> None:
    verdict = _verify(_headers(CONNECT), body=CONNECT["body"].encode() + b"\n")
    assert verdict.check is SignatureCheck.CONTENT_MD5_MISMATCH
    assert "trailing newline" in verdict.hint
    assert verdict.received_md5 == CONNECT["content_md5"]


def test_uppercase_hex_is_accepted() -> None:
    headers = _headers(CONNECT)
    headers["X-Signature"] = headers["X-Signature"].upper()
    assert _verify(headers).ok


def test_lowercase_header_names_are_accepted() -> None:
    headers = {k.lower(): v for k, v in _headers(CONNECT).items()}
    assert _verify(headers).ok


def test_signature_mismatch_shows_canonical_string_never_the_secret() -> None:
    headers = _headers(CONNECT)
    headers["X-Signature"] = "0" * 40
    verdict = _verify(headers)
    assert verdict.check is SignatureCheck.SIGNATURE_MISMATCH
    assert verdict.canonical == "\n".join(["POST", CONNECT["content_md5"], "application/json", CONNECT["date"], CONNECT["path"]])
    assert SECRET not in json.dumps(verdict.as_dict())


@pytest.mark.parametrize(
    ("mistake", "signed_over"),
    [
        ("query string", lambda s: "\n".join(["GET", s["md5"], "application/json", s["date"], s["path"] + "?limit=5"])),
        ("method POST instead of GET", lambda s: "\n".join(["POST", s["md5"], "application/json", s["date"], s["path"]])),
        ("GMT", lambda s: "\n".join(["GET", s["md5"], "application/json", s["date"].replace("+0000", "GMT"), s["path"]])),
        ("trailing newline", lambda s: "\n".join(["GET", s["md5"], "application/json", s["date"], s["path"]]) + "\n"),
    ],
)
def test_diagnosis_names_the_usual_mistakes(mistake: str, signed_over) -> None:  # type: ignore[no-untyped-def]
    parts = {"md5": content_md5(b""), "date": "Thu, 16 Dec 2021 13:00:00 +0000", "path": "/v2/origin/custom/s/chats/c/history"}
    wrong = hmac_sha1(SECRET, signed_over(parts))
    hint = diagnose_signature(SECRET, "GET", parts["path"] + "?limit=5", b"", parts["md5"], "application/json", parts["date"], wrong)
    assert mistake in hint


def test_legacy_body_only_scheme() -> None:
    body = CONNECT["body"].encode()
    legacy = {"X-Signature": hmac_sha1(SECRET, body), "Content-Type": "application/json"}
    assert _verify(legacy, allow_legacy=True).scheme == "legacy"
    assert _verify(legacy, allow_legacy=True).ok
    assert _verify(legacy, allow_legacy=False).check is SignatureCheck.MISSING_DATE
    legacy["X-Signature"] = hmac_sha1(OTHER_SECRET, body)
    assert _verify(legacy, allow_legacy=True).check is SignatureCheck.SIGNATURE_MISMATCH


def test_webhook_signature_verifies_with_the_secret_only() -> None:
    body = b'{"account_id":"a","time":1}'
    assert verify_webhook(SECRET, body, sign_webhook(SECRET, body))
    assert verify_webhook(SECRET, body, sign_webhook(SECRET, body).upper())
    assert not verify_webhook(OTHER_SECRET, body, sign_webhook(SECRET, body))
    assert not verify_webhook(SECRET, body + b" ", sign_webhook(SECRET, body))


# -- properties ------------------------------------------------------------------------

secrets_ = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
paths = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"), min_size=1, max_size=60).map(
    lambda p: "/v2/origin/custom/" + p
)
bodies = st.binary(max_size=300)
methods = st.sampled_from(["GET", "POST", "DELETE"])
timestamps = st.integers(min_value=0, max_value=4_000_000_000)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"])


@given(secret=secrets_, method=methods, path=paths, body=bodies, ts=timestamps, ctype=content_types)
def test_sign_then_verify_round_trips(secret: str, method: str, path: str, body: bytes, ts: int, ctype: str) -> None:
    headers = sign_request(secret, method, path, body, now=ts, content_type=ctype)
    assert verify_request(secret, method, path, body, headers, now=ts).ok


@given(
    secret=secrets_,
    method=methods,
    path=paths,
    body=bodies,
    ts=timestamps,
    change=st.sampled_from(["body", "path", "method", "date", "content_type", "secret"]),
)
def test_any_single_change_fails_verification(secret: str, method: str, path: str, body: bytes, ts: int, change: str) -> None:
    headers = sign_request(secret, method, path, body, now=ts)
    verify_secret = secret
    if change == "body":
        body += b"x"
    elif change == "path":
        path += "x"
    elif change == "method":
        method = "PUT"
    elif change == "date":
        headers["Date"] = format_date(ts + 1)
    elif change == "content_type":
        headers["Content-Type"] = "application/json; charset=utf-8"
    else:
        verify_secret = ("1" if secret[0] != "1" else "2") + secret[1:]
    assert not verify_request(verify_secret, method, path, body, headers, now=ts).ok


@given(secret=secrets_, body=bodies)
def test_webhook_round_trip(secret: str, body: bytes) -> None:
    assert verify_webhook(secret, body, sign_webhook(secret, body))
