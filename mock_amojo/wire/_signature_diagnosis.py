"""Why a signature did not match: the usual client mistakes, recognised by trying their variants.

Runs only after a mismatch (never on an accepted request); a hint names the mistake, never the secret.
"""

from __future__ import annotations

import hashlib

from ._canonical import EMPTY_MD5, canonical_string, content_md5, hmac_sha1, same_hex
from ._endpoints import PREFIX

__all__ = ["diagnose_signature", "md5_hint"]


def md5_hint(md5_header: str, body: bytes) -> str:
    """Why ``md5_header`` is not the MD5 of ``body``, as far as the usual mistakes explain it."""
    stripped = md5_header.strip().lower()
    if stripped == content_md5(body.rstrip(b"\r\n")):
        return "Content-MD5 matches the body without its trailing newline: hash exactly the bytes you send."
    if stripped == EMPTY_MD5 and body:
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
        if same_hex(hmac_sha1(secret, message), received):
            return f"Your signature was computed over {label}. Sign exactly the canonical string shown here."
    return (
        "X-Signature does not match HMAC-SHA1(channel secret, canonical string). Check that you sign the "
        "canonical string shown here (METHOD, Content-MD5, Content-Type, Date, path — joined by \\n, header values "
        "exactly as sent, path without host and query) with this channel's secret, and send lowercase hex."
    )
