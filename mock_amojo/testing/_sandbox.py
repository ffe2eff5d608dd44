"""A clean fake amojo per test: its own channel, account, clock and state on a shared app.

:class:`SandboxHost` owns one app and backend for a whole test session (in process, and
served over HTTP when asked); :meth:`SandboxHost.open` gives each test a :class:`Sandbox`:
the backend is reset, a fresh channel (id, secret) and account are registered, a virtual
clock is installed, and httpx (and requests, aiohttp) calls to amojo's hosts are routed to the app. That is all a
test pays for (its cost is a row of the benchmarks).

Its settings are :class:`SandboxSettings` (``_settings``); what a test reads back is in ``_reports``,
waiting for webhooks in ``_webhook_waits``.

The pytest fixture ``amojo`` is a :class:`Sandbox`; it works without pytest as well:

>>> import httpx
>>> host = SandboxHost()
>>> with host.open(SandboxSettings(clock=1639609975)) as amojo:
...     scope_id = amojo.connect()["scope_id"]
...     response = amojo.client.create_chat("chat-1", {"id": "user-1", "name": "Ann"})
...     [chat["conversation_id"] for chat in amojo.chats]
['chat-1']
>>> host.close()
"""

from __future__ import annotations

import os
import secrets
import ssl
from types import TracebackType
from typing import Any

import httpx

from ..config import Config, env_setting
from ..crm._operator import Operator
from ..domain import Account, Backend, Channel
from ..domain._clock import ManualClock, RandomIds, SequentialIds
from ..errors import RefusedRequests, ServerErrors
from ..http._app import create_app
from ..serve._server import ServerThread
from ..serve._tls import tls_files
from ..webhooks import WebhookDispatcher, WebhookFaults
from ..wire import _views as views
from ..wire._endpoints import CRM_DOMAINS
from ..wire._requests import Disconnect, parse_connect
from ..wire._stances import Stances
from ._client import AmojoClient
from ._crm import SandboxCrm
from ._inprocess import AMOJO_HOSTS, InProcessRouting, SyncASGITransport
from ._manager_actions import ManagerActions
from ._outages import Outage, OutageApp, OutagePlan
from ._reports import SandboxReports
from ._settings import SandboxSettings
from ._webhook_waits import WebhookWaits, webhook_matches

__all__ = ["DEFAULT_BASE_URL", "RefusedRequests", "Sandbox", "SandboxHost", "SandboxSettings", "ServerErrors", "webhook_matches"]

#: Where in-process mode serves the fake: the URL an integration calls in production.
DEFAULT_BASE_URL = "https://amojo.amocrm.com"


class SandboxHost:
    """One app and backend for many sandboxes (a test session); served over HTTP on demand."""

    def __init__(self, config: Config | None = None) -> None:
        # Served mode takes its HTTP protocol from MOCK_AMOJO_HTTP, as `mock-amojo serve` does.
        self.config = (config or Config(http=env_setting("http", os.environ))).replace(demo=False)
        self.backend = Backend(
            clock=ManualClock(), ids=RandomIds(), journal_size=self.config.journal_size, journal_bytes=self.config.journal_bytes
        )
        self.app = create_app(self.config, backend=self.backend)
        #: Injected API failures (``fail_next``); the app is wrapped so both transports honour them.
        self.outages = OutagePlan()
        self.inprocess_app = OutageApp(self.app, self.outages, self.backend, network_errors=True)
        self.served_app = OutageApp(self.app, self.outages, self.backend, network_errors=False)
        #: Routes amojo's hosts (and a test's extra hosts) to apps in process while a sandbox is open.
        self.routing = InProcessRouting(self.inprocess_app, AMOJO_HOSTS)
        for domain in CRM_DOMAINS:
            self.routing.mount_domain(domain, self.inprocess_app)
        self.webhooks: WebhookDispatcher = self.app.state.webhooks
        self.operator: Operator = self.app.state.operator
        self._server: ServerThread | None = None
        self._tls_server: ServerThread | None = None
        #: Serves the sandboxes' own clients in process, whether or not routing is on.
        self.transport = SyncASGITransport(self.inprocess_app)

    def serve(self, *, tls: bool = False) -> ServerThread:
        """Start the real HTTP server (once) and return it (``.url`` is its base URL); ``tls``: the HTTPS one (``.tls.ca``: its CA)."""
        if tls:
            if self._tls_server is None:
                files = tls_files()
                try:
                    self._tls_server = ServerThread(self.served_app, http=self.config.http, tls=files).start()
                except BaseException:
                    files.discard()
                    raise
            return self._tls_server
        if self._server is None:
            self._server = ServerThread(self.served_app, http=self.config.http).start()
        return self._server

    def open(self, settings: SandboxSettings | None = None) -> Sandbox:
        """A clean sandbox; close it (or use ``with``) when the test is over."""
        return Sandbox(self, settings or SandboxSettings())

    def close(self) -> None:
        self.routing.close()
        self.transport.close()
        self.webhooks.close()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tls_server is not None:
            self._tls_server.stop()
            assert self._tls_server.tls is not None
            self._tls_server.tls.discard()
            self._tls_server = None


