"""amojo's HTTP API under ``/v2/origin/custom``: every request checked exactly as amojo does.

Each request goes through the same pipeline, in amojo's order: body size → channel →
signature (Date, Content-MD5, X-Signature) → Content-Type → JSON → schema → state. The
first failure becomes an error response (see :mod:`mock_amojo.errors`); every request,
accepted or not, lands in the journal with its verdict.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from ..config import Config
from ..domain import Backend, Channel
from ..domain._journal import JournalEntry
from ..errors import (
    AmojoError,
    BodyTooLarge,
    InternalError,
    InvalidJson,
    InvalidQuery,
    SignatureRejected,
    UnsupportedMediaType,
    error_body,
)
from ..wire import _jsonbytes as jsonbytes
from ..wire import _views as views
from ..wire._endpoints import ENDPOINTS, LEGACY_SIGNED, PREFIX, EndpointSpec, Router
from ..wire._limits import MAX_INTEGER
from ..wire._signing import Verdict, redact_secrets, verify_request
from ..wire._validation import SchemaSet

__all__ = ["PREFIX", "ApiRouter", "Endpoint", "api_endpoints", "api_router", "api_routes", "error_response", "json_response", "read_body"]

_MAX_JOURNAL_BODY = 16 * 1024
_SIGNED_HEADERS = ("date", "content-type", "content-md5", "x-signature")
HISTORY_MAX_LIMIT = 50


def json_response(data: Any, status: int = 200) -> Response:
    """Compact UTF-8 JSON, as amojo answers."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(error: AmojoError) -> Response:
    return json_response(error_body(error), error.status)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it is known to exceed ``limit`` — without reading the rest."""
    body = await _receive_body(request.headers.get("content-length"), request.receive, limit)
    return b"" if body is None else body


class _Reply(NamedTuple):
    """What an endpoint answers: status, the JSON it sends (None: no body) and that JSON as bytes.

    A named tuple, not a frozen dataclass: as immutable, and made in a third of the time (one per request).
    """

    status: int
    data: Any = None
    body: bytes = b""


def _json_reply(data: Any, status: int = 200) -> _Reply:
    # Trimmed: the journal keeps this answer for the next 10,000 requests (mock_amojo.jsonbytes).
    return _Reply(status, data, jsonbytes.dumps(data))


_EMPTY_200 = _Reply(200)
_EMPTY_204 = _Reply(204)
_JSON_TYPE = (b"content-type", b"application/json")


#: Names every request sends, as shared strings: no new str per header per request (the journal keeps them).
#: A fixed set, so a client inventing header names cannot grow it.
_HEADER_NAMES = {
    name.encode(): name for name in (*_SIGNED_HEADERS, "host", "content-length", "user-agent", "accept", "accept-encoding", "connection")
}


class _Call:
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


async def _receive_body(declared: str | None, receive: Receive, limit: int) -> bytes | None:
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


async def _send(reply: _Reply, send: Send) -> None:
    # The headers Starlette's Response would send: content-length (not on 204) and content-type for JSON.
    headers: list[tuple[bytes, bytes]] = []
    if reply.status != 204:
        headers.append((b"content-length", str(len(reply.body)).encode()))
    if reply.data is not None:
        headers.append(_JSON_TYPE)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        hint = "Send one JSON document, UTF-8 encoded, with Content-Type: application/json."
        if not body:
            hint = "The body is empty; this endpoint needs a JSON object."
        raise InvalidJson(f"Body is not valid JSON: {err}", hint=hint, detail={"position": getattr(err, "pos", None)}) from None


@dataclass(frozen=True, slots=True)
class Endpoint(EndpointSpec):
    """An entry of amojo's endpoint table (:mod:`mock_amojo.endpoints`) bound to the handler that answers it."""

    action: Callable[[_Call, Any], _Reply] = field(kw_only=True)

    @classmethod
    def bind(cls, spec: EndpointSpec, action: Callable[[_Call, Any], _Reply]) -> Endpoint:
        return cls(spec.name, spec.method, spec.path, spec.schema, spec.by_channel, spec.answers, action=action)


class _Handler:
    """One endpoint: its ASGI app (Starlette routes a non-function endpoint to it as-is) and its inline route.

    The inline route (:meth:`answer`) is what :mod:`mock_amojo.httpproto` calls once the parser has the
    whole body: the same pipeline without the ASGI round.
    """

    def __init__(self, api: _Api, endpoint: Endpoint) -> None:
        self.api = api
        self.endpoint = endpoint

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        reply = await self.api.handle(self.endpoint, scope, receive)
        if reply is not None:
            await _send(reply, send)

    @property
    def body_limit(self) -> int:
        return self.api.config.body_limit

    def answer(self, scope: ASGIScope, body: bytes) -> _Reply:
        """The answer to a request whose whole body is already read and within :attr:`body_limit` (no ASGI round)."""
        return self.api.answer(self.endpoint, scope, body, time.perf_counter())


