"""``create_app`` — the one way an app is made, for the CLI server, test servers and in-process use.

>>> from mock_amojo import create_app, Config
>>> app = create_app(Config())
>>> app.state.backend.channel(Config().channel_id).name
'mock-amojo demo channel'
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from .. import __version__
from ..config import Config, ConfigError
from ..crm._operator import Operator
from ..domain import Backend, ChannelChanges
from ..domain._clock import Clock, IdSource
from ..errors import AmojoError, MethodNotAllowed, RouteNotFound
from ..webhooks import WebhookDispatcher, WebhookMode, choose_client
from ..wire._endpoints import OAUTH_PREFIX, REST_PREFIX
from ..wire._signing import redact_secrets
from ..wire._stances import Stances
from ..wire._validation import load_schemas
from ._api import PREFIX, ApiRouter, api_router
from ._console_routes import CONSOLE_PREFIX, LazyConsole
from ._control import CONTROL_PREFIX, control_routes
from ._exchange import error_response, json_response
from ._lazy_routes import LazyRoutes
from ._rest_side import RestSide

if TYPE_CHECKING:
    from ..domain._store import SqliteStore

__all__ = ["MockAmojoApp", "create_app", "open_store", "seed_from_config"]


def seed_from_config(config: Config) -> Callable[[Backend], None]:
    """The start-up channel and account a config describes, re-created on every reset."""

    def seed(backend: Backend) -> None:
        if not config.demo:
            return
        if backend.account(config.account_id) is None:
            # A restart on a --db file keeps the account as it was left (renamed, users added).
            backend.register_account(amojo_id=config.account_id, name="Demo account")
        settings = _channel_settings(config)
        channel = backend.find_channel(config.channel_id)
        if channel is None:
            backend.register_channel(id=config.channel_id, **settings, allowed_accounts=[config.account_id], replace=True)
            return
        # A restart on a --db file keeps the channel as it was left (changed with PATCH /__mock__/channels/{id});
        # a setting given at this start (not its default) changes it.
        defaults = _channel_settings(Config())
        changes: dict[str, Any] = {
            name: value for name, value in settings.items() if value != defaults[name] and value != getattr(channel, name)
        }
        if config.account_id not in channel.allowed_accounts:
            changes["allowed_accounts"] = sorted({*channel.allowed_accounts, config.account_id})
        if changes:
            backend.update_channel(config.channel_id, ChannelChanges(**changes))

    return seed


def _channel_settings(config: Config) -> dict[str, Any]:
    """The start-up channel's settings a config gives, by the channel's names for them."""
    return {
        "secret": config.channel_secret,
        "name": config.channel_name,
        "webhook_url": config.webhook_url,
        "hook_api_version": config.hook_api_version,
        "strict": config.strict_accounts,
    }


def open_store(config: Config) -> SqliteStore:
    """The SQLite store ``config.db`` names; an unusable file is a :class:`ConfigError`."""
    import sqlite3  # with the store: a fake without --db loads neither

    from ..domain._store import SqliteStore

    assert config.db is not None
    try:
        return SqliteStore(config.db, synchronous="full" if config.db_synchronous == "full" else "normal")
    except (sqlite3.Error, ValueError) as err:
        raise ConfigError(f"db: cannot use {config.db!r} as the state file: {err}") from None


#: The order an ``Allow`` header lists methods in (any other method after these, alphabetically).
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(app: Starlette, scope: ASGIScope) -> list[str]:
    """Every method some route of ``app`` serves at the request's path.

    Starlette's own 405 names only the first route whose path matches; a path served by several
    routes (``GET`` and ``PUT /__mock__/faults``) needs all of them.
    """
    methods: set[str] = set()
    for entry in app.routes:
        for route in entry.routes_for(scope) if isinstance(entry, LazyRoutes) else (entry,):
            if isinstance(route, Route) and route.methods and route.matches(scope)[0] is not Match.NONE:
                methods |= route.methods
    return sorted(methods, key=lambda m: (_METHOD_ORDER.index(m) if m in _METHOD_ORDER else len(_METHOD_ORDER), m))


def _method_hint(path: str) -> str:
    if path.startswith(PREFIX + "/"):
        return "amojo-api.md §3 lists each endpoint's method."
    if path.startswith(CONSOLE_PREFIX):
        return f"The console is read with GET: open {CONSOLE_PREFIX} in a browser."
    return f"{CONTROL_PREFIX}/openapi.json lists each operation of the fake."


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error: AmojoError
    allow = ", ".join(_allowed_methods(request.app, request.scope)) if exc.status_code == 405 else ""
    if request.url.path.startswith((REST_PREFIX + "/", OAUTH_PREFIX)):
        return _rest_http_error(request, exc.status_code)
    if exc.status_code == 405:
        error = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}.",
            hint=f"Allowed: {allow}. {_method_hint(request.url.path)}",
        )
    else:
        error = RouteNotFound(
            f"No amojo endpoint at {request.method} {request.url.path}.",
            hint=f"amojo endpoints live under {PREFIX}/ (e.g. {PREFIX}/{{channel_id}}/connect); the fake's own under {CONTROL_PREFIX}/.",
        )
    backend: Backend = request.app.state.backend
    response = error_response(_without_secrets(error, request), bare=backend.stances.error_bodies == "bare")
    if exc.status_code == 405:
        response.headers["Allow"] = allow
    return response


def _rest_http_error(request: Request, status: int) -> Response:
    """404 and 405 under amoCRM's REST API: problem+json, as the rest of it answers."""
    from ._rest import problem_response  # loaded with the REST side, not at start

    if status == 405:
        allow = ", ".join(_allowed_methods(request.app, request.scope))
        response = problem_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.", hint=f"Allowed: {allow}."))
        response.headers["Allow"] = allow
        return response
    return problem_response(
        RouteNotFound(
            f"No amoCRM REST endpoint at {request.method} {request.url.path}.",
            hint=f"{CONTROL_PREFIX}/openapi.json lists the /api/v4 paths the fake serves; ids in paths are whole numbers.",
        )
    )


