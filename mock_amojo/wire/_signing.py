"""Request and webhook signing exactly as amojo does it, and the verdict on a signed request — pure, no I/O.

amojo signs a request with ``X-Signature = hex(HMAC-SHA1(secret, S))`` where ``S`` is
``METHOD\\nContent-MD5\\nContent-Type\\nDate\\npath`` (header values verbatim, path
without scheme, host or query). Webhooks are signed over the raw body alone.
The canonical string and the digests live in ``_canonical``, why a signature did not match in
``_signature_diagnosis``, secret redaction in ``_redaction``; this module re-exports them.

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
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from ._canonical import canonical_string, content_md5, hmac_sha1, same_hex
from ._redaction import REDACTED, redact_secrets
from ._signature_diagnosis import diagnose_signature, md5_hint

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

_CACHED_DATE_CHARS = 64


def format_date(timestamp: float) -> str:
    """RFC 2822 date with a numeric ``+0000`` offset, the spelling amojo's docs use.

    >>> format_date(1639609975)
    'Wed, 15 Dec 2021 23:12:55 +0000'
    """
    return _formatted_date(timestamp)


@functools.lru_cache(maxsize=64)
def _formatted_date(timestamp: float) -> str:
    # A signing client asks for the same second on every request of that second.
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
        # Whole seconds: the Date header has no finer ones, and the same second formats once.
        date = format_date(now if now is not None else int(time.time()))
    md5 = content_md5(body)
    signature = hmac_sha1(secret, canonical_string(method, md5, content_type, date, path))
    return {
        "Date": date,
        "Content-Type": content_type,
        "Content-MD5": md5,
        "X-Signature": signature,
    }


def sign_webhook(secret: str, body: bytes) -> str:
    """``X-Signature`` of a webhook amojo sends: HMAC-SHA1 of the raw body only."""
    return hmac_sha1(secret, body)


def verify_webhook(secret: str, body: bytes, signature: str) -> bool:
    """Check a webhook's ``X-Signature`` in constant time (hex case ignored)."""
    return same_hex(sign_webhook(secret, body), signature.strip())


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
        if same_hex(expected, received_sig):
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
            hint=md5_hint(md5_header, body),
        )
    expected = hmac_sha1(secret, canonical)
    if same_hex(expected, received_sig):
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
