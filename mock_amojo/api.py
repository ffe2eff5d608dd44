"""amojo's HTTP API under ``/v2/origin/custom``: every request checked exactly as amojo does.

Each request goes through the same pipeline, in amojo's order: body size → channel →
signature (Date, Content-MD5, X-Signature) → Content-Type → JSON → schema → state. The
first failure becomes an error response (see :mod:`mock_amojo.errors`); every request,
accepted or not, lands in the journal with its verdict.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import views
from .config import Config
from .errors import (
    AmojoError,
    BodyTooLarge,
    InternalError,
    InvalidJson,
    InvalidQuery,
    SignatureRejected,
    UnsupportedMediaType,
    error_body,
)
from .models import Backend, Channel
from .signing import Verdict, verify_request
from .validation import SchemaSet

__all__ = ["PREFIX", "Endpoint", "api_endpoints", "api_routes", "error_response", "json_response", "read_body"]

PREFIX = "/v2/origin/custom"
_MAX_JOURNAL_BODY = 16 * 1024
_SIGNED_HEADERS = ("date", "content-type", "content-md5", "x-signature")
_LEGACY_ENDPOINTS = frozenset({"connect", "disconnect"})
HISTORY_MAX_LIMIT = 50


def json_response(data: Any, status: int = 200) -> Response:
    """Compact UTF-8 JSON, as amojo answers."""
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(error: AmojoError) -> Response:
    return json_response(error_body(error), error.status)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it is known to exceed ``limit`` — without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(
            f"Body of {declared} bytes exceeds the limit of {limit} bytes.",
            hint="amojo bodies are small JSON documents; send media as URLs, not inline.",
            detail={"limit": limit, "content_length": int(declared)},
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"Body exceeds the limit of {limit} bytes.", hint="Send a smaller body.", detail={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        hint = "Send one JSON document, UTF-8 encoded, with Content-Type: application/json."
        if not body:
            hint = "The body is empty; this endpoint needs a JSON object."
        raise InvalidJson(f"Body is not valid JSON: {err}", hint=hint, detail={"position": getattr(err, "pos", None)}) from None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One amojo endpoint: route, request schema, handler, and its success answers (for the OpenAPI document)."""

    name: str
    method: str
    path: str
    schema: str | None
    action: Callable[[Request, Any], Response]
    by_channel: bool = False
    #: (status, response schema or None for an empty body) of each success answer.
    answers: tuple[tuple[int, str | None], ...] = ((200, None),)