class Sandbox(ManagerActions, SandboxReports, WebhookWaits):
    """The fake amojo of one test: a fresh channel and account, a virtual clock, state to assert on.

    Attributes: ``base_url`` (where the integration should send requests), ``ca_bundle`` (the CA file
    of the HTTPS served mode, ``tls=True``; else None), ``channel_id``,
    ``channel_secret``, ``account_id``, ``scope_id`` (after :meth:`connect`), ``clock``
    (a :class:`~mock_amojo.domain._clock.ManualClock`: ``clock.advance(seconds)``), ``backend``, ``app``.
    Reading state and refusals back comes from :class:`~mock_amojo.testing._reports.SandboxReports`,
    waiting for webhooks from :class:`~mock_amojo.testing._webhook_waits.WebhookWaits`.
    """

    def __init__(self, host: SandboxHost, settings: SandboxSettings) -> None:
        self.host = host
        self.settings = settings
        self.app = host.app
        self.backend: Backend = host.backend
        start = settings.clock
        self.clock = ManualClock(start)
        backend = self.backend
        backend.use_sources(clock=self.clock, ids=SequentialIds() if settings.sequential_ids else RandomIds())
        config = host.config
        backend.stances = Stances.resolve(
            {**config.stances, **(settings.stances or {})},
            strict=config.strict or settings.strict,
            error_bodies=settings.error_bodies or config.error_bodies,
        )
        backend.reset()
        self.account: Account = backend.register_account(amojo_id=settings.account_id, name="Test account")
        self.channel: Channel = backend.register_channel(
            id=settings.channel_id,
            secret=settings.channel_secret or secrets.token_hex(20),
            name=settings.channel_name,
            webhook_url=settings.webhook_url,
            hook_api_version=settings.hook_api_version,
            strict=settings.strict_accounts,
            allowed_accounts=[self.account.id, *settings.allowed_accounts],
            write_first=settings.write_first,
        )
        if settings.subdomain is not None:
            backend.set_subdomain(self.account.id, settings.subdomain)
        host.app.state.crm_rest.limiter.reset(settings.crm_rate_limit)
        self.channel_id = self.channel.id
        self.channel_secret = self.channel.secret
        self.account_id = self.account.id
        self._scope_id: str | None = None
        self._reported_errors = 0
        self._mounted: list[str] = []
        self._routing: InProcessRouting | None = None
        if settings.inprocess:
            self._routing = host.routing
            for extra in settings.hosts:
                self.mount(extra, host.inprocess_app)
            self._routing.start()
        host.outages.clear()
        for outage in settings.outages:
            host.outages.add(Outage.from_options(outage))
        host.webhooks.mode = "sync" if settings.webhook_mode == "sync" else "async"
        if settings.faults:
            host.webhooks.set_faults(WebhookFaults.from_dict(dict(settings.faults)), self.channel_id)
        self._returned_webhooks: set[str] = set()
        server = host.serve(tls=settings.tls) if settings.served else None
        self.base_url = server.url if server is not None else DEFAULT_BASE_URL
        #: The CA certificate (a PEM file) the HTTPS served mode's certificate is issued by (``tls=True``), else None.
        self.ca_bundle: str | None = str(server.tls.ca) if server is not None and server.tls is not None else None
        self._http: httpx.Client | None = None
        self._client: AmojoClient | None = None
        #: amoCRM's REST side of the test account: ``subdomain``, ``base_url``, ``account_id``, ``token()``, ``install()``.
        self.crm = SandboxCrm(self)

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Stop routing amojo's hosts to the fake and put httpx, requests and aiohttp back as they were; the state stays readable until the next sandbox."""
        if self._routing is not None:
            for mounted in self._mounted:
                self._routing.unmount(mounted)
            self._mounted.clear()
            # Like respx and responses at a fixture's teardown: nothing the test did not patch itself stays
            # patched after it (re-patching costs microseconds per test). pause() drops what was recorded.
            self._routing.pause()
            self._routing.stop()
            self._routing = None
        if self._http is not None:
            self._http.close()
            self._http = None
        self.crm.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- setup helpers (straight to the backend: no HTTP, nothing in the journal) -----

    def connect(self, account_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Connect the channel to an account as the integration's connect call would; returns amojo's answer.

        ``fields`` are connect's body fields (``hook_api_version``, ``title``, ``is_time_window_disabled``).
        """
        body = {"account_id": account_id or self.account_id, **fields}
        # Checked as the endpoint checks it: what it refuses (a lone surrogate too) is refused here, not stored.
        self.host.operator.schemas.validate("connect.request.json", body)
        scope = self.backend.connect(self.channel_id, parse_connect(body))
        if account_id is None or account_id == self.account_id:
            self._scope_id = scope.id
        return views.connect_response(scope)

    @property
    def scope_id(self) -> str | None:
        """The scope the helpers act in: the test account's, once connected (by :meth:`connect` or by your code).

        With another account connected instead, that scope, if it is the only one.
        """
        if self._scope_id is not None:
            return self._scope_id
        scopes = self.backend.connected_scopes(self.channel_id)
        own = [s.id for s in scopes if s.account_id == self.account_id]
        if own:
            return own[0]
        return scopes[0].id if len(scopes) == 1 else None

    def disconnect(self, account_id: str | None = None) -> None:
        self.backend.disconnect(self.channel_id, Disconnect(account_id or self.account_id))

    def add_account(self, amojo_id: str | None = None, *, name: str | None = None, users: list[str] | None = None) -> Account:
        """Another account (with CRM users named ``users``); a strict channel accepts it too."""
        crm_users = [{"name": u} for u in users or ()]
        body = {"amojo_id": amojo_id, "name": name, "users": crm_users}
        self.host.operator.schemas.validate("control_account.request.json", {k: v for k, v in body.items() if v is not None})
        account = self.backend.register_account(amojo_id=amojo_id, name=name, users=crm_users)
        self.backend.allow_account(self.channel_id, account.id)
        return account

    @property
    def manager_id(self) -> str:
        """amojo id of the test account's first CRM user (the one who replies)."""
        return self.account.users[0].id

    @property
    def bot_id(self) -> str:
        """amojo id of the channel's bot (``sender.ref_id`` for bot messages)."""
        return self.channel.bot.id

    # -- clients ----------------------------------------------------------------------

    @property
    def http(self) -> httpx.Client:
        """A sync httpx client for ``base_url``: in process (no socket, routing or not), or over the served socket."""
        if self._http is None:
            if self.settings.served:
                verify = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else True
                token = self.host.config.control_token
                # A host made with a control token guards its socket; this client is the test's own, so it carries the token.
                auth = {"Authorization": f"Bearer {token}"} if token else None
                self._http = httpx.Client(base_url=self.base_url, verify=verify, headers=auth)
            else:
                self._http = httpx.Client(base_url=self.base_url, transport=self.host.transport)
        return self._http

    @property
    def client(self) -> AmojoClient:
        """A signed amojo client for this channel (Date from the virtual clock), scoped after :meth:`connect`."""
        if self._client is None:
            self._client = AmojoClient(self.http, self.channel_id, self.channel_secret, now=self.clock.now)
        self._client.scope_id = self.scope_id
        return self._client

    # -- in-process routing ----------------------------------------------------------------

    def serve_webhooks(self, app: Any, url: str = "http://integration.test/amojo/:scope_id") -> str:
        """Deliver this channel's webhooks to ``app`` (your ASGI or WSGI app) in process, at ``url``.

        ``:scope_id`` in ``url`` is replaced by the scope id, as amojo does. Returns ``url``.
        """
        if self._routing is None:
            raise RuntimeError("serve_webhooks needs in-process routing; it is off (@pytest.mark.amojo(inprocess=False)).")
        host = httpx.URL(url.replace(":scope_id", "scope")).host
        self.mount(host, app)
        self.backend.set_webhook_url(self.channel_id, url)
        return url

    def mount(self, host: str, app: Any) -> None:
        """Serve ``host`` from ``app`` in process for this test only."""
        if self._routing is None:
            raise RuntimeError("mount needs in-process routing; it is off (@pytest.mark.amojo(inprocess=False)).")
        self._routing.mount(host, app)
        self._mounted.append(host)
