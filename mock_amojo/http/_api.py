"""amojo's HTTP API under ``/v2/origin/custom``: the endpoint table bound to one backend, as a router.

:func:`api_router` binds every entry of :data:`~mock_amojo.wire._endpoints.ENDPOINTS` to its handler
(:mod:`._handlers`) behind the amojo pipeline (:mod:`._pipeline`). Each bound endpoint is an ASGI app
and, for :mod:`mock_amojo.serve._httpproto`, an inline route answering a request whose body is read.
"""

from __future__ import annotations

import time

from starlette.routing import Route
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from ..config import Config
from ..domain import Backend
from ..wire._endpoints import PREFIX, Router
from ..wire._validation import SchemaSet
from ._exchange import Reply, send_reply
from ._handlers import Endpoint, Handlers
from ._pipeline import Pipeline

__all__ = ["PREFIX", "ApiRouter", "Endpoint", "api_endpoints", "api_router", "api_routes"]


class _Handler:
    """One endpoint: its ASGI app (Starlette routes a non-function endpoint to it as-is) and its inline route.

    The inline route (:meth:`answer`) is what :mod:`mock_amojo.serve._httpproto` calls once the parser has
    the whole body: the same pipeline without the ASGI round.
    """

    def __init__(self, api: Pipeline, endpoint: Endpoint) -> None:
        self.api = api
        self.endpoint = endpoint

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        reply = await self.api.handle(self.endpoint, scope, receive)
        if reply is not None:
            await send_reply(reply, send)

    @property
    def body_limit(self) -> int:
        return self.api.config.body_limit

    def answer(self, scope: ASGIScope, body: bytes) -> Reply:
        """The answer to a request whose whole body is already read and within :attr:`body_limit` (no ASGI round)."""
        return self.api.answer(self.endpoint, scope, body, time.perf_counter())


def api_endpoints(backend: Backend) -> list[Endpoint]:
    """amojo's endpoints bound to one backend's handlers (paths relative to :data:`PREFIX`)."""
    return Handlers(backend).endpoints()


def api_routes(backend: Backend, config: Config, schemas: SchemaSet) -> list[Route]:
    """The amojo API as Starlette routes bound to one backend."""
    return api_router(backend, config, schemas).routes()


def api_router(backend: Backend, config: Config, schemas: SchemaSet) -> ApiRouter:
    """amojo's endpoints bound to one backend, as a router that finds one in a few string operations."""
    api = Pipeline(backend, config, schemas)
    return ApiRouter([(e, _Handler(api, e)) for e in api_endpoints(backend)])


class ApiRouter(Router[Endpoint, _Handler]):
    """amojo's endpoint table (:class:`~mock_amojo.wire._endpoints.Router`) bound to one backend's handlers."""

    def routes(self) -> list[Route]:
        """The same table as Starlette routes (what the app's router and the OpenAPI document see)."""
        return [Route(PREFIX + e.path, handler, methods=[e.method], name=e.name) for e, handler in self.entries]
