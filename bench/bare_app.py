"""The ceiling: a bare Starlette JSON echo app, served by the same uvicorn settings as mock-amojo.

It does the least a JSON endpoint can do — read the body, parse it, answer it — so the
served benchmark's ratio says what mock-amojo's checks and state cost on top.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    data = await request.json() if request.method != "GET" else {}
    return JSONResponse({"echo": data})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/__mock__/health", health, methods=["GET"]),
        Route("/{path:path}", echo, methods=["GET", "POST", "DELETE"]),
    ]
)
