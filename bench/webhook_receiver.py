"""A bare webhook receiver for the benchmarks: answers 200 to every POST and counts them (GET /count)."""

from __future__ import annotations

from typing import Any

import orjson

_count = 0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _count
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        _count += 1
        body = b"ok"
    else:
        body = orjson.dumps({"count": _count})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