class _Api:
    """Holds what every handler needs (no per-request lookups of app state)."""

    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas

    # -- the pipeline -----------------------------------------------------------------

    async def handle(self, endpoint: Endpoint, scope: ASGIScope, receive: Receive) -> _Reply | None:
        """Read the body (413 as soon as it is known to be too big), then :meth:`answer`; None if the client left."""
        started = time.perf_counter()
        call: _Call | None = None
        try:
            call = _Call(scope)
            body = await _receive_body(call.headers.get("content-length"), receive, self.config.body_limit)
        except Exception as exc:
            return self._failed(exc, endpoint, scope, call, b"", None, started, None)
        if body is None:
            return None
        return self.answer(endpoint, scope, body, started, call)

    def answer(self, endpoint: Endpoint, scope: ASGIScope, body: bytes, started: float, call: _Call | None = None) -> _Reply:
        """Check a request whose whole body is read (and within the limit), apply it, journal it: amojo's answer."""
        verdict: Verdict | None = None
        secrets: tuple[str, ...] | None = None  # None until the channel is known
        try:
            if call is None:
                call = _Call(scope)
            params = call.path_params
            channel = (
                self.backend.channel(params["channel_id"]) if endpoint.by_channel else self.backend.channel_for_scope(params["scope_id"])
            )
            secrets = (channel.secret,) if _mentions_secret(channel.secret, call, body) else ()
            verdict = self._verify(call, endpoint, channel, body)
            if endpoint.method == "GET":
                data: Any = None  # amojo ignores a GET body; only its MD5 counts
            else:
                _check_content_type(call)
                data = _parse_json(body)
                if endpoint.schema is not None:
                    self.schemas.validate(endpoint.schema, data, raw=body)
            reply = endpoint.action(call, data)
        except Exception as exc:
            return self._failed(exc, endpoint, scope, call, body, verdict, started, secrets)
        self._journal(scope, call, endpoint, body, reply, verdict, started, None, secrets)
        return reply

    def _failed(
        self,
        exc: Exception,
        endpoint: Endpoint,
        scope: ASGIScope,
        call: _Call | None,
        body: bytes,
        verdict: Verdict | None,
        started: float,
        secrets: tuple[str, ...] | None,
    ) -> _Reply:
        """The answer to a refused request (amojo's error) or to a bug in the fake (500 JSON; the server keeps serving)."""
        if secrets is None:
            secrets = self._secrets_sent(call, body)
        if isinstance(exc, AmojoError):
            error: AmojoError = exc
        else:
            error = InternalError(
                redact_secrets(f"mock-amojo failed on this request: {type(exc).__name__}: {exc}", secrets),
                hint="This is a bug in mock-amojo, not in your request; the journal has the details.",
                detail={"traceback": redact_secrets("".join(traceback.format_exception(exc, limit=8)), secrets)},
            )
            self.backend.server_errors.append(error)
        reply = _json_reply(error_body(error), error.status)
        if secrets:
            reply = _json_reply(_scrubbed(reply.data, secrets), error.status)
        self._journal(scope, call, endpoint, body, reply, verdict, started, error, secrets)
        return reply

    def _secrets_sent(self, call: _Call | None, body: bytes) -> tuple[str, ...]:
        """The secrets of any channel a request whose channel is unknown carries (a secret sent as the channel or scope id)."""
        if call is None:
            return ()
        known = self.backend.channel_secrets()
        return tuple(secret for secret in known if _mentions_secret(secret, call, body))

    def _verify(self, call: _Call, endpoint: Endpoint, channel: Channel, body: bytes) -> Verdict:
        verdict = verify_request(
            channel.secret,
            call.method,
            call.raw_path,
            body,
            call.headers,
            now=self.backend.clock.now(),
            max_age=self.config.max_age,
            max_future_skew=self.config.max_future_skew,
            allow_legacy=self.config.allow_legacy_signature and endpoint.name in LEGACY_SIGNED,
        )
        if not verdict.ok:
            raise SignatureRejected(verdict)
        return verdict

    def _journal(
        self,
        scope: ASGIScope,
        call: _Call | None,
        endpoint: Endpoint,
        body: bytes,
        reply: _Reply,
        verdict: Verdict | None,
        started: float,
        error: AmojoError | None,
        secrets: tuple[str, ...],
    ) -> None:
        entry = _ApiEntry(
            self.backend.clock.now(),
            endpoint.name,
            scope,
            call.headers if call is not None else {},
            body,
            reply,
            verdict,
            time.perf_counter() - started,
            error,
        )
        # A client that sent the secret itself gets it redacted from what the journal keeps.
        self.backend.journal.record(_scrubbed(entry.build(), secrets) if secrets else entry)

    # -- the endpoints ----------------------------------------------------------------

    def connect(self, call: _Call, data: Any) -> _Reply:
        """Connect an account to the channel; answers the scope_id every other call uses (re-connecting is idempotent)."""
        scope = self.backend.connect(call.path_params["channel_id"], data)
        return _json_reply(views.connect_response(scope))

    def disconnect(self, call: _Call, data: Any) -> _Reply:
        """Disconnect an account: webhooks stop; 200 with no body."""
        self.backend.disconnect(call.path_params["channel_id"], data)
        return _EMPTY_200

    def create_chat(self, call: _Call, data: Any) -> _Reply:
        """Create a chat without a message, idempotent on conversation_id; answers amojo's chat and user ids."""
        chat = self.backend.create_chat(call.path_params["scope_id"], data)
        return _json_reply(views.chat_response(chat))

    def send_message(self, call: _Call, data: Any) -> _Reply:
        """Send a client message, import an outgoing one (sender.ref_id + receiver), or edit one (edit_message)."""
        message = self.backend.send_message(call.path_params["scope_id"], data)
        return _json_reply(views.message_response(message, self.backend.chat_of(message)))

    def delivery_status(self, call: _Call, data: Any) -> _Reply:
        """Report that a manager's message was delivered (1), read (2) or failed (-1 with error_code/error)."""
        self.backend.delivery_status(call.path_params["scope_id"], call.path_params["msgid"], data)
        return _EMPTY_200

    def history(self, call: _Call, data: Any) -> _Reply:
        """A chat's messages, newest first (offset, limit ≤ 50); 204 when there are none."""
        offset = _query_int(call, "offset", 0, minimum=0)
        limit = min(_query_int(call, "limit", HISTORY_MAX_LIMIT, minimum=1), HISTORY_MAX_LIMIT)
        messages = self.backend.history(call.path_params["scope_id"], call.path_params["chat_id"], offset, limit)
        if not messages:
            return _EMPTY_204
        return _json_reply(views.history_response(messages))

    def typing(self, call: _Call, data: Any) -> _Reply:
        """The client is typing; 204."""
        self.backend.typing(call.path_params["scope_id"], data)
        return _EMPTY_204

    def react(self, call: _Call, data: Any) -> _Reply:
        """The client reacts to a message (react) or takes the reaction back (unreact)."""
        self.backend.react(call.path_params["scope_id"], data)
        return _EMPTY_200

    def endpoints(self) -> list[Endpoint]:
        actions: dict[str, Callable[[_Call, Any], _Reply]] = {
            "send_message": self.send_message,
            "connect": self.connect,
            "disconnect": self.disconnect,
            "create_chat": self.create_chat,
            "history": self.history,
            "typing": self.typing,
            "react": self.react,
            "delivery_status": self.delivery_status,
        }
        return [Endpoint.bind(spec, actions[spec.name]) for spec in ENDPOINTS]