class _Api:
    """Holds what every handler needs (no per-request lookups of app state)."""

    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas

    # -- the pipeline -----------------------------------------------------------------

    def handler(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            verdict: Verdict | None = None
            body = b""
            try:
                body = await read_body(request, self.config.body_limit)
                params = request.path_params
                channel = (
                    self.backend.channel(params["channel_id"])
                    if endpoint.by_channel
                    else self.backend.channel_for_scope(params["scope_id"])
                )
                verdict = self._verify(request, endpoint, channel, body)
                if endpoint.method == "GET":
                    data: Any = None  # amojo ignores a GET body; only its MD5 counts
                else:
                    _check_content_type(request)
                    data = _parse_json(body)
                    if endpoint.schema is not None:
                        self.schemas.validate(endpoint.schema, data)
                response = endpoint.action(request, data)
            except AmojoError as error:
                response = error_response(error)
                self._journal(request, endpoint, body, response, verdict, started, error)
                return response
            except Exception as exc:  # a bug in the fake: answer JSON, keep serving, tell the test
                internal = InternalError(
                    f"mock-amojo failed on this request: {type(exc).__name__}: {exc}",
                    hint="This is a bug in mock-amojo, not in your request; the journal has the details.",
                    detail={"traceback": traceback.format_exc(limit=8)},
                )
                self.backend.server_errors.append(internal)
                response = error_response(internal)
                self._journal(request, endpoint, body, response, verdict, started, internal)
                return response
            self._journal(request, endpoint, body, response, verdict, started, None)
            return response

        return handle

    def _verify(self, request: Request, endpoint: Endpoint, channel: Channel, body: bytes) -> Verdict:
        # amojo signs the path as the client wrote it: use the raw (still percent-encoded) path.
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1").split("?", 1)[0] if raw_path else request.url.path
        verdict = verify_request(
            channel.secret,
            request.method,
            path,
            body,
            request.headers,
            now=self.backend.clock.now(),
            max_age=self.config.max_age,
            max_future_skew=self.config.max_future_skew,
            allow_legacy=self.config.allow_legacy_signature and endpoint.name in _LEGACY_ENDPOINTS,
        )
        if not verdict.ok:
            raise SignatureRejected(verdict)
        return verdict

    def _journal(
        self,
        request: Request,
        endpoint: Endpoint,
        body: bytes,
        response: Response,
        verdict: Verdict | None,
        started: float,
        error: AmojoError | None,
    ) -> None:
        text = body[:_MAX_JOURNAL_BODY].decode("utf-8", "replace")
        entry: dict[str, Any] = {
            "at": self.backend.clock.now(),
            "endpoint": endpoint.name,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "path_params": dict(request.path_params),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request": {
                "headers": {name: request.headers[name] for name in _SIGNED_HEADERS if name in request.headers},
                "body": text,
                "body_truncated": len(body) > _MAX_JOURNAL_BODY,
                "body_size": len(body),
            },
            "verdict": verdict.as_dict() if verdict is not None else (error.detail if isinstance(error, SignatureRejected) else None),
            "response": orjson.loads(response.body) if response.body else None,
        }
        if error is not None:
            entry["error_type"] = error.code
            entry["error_description"] = error.description
            entry["hint"] = error.hint
        self.backend.journal.record(entry)

    # -- the endpoints ----------------------------------------------------------------

    def connect(self, request: Request, data: Any) -> Response:
        """Connect an account to the channel; answers the scope_id every other call uses (re-connecting is idempotent)."""
        scope = self.backend.connect(request.path_params["channel_id"], data)
        return json_response(views.connect_response(scope))

    def disconnect(self, request: Request, data: Any) -> Response:
        """Disconnect an account: webhooks stop; 200 with no body."""
        self.backend.disconnect(request.path_params["channel_id"], data)
        return Response(status_code=200)

    def create_chat(self, request: Request, data: Any) -> Response:
        """Create a chat without a message, idempotent on conversation_id; answers amojo's chat and user ids."""
        chat = self.backend.create_chat(request.path_params["scope_id"], data)
        return json_response(views.chat_response(chat))

    def send_message(self, request: Request, data: Any) -> Response:
        """Send a client message, import an outgoing one (sender.ref_id + receiver), or edit one (edit_message)."""
        scope_id = request.path_params["scope_id"]
        message = self.backend.send_message(scope_id, data)
        return json_response(views.message_response(message, self.backend.chats[message.chat_id]))

    def delivery_status(self, request: Request, data: Any) -> Response:
        """Report that a manager's message was delivered (1), read (2) or failed (-1 with error_code/error)."""
        self.backend.delivery_status(request.path_params["scope_id"], request.path_params["msgid"], data)
        return Response(status_code=200)

    def history(self, request: Request, data: Any) -> Response:
        """A chat's messages, newest first (offset, limit ≤ 50); 204 when there are none."""
        offset = _query_int(request, "offset", 0, minimum=0)
        limit = min(_query_int(request, "limit", HISTORY_MAX_LIMIT, minimum=1), HISTORY_MAX_LIMIT)
        messages = self.backend.history(request.path_params["scope_id"], request.path_params["chat_id"], offset, limit)
        if not messages:
            return Response(status_code=204)
        return json_response(views.history_response(messages))

    def typing(self, request: Request, data: Any) -> Response:
        """The client is typing; 204."""
        self.backend.typing(request.path_params["scope_id"], data)
        return Response(status_code=204)

    def react(self, request: Request, data: Any) -> Response:
        """The client reacts to a message (react) or takes the reaction back (unreact)."""
        self.backend.react(request.path_params["scope_id"], data)
        return Response(status_code=200)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "connect",
                "POST",
                "/{channel_id}/connect",
                "connect.request.json",
                self.connect,
                by_channel=True,
                answers=((200, "connect.response.json"),),
            ),
            Endpoint("disconnect", "DELETE", "/{channel_id}/disconnect", "disconnect.request.json", self.disconnect, by_channel=True),
            Endpoint(
                "create_chat",
                "POST",
                "/{scope_id}/chats",
                "create_chat.request.json",
                self.create_chat,
                answers=((200, "create_chat.response.json"),),
            ),
            Endpoint(
                "history",
                "GET",
                "/{scope_id}/chats/{chat_id}/history",
                None,
                self.history,
                answers=((200, "history.response.json"), (204, None)),
            ),
            Endpoint("typing", "POST", "/{scope_id}/typing", "typing.request.json", self.typing, answers=((204, None),)),
            Endpoint("react", "POST", "/{scope_id}/react", "react.request.json", self.react),
            Endpoint(
                "delivery_status", "POST", "/{scope_id}/{msgid}/delivery_status", "delivery_status.request.json", self.delivery_status
            ),
            Endpoint(
                "send_message", "POST", "/{scope_id}", "message.request.json", self.send_message, answers=((200, "message.response.json"),)
            ),
        ]


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported." if content_type else "Content-Type is missing.",
            hint="amojo accepts JSON only: send Content-Type: application/json (and sign that exact value).",
            detail={"received": content_type},
        )


def _query_int(request: Request, name: str, default: int, *, minimum: int) -> int:
    raw = request.query_params.get(name)
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
    return value


def api_endpoints(backend: Backend, config: Config, schemas: SchemaSet) -> list[Endpoint]:
    """amojo's endpoints bound to one backend (paths relative to :data:`PREFIX`)."""
    return _Api(backend, config, schemas).endpoints()


def api_routes(backend: Backend, config: Config, schemas: SchemaSet) -> list[Route]:
    """The amojo API as Starlette routes bound to one backend."""
    api = _Api(backend, config, schemas)
    return [Route(PREFIX + e.path, api.handler(e), methods=[e.method], name=e.name) for e in api.endpoints()]
