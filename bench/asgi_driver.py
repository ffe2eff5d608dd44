"""Call an ASGI app directly with pre-signed requests: the fake's pipeline cost without sockets or HTTP clients."""

from __future__ import annotations

from typing import Any

from mock_amojo.testing._transports import call_asgi

from .loadgen import Pool


def request_scope(pool: Pool, index: int) -> tuple[dict[str, Any], bytes]:
    md5, sig, body = pool.items[index]
    path, _, query = pool.path.partition("?")
    headers = [
        (b"host", b"amojo"),
        (b"date", pool.date.encode()),
        (b"content-type", b"application/json"),
        (b"content-md5", md5.encode()),
        (b"x-signature", sig.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": pool.method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "server": ("amojo", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    return scope, body


async def call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    """Run one request through ``app``; returns the status."""
    status, _, _ = await call_asgi(app, scope, body)
    return status
