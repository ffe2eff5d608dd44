"""One HTTP exchange at the ASGI edge: the request as the handlers read it, its body, its JSON, the reply.

Shared by the amojo pipeline (:mod:`._pipeline`) and the control plane (:mod:`._control`): reading a
body up to a limit (413 as soon as it is known to be too big), parsing it as JSON (400), and sending
a reply with the headers Starlette's ``Response`` would send.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from ..errors import AmojoError, BodyTooLarge, InvalidJson, error_body
from ..wire import _jsonbytes as jsonbytes
from ..wire._stances import StanceWarning, header_value
from ..wire._validation import lone_surrogate_in_json

__all__ = [
    "EMPTY_200",
    "EMPTY_204",
    "SIGNED_HEADERS",
    "Call",
    "Reply",
    "error_reply",
    "error_response",
    "json_reply",
    "json_response",
    "parse_json",
    "read_body",
    "receive_body",
    "reply_headers",
    "send_reply",
    "with_warnings",
]

#: The headers amojo's signature covers: all a journal entry shows of a request's headers.
SIGNED_HEADERS = ("date", "content-type", "content-md5", "x-signature")


def json_response(data: Any, status: int = 200) -> Response:
    """Compact UTF-8 JSON, as amojo answers."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(error: AmojoError, *, bare: bool = False) -> Response:
    reply = error_reply(error_body(error), error.status, bare=bare)
    response = Response(reply.body, status_code=reply.status, media_type="application/json" if reply.data is not None else None)
    for name, value in reply.headers:
        response.headers.append(name.decode("latin-1"), value.decode("latin-1"))
    return response


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it is known to exceed ``limit`` — without reading the rest."""
    body = await receive_body(request.headers.get("content-length"), request.receive, limit)
    return b"" if body is None else body


class Reply(NamedTuple):
    """What an endpoint answers: status, the JSON it sends (None: no body) and that JSON as bytes.

    A named tuple, not a frozen dataclass: as immutable, and made in a third of the time (one per request).
    """

    status: int
    data: Any = None
    body: bytes = b""
    #: Headers besides content-length and content-type (warnings, explanations): empty on nearly every reply.
    headers: tuple[tuple[bytes, bytes], ...] = ()


_BARE_400 = b"{}"
_TEXT_TYPE = (b"content-type", b"text/plain")


def error_reply(body: dict[str, Any], status: int, *, bare: bool = False) -> Reply:
    """An error's answer: ``body`` (:func:`~mock_amojo.errors.error_body`) as JSON, or ``bare``: the sparsest shape amoCRM documents.

    Bare (Kommo's reference examples): 400 answers ``{}``, any other status an empty ``text/plain`` body; the
    explanation travels in ``X-Mock-Amojo-Explain`` (and the journal), so a client cannot come to depend on it.
    """
    if not bare:
        return json_reply(body, status)
    explain = f"{body.get('error_type', '')}: {body.get('error_description', '')} {body.get('hint', '')}".strip()
    header = (b"x-mock-amojo-explain", header_value(explain).encode("ascii"))
    if status == 400:
        return Reply(status, {}, _BARE_400, (header,))
    return Reply(status, None, b"", (_TEXT_TYPE, header))


def with_warnings(reply: Reply, warnings: list[StanceWarning]) -> Reply:
    """``reply`` with one ``X-Mock-Amojo-Warning: <rule>: <message>`` header per warning."""
    return reply._replace(headers=(*reply.headers, *((b"x-mock-amojo-warning", w.header().encode("ascii")) for w in warnings)))


def json_reply(data: Any, status: int = 200) -> Reply:
    # Trimmed: the journal keeps this answer for the next 10,000 requests (mock_amojo.jsonbytes).
    return Reply(status, data, jsonbytes.dumps(data))


EMPTY_200 = Reply(200)
EMPTY_204 = Reply(204)
_JSON_TYPE = (b"content-type", b"application/json")


#: Names every request sends, as shared strings: no new str per header per request (the journal keeps them).
#: A fixed set, so a client inventing header names cannot grow it.
_HEADER_NAMES = {
    name.encode(): name for name in (*SIGNED_HEADERS, "host", "content-length", "user-agent", "accept", "accept-encoding", "connection")
}


class Call:
    """One request as the pipeline needs it, read straight from the ASGI scope.

    Cheaper than a Starlette ``Request``: the hot path touches five headers and the path.
    Header names are lower-case (ASGI guarantees it); the first of repeated headers wins.
    """

    __slots__ = ("headers", "method", "path", "path_params", "query", "raw_path", "scope")

    def __init__(self, scope: ASGIScope) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        raw_path: bytes | None = scope.get("raw_path")
        # amojo signs the path as the client wrote it: use the raw (still percent-encoded) path.
        self.raw_path = raw_path.decode("latin-1").split("?", 1)[0] if raw_path else self.path
        self.query: bytes = scope.get("query_string", b"")
        self.path_params: dict[str, str] = scope.get("path_params", {})
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = _HEADER_NAMES.get(name) or name.decode("latin-1")
            if key not in headers:
                headers[key] = value.decode("latin-1")
        self.headers = headers

    def query_param(self, name: str) -> str | None:
        # Same reading as Starlette's QueryParams: blank values kept, the last repeat wins.
        found = None
        for key, value in parse_qsl(self.query.decode("latin-1"), keep_blank_values=True):
            if key == name:
                found = value
        return found


def _body_too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Body exceeds the limit of {limit} bytes.", hint="Send a smaller body.", detail={"limit": limit})


async def receive_body(declared: str | None, receive: Receive, limit: int) -> bytes | None:
    """The raw body, refusing (413) as soon as it is known to exceed ``limit``; None if the client left."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(
            f"Body of {declared} bytes exceeds the limit of {limit} bytes.",
            hint="amojo bodies are small JSON documents; send media as URLs, not inline.",
            detail={"limit": limit, "content_length": int(declared)},
        )
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        chunk: bytes = message.get("body", b"")  # the usual case: the whole body in one message
        if len(chunk) > limit:
            raise _body_too_large(limit)
        return chunk
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] != "http.request":
            return None  # http.disconnect: nobody is left to answer
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _body_too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
        message = await receive()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def reply_headers(reply: Reply) -> list[tuple[bytes, bytes]]:
    """The headers Starlette's ``Response`` would send (content-length, not on 204; content-type for JSON), then the reply's own."""
    headers: list[tuple[bytes, bytes]] = []
    if reply.status != 204:
        headers.append((b"content-length", str(len(reply.body)).encode()))
    if reply.data is not None:
        headers.append(_JSON_TYPE)
    if reply.headers:
        headers.extend(reply.headers)
    return headers


async def send_reply(reply: Reply, send: Send) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": reply_headers(reply)})
    await send({"type": "http.response.body", "body": reply.body})


def parse_json(body: bytes) -> Any:
    """The body's one JSON document; 400 (``InvalidJson``) saying where it breaks."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        hint = "Send one JSON document, UTF-8 encoded, with Content-Type: application/json."
        detail: dict[str, Any] = {"position": getattr(err, "pos", None)}
        pointer = lone_surrogate_in_json(body) if "surrogate" in str(err) else None
        if pointer is not None:
            detail["pointer"] = pointer
            hint = (
                f"The string at {pointer} holds a lone surrogate (a \\ud800-\\udfff escape without its pair): not a character, "
                "so nothing can store it. Encode text as UTF-8, or escape a character beyond U+FFFF as its full pair."
            )
        if not body:
            hint = "The body is empty; this endpoint needs a JSON object."
        where = f" (the string at {pointer})" if pointer is not None else ""
        raise InvalidJson(f"Body is not valid JSON: {err}{where}", hint=hint, detail=detail) from None
