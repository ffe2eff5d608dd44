"""Call an ASGI app directly with pre-signed requests: the fake's pipeline cost without sockets or HTTP clients."""

from __future__ import annotations

from typing import Any

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
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status
