"""Request and webhook signing exactly as amojo does it — pure functions, no I/O.

amojo signs a request with ``X-Signature = hex(HMAC-SHA1(secret, S))`` where ``S`` is
``METHOD\\nContent-MD5\\nContent-Type\\nDate\\npath`` (header values verbatim, path
without scheme, host or query). Webhooks are signed over the raw body alone.

>>> from mock_amojo.wire._signing import sign_request, verify_request
>>> headers = sign_request("s3cret", "POST", "/v2/origin/custom/abc/connect", b"{}",
...                        date="Wed, 15 Dec 2021 23:12:55 +0000")
>>> headers["Content-MD5"]
'99914b932bd37a50b983c5e7c90ae93b'
>>> verify_request("s3cret", "POST", "/v2/origin/custom/abc/connect", b"{}", headers,
...                now=1639610000).ok
True
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from ._endpoints import PREFIX

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_FUTURE_SKEW",
    "REDACTED",
    "SignatureCheck",
    "Verdict",
    "canonical_string",
    "content_md5",
    "diagnose_signature",
    "format_date",
    "hmac_sha1",
    "parse_date",
    "redact_secrets",
    "sign_request",
    "sign_webhook",
    "verify_request",
    "verify_webhook",
]

#: amojo documents that a signature is valid for 15 minutes from its Date.
DEFAULT_MAX_AGE = 15 * 60
#: Future-dated requests are undocumented; tolerate the same skew (assumption).
DEFAULT_MAX_FUTURE_SKEW = 15 * 60

_EMPTY_MD5 = hashlib.md5(b"").hexdigest()
_SHA1_BLOCK = 64
_CACHED_DATE_CHARS = 64


def content_md5(body: bytes) -> str:
    """Lowercase hex MD5 of the raw body bytes, as amojo's ``Content-MD5`` header.

    >>> content_md5(b"")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    if not body:
        return _EMPTY_MD5
    return hashlib.md5(body).hexdigest()


def hmac_sha1(secret: str, message: bytes | str) -> str:
    """Lowercase hex HMAC-SHA1 of ``message`` keyed with ``secret``."""
    inner, outer = _hmac_pads(secret)
    digest = inner.copy()
    digest.update(message.encode() if isinstance(message, str) else message)
    result = outer.copy()
    result.update(digest.digest())
    return result.hexdigest()