def _mentions_secret(secret: str, call: _Call, body: bytes) -> bool:
    """Did the client send the secret itself (a classic mistake: the key as X-Signature, or in the URL)?"""
    needle = secret.lower()
    # Header values joined by a byte no header value holds: a match cannot span two of them.
    if needle.encode() in body.lower() or needle in "\n".join(call.headers.values()).lower() or needle in call.path.lower():
        return True
    # The path is %-decoded already (ASGI); the query is not.
    return bool(call.query) and needle in unquote(call.query.decode("latin-1")).lower()


def _scrubbed(data: Any, secrets: tuple[str, ...]) -> Any:
    """``data`` with every spelling of each secret replaced: answers and the journal echo what was sent, never the key."""
    return orjson.loads(redact_secrets(orjson.dumps(data).decode(), secrets))


class _ApiEntry:
    """One API request as the journal keeps it: what was received and answered, built into a dict when read."""

    __slots__ = (
        "at",
        "body",
        "body_size",
        "duration",
        "endpoint",
        "error_code",
        "error_description",
        "error_hint",
        "method",
        "path",
        "path_params",
        "query",
        "refusal_detail",
        "reply_body",
        "reply_is_json",
        "seq",
        "signed_headers",
        "status",
        "verdict",
    )

    def __init__(
        self,
        at: float,
        endpoint: str,
        scope: ASGIScope,
        headers: dict[str, str],
        body: bytes,
        reply: _Reply,
        verdict: Verdict | None,
        duration: float,
        error: AmojoError | None,
    ) -> None:
        self.seq = 0
        self.at = at
        self.endpoint = endpoint
        self.method: str = scope.get("method", "")
        self.path: str = scope.get("path", "")
        self.query: bytes = scope.get("query_string", b"")
        self.path_params: dict[str, str] = scope.get("path_params", {})
        # Only the signed headers' values: they are all the entry shows, and the rest need not stay alive.
        self.signed_headers = tuple(headers.get(name) for name in _SIGNED_HEADERS)
        # What the entry shows of the body, as its own exact-size bytes: the caller's object may be a
        # bigger buffer (orjson's output, in process: 4 KiB for a 400-byte body) or a 1 MiB body.
        self.body = bytes(memoryview(body)[:_MAX_JOURNAL_BODY])
        self.body_size = len(body)
        # Only what the answer was, not the objects that made it: the bytes re-parse to the same JSON.
        self.status = reply.status
        self.reply_body = reply.body
        self.reply_is_json = reply.data is not None
        self.verdict = verdict
        self.duration = duration
        # The error's words, not the exception (whose traceback would keep every frame alive).
        self.error_code = error.code if error is not None else None
        self.error_description = error.description if error is not None else None
        self.error_hint = error.hint if error is not None else None
        self.refusal_detail = error.detail if isinstance(error, SignatureRejected) else None

    def build(self) -> JournalEntry:
        body = self.body
        entry: JournalEntry = {
            "at": self.at,
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "path_params": dict(self.path_params),
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 3),
            "request": {
                "headers": {name: value for name, value in zip(_SIGNED_HEADERS, self.signed_headers, strict=True) if value is not None},
                "body": body.decode("utf-8", "replace"),
                "body_truncated": self.body_size > _MAX_JOURNAL_BODY,
                "body_size": self.body_size,
            },
            "verdict": self.verdict.as_dict() if self.verdict is not None else self.refusal_detail,
            "response": self._response(),
        }
        if self.error_code is not None:
            entry["error_type"] = self.error_code
            entry["error_description"] = self.error_description
            entry["hint"] = self.error_hint
        return entry

    def _response(self) -> Any:
        """The answer's JSON, or a truncated text for big ones (history pages)."""
        if not self.reply_is_json:
            return None
        if len(self.reply_body) <= _MAX_JOURNAL_BODY:
            return orjson.loads(self.reply_body)
        return {"truncated": True, "size": len(self.reply_body), "text": self.reply_body[:_MAX_JOURNAL_BODY].decode("utf-8", "replace")}