def _without_secrets(error: AmojoError, request: Request) -> AmojoError:
    """``error`` with any channel secret the request's path carries redacted: 404 and 405 answers repeat the path."""
    backend: Backend = request.app.state.backend
    known = backend.channel_secrets()
    error.description = redact_secrets(error.description, known)
    error.hint = redact_secrets(error.hint, known)
    return error


async def _index(request: Request) -> Response:
    """A browser lands on the operator console; API clients (``Accept: application/json``, ``*/*``) get JSON."""
    if _wants_html(request.headers.get("accept", "")):
        return RedirectResponse(CONSOLE_PREFIX, status_code=303)
    return json_response(
        {
            "service": "mock-amojo",
            "version": __version__,
            "api": PREFIX,
            "control": CONTROL_PREFIX,
            "console": CONSOLE_PREFIX,
            "openapi": CONTROL_PREFIX + "/openapi.json",
            "channels": [c.id for c in request.app.state.backend.channel_list()],
        }
    )


def _wants_html(accept: str) -> bool:
    """True when HTML ranks above JSON in ``accept`` (browsers send ``text/html,…,*/*;q=0.8``)."""
    ranks: dict[str, float] = {}
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        quality = next((p.removeprefix("q=") for p in params if p.startswith("q=")), "1")
        try:
            ranks[kind.lower()] = float(quality)
        except ValueError:
            continue
    return ranks.get("text/html", 0.0) > max(ranks.get("application/json", 0.0), 0.0)


async def _openapi(request: Request) -> Response:
    """This OpenAPI 3.1 document: amojo's API, its webhooks and the control plane."""
    from ._openapi import openapi_document  # built on first request: no start pays for it

    app = request.app
    if getattr(app.state, "openapi", None) is None:
        app.state.openapi = openapi_document(app)
    return json_response(app.state.openapi)


