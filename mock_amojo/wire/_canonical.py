"""What amojo signs and how it hashes: the canonical string, Content-MD5 and HMAC-SHA1.

The pieces both signing and diagnosing a mismatch are built from; ``_signing`` puts them
together (and re-exports them), ``_signature_diagnosis`` tries the variants clients get wrong.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

__all__ = ["EMPTY_MD5", "canonical_string", "content_md5", "hmac_sha1", "same_hex"]

#: Content-MD5 of an empty body.
EMPTY_MD5 = hashlib.md5(b"").hexdigest()
_SHA1_BLOCK = 64


def content_md5(body: bytes) -> str:
    """Lowercase hex MD5 of the raw body bytes, as amojo's ``Content-MD5`` header.

    >>> content_md5(b"")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    if not body:
        return EMPTY_MD5
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


def same_hex(expected: str, received: str) -> bool:
    """Constant-time, case-insensitive comparison of hex digests; any non-ASCII input simply differs.

    (``hmac.compare_digest`` raises TypeError on non-ASCII ``str``, and a header may hold any byte.)
    """
    return received.isascii() and hmac.compare_digest(expected, received.lower())