def _check_content_type(call: _Call) -> None:
    content_type = call.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported." if content_type else "Content-Type is missing.",
            hint="amojo accepts JSON only: send Content-Type: application/json (and sign that exact value).",
            detail={"received": content_type},
        )


def _query_int(call: _Call, name: str, default: int, *, minimum: int) -> int:
    raw = call.query_param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQuery(
            f"Query parameter {name}={raw!r} is not an integer.",
            hint=f"Send {name} as a whole number.",
            detail={"parameter": name, "value": raw},
        ) from None
    if value < minimum:
        raise InvalidQuery(
            f"Query parameter {name}={value} is below {minimum}.",
            hint=f"Send {name} ≥ {minimum}.",
            detail={"parameter": name, "value": value},
        )
    if value > MAX_INTEGER:
        raise InvalidQuery(
            f"Query parameter {name}={value} is above {MAX_INTEGER}.",
            hint=f"Send {name} ≤ {MAX_INTEGER} (2^53 - 1, the largest integer JSON carries exactly).",
            detail={"parameter": name, "value": raw},
        )
    return value


def api_endpoints(backend: Backend, config: Config, schemas: SchemaSet) -> list[Endpoint]:
    """amojo's endpoints bound to one backend (paths relative to :data:`PREFIX`)."""
    return _Api(backend, config, schemas).endpoints()


def api_routes(backend: Backend, config: Config, schemas: SchemaSet) -> list[Route]:
    """The amojo API as Starlette routes bound to one backend."""
    return api_router(backend, config, schemas).routes()


def api_router(backend: Backend, config: Config, schemas: SchemaSet) -> ApiRouter:
    """amojo's endpoints bound to one backend, as a router that finds one in a few string operations."""
    api = _Api(backend, config, schemas)
    return ApiRouter([(e, _Handler(api, e)) for e in api.endpoints()])


class ApiRouter(Router[Endpoint, _Handler]):
    """amojo's endpoint table (:class:`~mock_amojo.endpoints.Router`) bound to one backend's handlers."""

    def routes(self) -> list[Route]:
        """The same table as Starlette routes (what the app's router and the OpenAPI document see)."""
        return [Route(PREFIX + e.path, handler, methods=[e.method], name=e.name) for e, handler in self.entries]