class MockAmojoApp(Starlette):
    """Starlette with amojo's own endpoints dispatched ahead of its middleware and router.

    Those endpoints carry nearly all the traffic and answer every error themselves (JSON, in
    amojo's shape), so Starlette's exception middleware and regex router are pure cost for
    them: the request goes straight to the endpoint. Everything else — the control plane,
    the console, 404 and 405 answers, middleware a user added — takes Starlette's path.
    """

    def __init__(self, api: ApiRouter, **kwargs: Any) -> None:
        super().__init__(routes=[*api.routes(), *kwargs.pop("routes")], **kwargs)
        self.api = api

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path") and not self.user_middleware:
            found = self.api.handler(scope["method"], scope["path"])
            if found is not None:
                handler, scope["path_params"] = found
                scope["app"] = self
                await handler(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def fast_route(self, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
        """The amojo endpoint answering ``method path`` without an ASGI round (:mod:`mock_amojo.httpproto`), if any."""
        if self.user_middleware:
            return None
        return self.api.handler(method, path)


def create_app(
    config: Config | None = None,
    *,
    backend: Backend | None = None,
    clock: Clock | None = None,
    ids: IdSource | None = None,
    webhook_mode: WebhookMode | None = None,
) -> MockAmojoApp:
    """A Starlette app serving amojo's API and the ``/__mock__`` control plane over one backend.

    ``app.state.webhooks`` is the :class:`~mock_amojo.webhooks.WebhookDispatcher` and
    ``app.state.operator`` the :class:`~mock_amojo.operator.Operator` (the CRM manager).
    ``webhook_mode`` overrides ``config.webhook_mode``; a server's lifespan starts and stops
    the dispatcher, in-process users call ``app.state.webhooks.close()`` when done. Hooks are sent
    with httpx unless ``config.webhook_client`` says ``lean`` (see :func:`~mock_amojo.webhooks.choose_client`).
    """
    config = config or Config()
    store: SqliteStore | None = None
    stances = Stances.resolve(config.stances, strict=config.strict, error_bodies=config.error_bodies)
    if backend is None:
        backend = Backend(clock=clock, ids=ids, journal_size=config.journal_size, journal_bytes=config.journal_bytes)
        backend.stances = stances
        if config.db is not None:
            store = open_store(config)
            store.attach(backend)
        backend.add_seeder(seed_from_config(config))
    else:
        backend.stances = stances
    mode: WebhookMode = webhook_mode or ("sync" if config.webhook_mode == "sync" else "async")
    client = choose_client(config.webhook_client, serve=False)
    webhooks = WebhookDispatcher(backend, timeout=config.webhook_timeout, mode=mode, max_deliveries=config.journal_size, client=client)
    operator = Operator(backend, webhooks)
    schemas = load_schemas()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await webhooks.start()
        try:
            yield
        finally:
            await webhooks.stop()
            webhooks.close()

    routes: list[BaseRoute] = [Route("/", _index, methods=["GET"]), Route(CONTROL_PREFIX + "/openapi.json", _openapi, methods=["GET"])]
    routes += control_routes(backend, config, schemas, operator=operator)
    rest = RestSide(backend, config, schemas)  # its routes are built on the first request that could reach one
    routes.append(rest.route)
    console = LazyConsole(backend)  # the console loads on its first page request: no start pays for it
    routes += console.routes()
    # amojo's routes first (MockAmojoApp puts them there): they carry nearly all the traffic.
    app = MockAmojoApp(
        api_router(backend, config, schemas), routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan
    )
    app.router.redirect_slashes = False  # amojo answers 404 for a trailing slash, not a redirect
    app.state.backend = backend
    app.state.config = config
    app.state.schemas = schemas
    app.state.store = store
    app.state.webhooks = webhooks
    app.state.operator = operator
    app.state.console = console
    #: amoCRM's REST side; ``app.state.crm_rest.limiter`` is its rate limiter (7/s per integration).
    app.state.crm_rest = rest
    return app