@functools.lru_cache(maxsize=256)
def _hmac_pads(secret: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-1 states after the padded key (RFC 2104), once per secret: each HMAC then copies two states."""
    key = secret.encode()
    if len(key) > _SHA1_BLOCK:
        key = hashlib.sha1(key).digest()
    key = key.ljust(_SHA1_BLOCK, b"\0")
    return hashlib.sha1(key.translate(hmac.trans_36)), hashlib.sha1(key.translate(hmac.trans_5C))


def canonical_string(method: str, md5: str, content_type: str, date: str, path: str) -> str:
    """The string amojo signs: five parts joined by ``\\n``, no trailing newline.

    The path loses any query string: amojo signs the path alone.

    >>> canonical_string("get", "d41d8cd98f00b204e9800998ecf8427e", "application/json",
    ...                  "Thu, 16 Dec 2021 13:00:00 +0000", "/v2/origin/custom/x?offset=0")
    'GET\\nd41d8cd98f00b204e9800998ecf8427e\\napplication/json\\nThu, 16 Dec 2021 13:00:00 +0000\\n/v2/origin/custom/x'
    """
    return "\n".join((method.upper(), md5, content_type, date, path.split("?", 1)[0]))


def format_date(timestamp: float) -> str:
    """RFC 2822 date with a numeric ``+0000`` offset, the spelling amojo's docs use.

    >>> format_date(1639609975)
    'Wed, 15 Dec 2021 23:12:55 +0000'
    """
    return email.utils.formatdate(timestamp, localtime=False, usegmt=False).replace("-0000", "+0000")


def parse_date(value: str) -> datetime | None:
    """Parse an RFC 2822 date (``+0000``, ``GMT`` or any numeric offset); None if invalid.

    The weekday is not checked: amojo's own documented example has a wrong one.

    >>> parse_date("Wed, 15 Dec 2021 23:12:55 GMT") == parse_date("Wed, 15 Dec 2021 23:12:55 +0000")
    True
    >>> parse_date("yesterday") is None
    True
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # "-0000" means "UTC, origin unknown" in RFC 2822; treat it as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _date_timestamp(value: str) -> float | None:
    # Clients send the same Date on every request of a second: parse each string once. Only
    # date-sized strings are cached, so junk headers cannot make the cache big.
    if len(value) <= _CACHED_DATE_CHARS:
        return _cached_date_timestamp(value)
    parsed = parse_date(value)
    return None if parsed is None else parsed.timestamp()


@functools.lru_cache(maxsize=4096)
def _cached_date_timestamp(value: str) -> float | None:
    parsed = parse_date(value)
    return None if parsed is None else parsed.timestamp()


def sign_request(
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    date: str | None = None,
    now: float | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers a client must send for this request: Date, Content-Type, Content-MD5, X-Signature.

    ``date`` is used verbatim when given (it is part of what is signed); otherwise it is
    formatted from ``now`` (unix seconds; defaults to the current time).
    """
    if date is None:
        date = format_date(now if now is not None else datetime.now(UTC).timestamp())
    md5 = content_md5(body)
    signature = hmac_sha1(secret, canonical_string(method, md5, content_type, date, path))
    return {
        "Date": date,
        "Content-Type": content_type,
        "Content-MD5": md5,
        "X-Signature": signature,
    }


def _same_hex(expected: str, received: str) -> bool:
    """Constant-time, case-insensitive comparison of hex digests; any non-ASCII input simply differs.

    (``hmac.compare_digest`` raises TypeError on non-ASCII ``str``, and a header may hold any byte.)
    """
    return received.isascii() and hmac.compare_digest(expected, received.lower())


def sign_webhook(secret: str, body: bytes) -> str:
    """``X-Signature`` of a webhook amojo sends: HMAC-SHA1 of the raw body only."""
    return hmac_sha1(secret, body)


def verify_webhook(secret: str, body: bytes, signature: str) -> bool:
    """Check a webhook's ``X-Signature`` in constant time (hex case ignored)."""
    return _same_hex(sign_webhook(secret, body), signature.strip())


class SignatureCheck(StrEnum):
    """Which check a request failed, in the order amojo applies them."""

    OK = "OK"
    MISSING_SIGNATURE = "MISSING_SIGNATURE"
    MISSING_DATE = "MISSING_DATE"
    MISSING_CONTENT_MD5 = "MISSING_CONTENT_MD5"
    INVALID_DATE = "INVALID_DATE"
    STALE_DATE = "STALE_DATE"
    FUTURE_DATE = "FUTURE_DATE"
    CONTENT_MD5_MISMATCH = "CONTENT_MD5_MISMATCH"
    SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"


class Verdict(NamedTuple):
    """Outcome of :func:`verify_request`; safe to show a client (never holds the secret).

    ``canonical`` is the string the fake signed from the headers it received;
    ``hint`` explains the most likely client mistake when one could be recognised.
    (A named tuple rather than a frozen dataclass: as immutable, and made in a third of the
    time — every request makes one.)
    """

    check: SignatureCheck
    scheme: str = "v2"
    canonical: str | None = None
    received_signature: str | None = None
    body_md5: str | None = None
    received_md5: str | None = None
    date_age_seconds: float | None = None
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.check is SignatureCheck.OK

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (for error bodies and the journal)."""
        out: dict[str, object] = {"check": self.check.value, "scheme": self.scheme}
        for name in ("canonical", "received_signature", "body_md5", "received_md5", "date_age_seconds"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.hint:
            out["hint"] = self.hint
        return out


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Lower-case first: the API passes ASGI headers, whose names are always lower-case.
    value = headers.get(name.lower())
    if value is None:
        value = headers.get(name)
    if value is None:
        # HTTP header names are case-insensitive; a plain dict may hold any spelling (e.g. "X-SIGNATURE").
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value


def verify_request(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    max_age: float = DEFAULT_MAX_AGE,
    max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW,
    allow_legacy: bool = False,
) -> Verdict:
    """Verify a signed request as amojo does and say precisely what failed.

    ``headers`` may be any case-insensitive mapping (Starlette's ``Headers``) or a plain
    dict with canonical or lower-case names. ``allow_legacy`` accepts the older body-only
    scheme (``X-Signature = HMAC-SHA1(secret, body)`` with no Date and no Content-MD5),
    which amojo still honours on connect and disconnect.
    """
    received_sig = _header(headers, "X-Signature")
    date = _header(headers, "Date")
    md5_header = _header(headers, "Content-MD5")
    content_type = _header(headers, "Content-Type") or ""
    body_md5 = content_md5(body)

    if not received_sig:
        return Verdict(
            SignatureCheck.MISSING_SIGNATURE,
            body_md5=body_md5,
            hint="Send X-Signature: lowercase hex HMAC-SHA1 of the canonical string, keyed with the channel secret.",
        )
    received_sig = received_sig.strip()
    if allow_legacy and date is None and md5_header is None:
        expected = hmac_sha1(secret, body)
        if _same_hex(expected, received_sig):
            return Verdict(SignatureCheck.OK, scheme="legacy", body_md5=body_md5)
        return Verdict(
            SignatureCheck.SIGNATURE_MISMATCH,
            scheme="legacy",
            received_signature=received_sig,
            body_md5=body_md5,
            hint=(
                "No Date and no Content-MD5 were sent, so the legacy scheme applies: X-Signature must be "
                "HMAC-SHA1 of the raw body alone. Better: send Date and Content-MD5 and sign the canonical string."
            ),
        )
    if not date:
        return Verdict(
            SignatureCheck.MISSING_DATE,
            received_signature=received_sig,
            body_md5=body_md5,
            hint="Send a Date header in RFC 2822 form, e.g. 'Wed, 15 Dec 2021 23:12:55 +0000'; it is part of the signed string.",
        )
    if md5_header is None or not md5_header.strip():
        return Verdict(
            SignatureCheck.MISSING_CONTENT_MD5,
            received_signature=received_sig,
            body_md5=body_md5,
            hint=f"Send Content-MD5: lowercase hex MD5 of the exact body bytes (for this body: {body_md5}).",
        )
    timestamp = _date_timestamp(date)
    if timestamp is None:
        return Verdict(
            SignatureCheck.INVALID_DATE,
            received_signature=received_sig,
            body_md5=body_md5,
            hint=f"Date {date!r} is not an RFC 2822 date; use e.g. 'Wed, 15 Dec 2021 23:12:55 +0000'.",
        )
    age = now - timestamp
    if age > max_age:
        return Verdict(
            SignatureCheck.STALE_DATE,
            received_signature=received_sig,
            body_md5=body_md5,
            date_age_seconds=round(age, 3),
            hint=f"Date is {age:.0f} s old; a signature is valid for {max_age:.0f} s. Sign each request with the current time.",
        )
    if -age > max_future_skew:
        return Verdict(
            SignatureCheck.FUTURE_DATE,
            received_signature=received_sig,
            body_md5=body_md5,
            date_age_seconds=round(age, 3),
            hint=f"Date is {-age:.0f} s in the future (at most {max_future_skew:.0f} s allowed). Check the client's clock and time zone.",
        )
    canonical = canonical_string(method, md5_header, content_type, date, path)
    if md5_header.strip().lower() != body_md5:
        return Verdict(
            SignatureCheck.CONTENT_MD5_MISMATCH,
            canonical=canonical,
            received_signature=received_sig,
            body_md5=body_md5,
            received_md5=md5_header,
            date_age_seconds=round(age, 3),
            hint=_md5_hint(md5_header, body),
        )
    expected = hmac_sha1(secret, canonical)
    if _same_hex(expected, received_sig):
        return Verdict(SignatureCheck.OK, canonical=canonical, body_md5=body_md5, date_age_seconds=round(age, 3))
    return Verdict(
        SignatureCheck.SIGNATURE_MISMATCH,
        canonical=canonical,
        received_signature=received_sig,
        body_md5=body_md5,
        received_md5=md5_header,
        date_age_seconds=round(age, 3),
        hint=diagnose_signature(secret, method, path, body, md5_header, content_type, date, received_sig),
    )


def _md5_hint(md5_header: str, body: bytes) -> str:
    stripped = md5_header.strip().lower()
    if stripped == content_md5(body.rstrip(b"\r\n")):
        return "Content-MD5 matches the body without its trailing newline: hash exactly the bytes you send."
    if stripped == _EMPTY_MD5 and body:
        return "Content-MD5 is the MD5 of an empty body, but a body was sent: hash exactly the bytes you send."
    if stripped == hashlib.md5(body.decode("utf-8", "replace").encode()).hexdigest() and len(stripped) == 32:
        return "Content-MD5 was computed over a differently encoded body: hash the UTF-8 bytes you send."
    return (
        "Content-MD5 must be the lowercase hex MD5 of the exact body bytes sent (after serialisation, "
        "before compression); re-serialising the JSON after hashing changes the bytes."
    )


def diagnose_signature(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    md5: str,
    content_type: str,
    date: str,
    received: str,
) -> str:
    """Recognise the usual signing mistakes by trying the variants clients get wrong.

    Only runs after a mismatch, so its cost never touches accepted requests. The answer
    names the mistake, never the secret.
    """
    received = received.strip().lower()
    if received == secret.lower():
        return "X-Signature is the channel secret itself: never send the secret; send HMAC-SHA1(secret, canonical string) as lowercase hex."
    bare_path = path.split("?", 1)[0]
    variants: list[tuple[str, str]] = [
        ("the path including the query string", "\n".join((method.upper(), md5, content_type, date, path))),
        ("a trailing newline after the path", canonical_string(method, md5, content_type, date, path) + "\n"),
        (
            f"the path without the {PREFIX} prefix",
            canonical_string(method, md5, content_type, date, bare_path.removeprefix(PREFIX)),
        ),
        ("the path without its leading slash", canonical_string(method, md5, content_type, date, bare_path.lstrip("/"))),
        ("the body only (legacy scheme) although Date and Content-MD5 were sent", body.decode("utf-8", "replace")),
        ("a different Content-Type than the one sent (application/json)", canonical_string(method, md5, "application/json", date, path)),
        ("an upper-case Content-MD5", canonical_string(method, md5.upper(), content_type, date, path)),
        ("a lower-case Content-MD5", canonical_string(method, md5.lower(), content_type, date, path)),
        ("an empty Content-Type", canonical_string(method, md5, "", date, path)),
    ]
    for other in ("GET", "POST", "DELETE", "PUT", "PATCH"):
        if other != method.upper():
            variants.append((f"the method {other} instead of {method.upper()}", canonical_string(other, md5, content_type, date, path)))
    for alt_date, label in ((date.replace("+0000", "GMT"), "GMT"), (date.replace("GMT", "+0000"), "+0000")):
        if alt_date != date:
            variants.append(
                (
                    f"the Date spelled with {label}; sign the Date string exactly as sent",
                    canonical_string(method, md5, content_type, alt_date, path),
                )
            )
    for label, message in variants:
        if _same_hex(hmac_sha1(secret, message), received):
            return f"Your signature was computed over {label}. Sign exactly the canonical string shown here."
    return (
        "X-Signature does not match HMAC-SHA1(channel secret, canonical string). Check that you sign the "
        "canonical string shown here (METHOD, Content-MD5, Content-Type, Date, path — joined by \\n, header values "
        "exactly as sent, path without host and query) with this channel's secret, and send lowercase hex."
    )


#: What every echo of a request (answers, the journal, the console) shows in place of a channel secret.
REDACTED = "<redacted: the channel secret; never send it, sign with it>"


def redact_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every spelling of each secret replaced by :data:`REDACTED`: any letter case, any character %-escaped.

    >>> redact_secrets("GET /x/AB%431?k=ab%63%31", ("abc1",)).count("<redacted")
    2
    """
    for secret in secrets:
        if secret:
            text = _spellings(secret).sub(REDACTED, text)
    return text


@functools.lru_cache(maxsize=16)
def _spellings(secret: str) -> re.Pattern[str]:
    # A path or query may carry any character of the secret %-escaped (a raw path, the canonical string),
    # in either letter case: "C" is %43 where "c" is %63.
    def spelled(char: str) -> str:
        escapes = {"".join(f"%{byte:02x}" for byte in form.encode()) for form in (char.lower(), char.upper())}
        return "(?:" + "|".join([re.escape(char), *sorted(escapes)]) + ")"

    return re.compile("".join(spelled(char) for char in secret), re.IGNORECASE)
