"""Properties of amojo signing beyond round-trips: injectivity, header case, Date spellings, webhooks.

Seeded (``derandomize``) and bounded; ``MOCK_AMOJO_TEST_EXAMPLES`` raises the budget for a
nightly run (see docs/development.md, "Property-based and stateful tests").
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import os
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from mock_amojo import Config, create_app
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.wire._signing import (
    canonical_string,
    content_md5,
    format_date,
    hmac_sha1,
    parse_date,
    sign_request,
    sign_webhook,
    verify_request,
    verify_webhook,
)

EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 150
budget = settings(max_examples=EXAMPLES, derandomize=True, deadline=None)

# Header values never hold a line break (HTTP forbids it), so a field is any other text.
header_text = st.text(st.characters(exclude_characters="\r\n", exclude_categories=["Cs"]), max_size=40)
methods = st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"])
paths = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#"), max_size=50).map(lambda p: "/" + p)
fields = st.tuples(methods, header_text, header_text, header_text, paths)
secrets_ = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
instants = st.integers(min_value=0, max_value=4_102_444_800)  # 1970 … 2100
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60)


def _with_offset(timestamp: int, minutes: int) -> str:
    base = email.utils.formatdate(timestamp + minutes * 60, localtime=False, usegmt=False)[:-6]
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{base} {sign}{hours:02d}{rest:02d}"


@budget
@given(fields, fields)
def test_canonical_string_is_injective_over_its_fields(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    """Two requests share a canonical string only if all five signed parts are equal."""
    assert (canonical_string(*a) == canonical_string(*b)) == (a == b)


@budget
@given(fields, st.integers(min_value=0, max_value=4))
def test_changing_one_field_changes_the_canonical_string(a: tuple[str, ...], index: int) -> None:
    """The near-miss pairs random pairs rarely hit: one field differs, the strings differ."""
    b = list(a)
    b[index] += "X"
    assert canonical_string(*a) != canonical_string(*b)


@budget
@given(fields)
def test_canonical_string_splits_back_into_its_fields(a: tuple[str, ...]) -> None:
    """No field can leak into another: splitting on \\n recovers the five parts (injectivity's witness)."""
    assert tuple(canonical_string(*a).split("\n")) == a


@budget
@given(secrets_, methods, paths, st.binary(max_size=200), instants, st.data())
def test_header_names_are_case_insensitive(secret: str, method: str, path: str, body: bytes, now: int, data: st.DataObject) -> None:
    """Any spelling of the four header names verifies: plain dict, Starlette and httpx headers alike."""
    signed = sign_request(secret, method, path, body, now=now)
    recased = {}
    for name, value in signed.items():
        flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
        recased["".join(c.upper() if f else c.lower() for c, f in zip(name, flips, strict=True))] = value
    for headers in (recased, Headers(headers=recased), httpx.Headers(recased)):
        assert verify_request(secret, method, path, body, headers, now=now).ok


@budget
@given(instants)
def test_date_round_trips_in_both_spellings(timestamp: int) -> None:
    """format_date (+0000) and the HTTP-date (GMT) spelling parse back to the same instant."""
    numeric, gmt = format_date(timestamp), email.utils.formatdate(timestamp, usegmt=True)
    assert numeric.endswith(" +0000") and gmt.endswith(" GMT")
    parsed_numeric, parsed_gmt = parse_date(numeric), parse_date(gmt)
    assert parsed_numeric is not None and parsed_gmt is not None
    assert parsed_numeric.timestamp() == parsed_gmt.timestamp() == timestamp


@budget
@given(instants, offsets)
def test_any_numeric_offset_denotes_the_same_instant(timestamp: int, minutes: int) -> None:
    """'…15:00 +0300' and '…12:00 +0000' are one instant: freshness is judged on the instant."""
    parsed = parse_date(_with_offset(timestamp, minutes))
    assert parsed is not None
    assert parsed.timestamp() == timestamp


@budget
@given(secrets_, methods, paths, st.binary(max_size=200), instants)
def test_both_spellings_verify_when_signed_verbatim_and_differ_in_signature(
    secret: str, method: str, path: str, body: bytes, timestamp: int
) -> None:
    """Either spelling verifies when signed as sent; swapping one for the other after signing fails."""
    numeric = sign_request(secret, method, path, body, date=format_date(timestamp))
    gmt = sign_request(secret, method, path, body, date=email.utils.formatdate(timestamp, usegmt=True))
    assert verify_request(secret, method, path, body, numeric, now=timestamp).ok
    assert verify_request(secret, method, path, body, gmt, now=timestamp).ok
    assert numeric["X-Signature"] != gmt["X-Signature"]
    swapped = {**numeric, "Date": gmt["Date"]}
    assert not verify_request(secret, method, path, body, swapped, now=timestamp).ok


@budget
@given(secrets_, st.binary(max_size=2000))
def test_webhook_signature_verifies_any_body(secret: str, body: bytes) -> None:
    """Arbitrary bytes (not only JSON): the hex HMAC verifies, in either hex case and with surrounding blanks."""
    signature = sign_webhook(secret, body)
    assert verify_webhook(secret, body, signature)
    assert verify_webhook(secret, body, signature.upper())
    assert verify_webhook(secret, body, f" {signature}\n")


@budget
@given(secrets_, st.binary(min_size=1, max_size=500), st.data())
def test_webhook_signature_rejects_any_altered_body(secret: str, body: bytes, data: st.DataObject) -> None:
    """Flipping any bit, dropping any byte or appending one breaks the signature."""
    signature = sign_webhook(secret, body)
    at = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    flipped = body[:at] + bytes([body[at] ^ (1 << bit)]) + body[at + 1 :]
    for altered in (flipped, body[:at] + body[at + 1 :], body + b"\n"):
        assert not verify_webhook(secret, altered, signature)


@budget
@given(secrets_, secrets_, st.binary(max_size=300))
def test_webhook_signature_rejects_another_secret(secret: str, other: str, body: bytes) -> None:
    if secret != other:
        assert not verify_webhook(other, body, sign_webhook(secret, body))


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(transport=SyncASGITransport(create_app(Config())), base_url="http://amojo") as client:
        yield client


@budget
@given(st.data())
def test_header_case_does_not_matter_over_http(http: httpx.Client, data: st.DataObject) -> None:
    """Through the app: randomly cased header names on a signed connect still connect."""
    config = Config()
    path = f"/v2/origin/custom/{config.channel_id}/connect"
    body = b'{"account_id":"%s"}' % config.account_id.encode()
    signed = sign_request(config.channel_secret, "POST", path, body)
    headers = {data.draw(st.sampled_from([n, n.lower(), n.upper(), n.swapcase()])): v for n, v in signed.items()}
    response = http.post(path, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert content_md5(body) == signed["Content-MD5"]


@given(secret=st.text(max_size=150), message=st.binary(max_size=400))
@example(secret="k" * 64, message=b"exactly one block")
@example(secret="k" * 65, message=b"a key longer than a block is hashed first")
@example(secret="ключ" * 10, message=b"")
def test_hmac_sha1_is_rfc_2104_for_any_key(secret: str, message: bytes) -> None:
    # hmac_sha1 reuses per-secret pad states; keys longer than SHA-1's 64-byte block are hashed first.
    assert hmac_sha1(secret, message) == hmac.new(secret.encode(), message, hashlib.sha1).hexdigest()
    assert (
        hmac_sha1(secret, message.decode("latin-1"))
        == hmac.new(secret.encode(), message.decode("latin-1").encode(), hashlib.sha1).hexdigest()
    )
