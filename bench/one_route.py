"""The cold-start ceiling: a one-route Starlette app, as small as an ASGI app that answers 200 gets."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/__mock__/health", health, methods=["GET"])])
