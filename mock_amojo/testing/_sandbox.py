"""A clean fake amojo per test: its own channel, account, clock and state on a shared app.

:class:`SandboxHost` owns one app and backend for a whole test session (in process, and
served over HTTP when asked); :meth:`SandboxHost.open` gives each test a :class:`Sandbox`:
the backend is reset, a fresh channel (id, secret) and account are registered, a virtual
clock is installed, and httpx calls to amojo's hosts are routed to the app. That is all a
test pays for — well under a millisecond.

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

import asyncio
import difflib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from ..config import Config, env_setting, webhook_url_problem
from ..crm._operator import Operator
from ..domain import Account, Backend, Channel
from ..domain._clock import ManualClock, RandomIds, SequentialIds, check_instant
from ..domain._journal import JournalEntry, explain_entry
from ..errors import AmojoError, RefusedRequests, ServerErrors
from ..http._app import create_app
from ..http._control import state_snapshot
from ..serve._server import ServerThread
from ..webhooks import Delivery, WebhookDispatcher, WebhookFaults
from ..wire import _views as views
from ._client import AmojoClient
from ._inprocess import AMOJO_HOSTS, InProcessRouting, SyncASGITransport
from ._outages import Outage, OutageApp, OutagePlan

__all__ = ["DEFAULT_BASE_URL", "RefusedRequests", "Sandbox", "SandboxHost", "SandboxSettings", "ServerErrors", "webhook_matches"]

#: Where in-process mode serves the fake: the URL an integration calls in production.
DEFAULT_BASE_URL = "https://amojo.amocrm.com"


def _timestamp(value: Any) -> float | None:
    """A clock start given as unix seconds, a datetime or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("clock: expected unix seconds, a datetime or an ISO 8601 string, got a bool")
    if isinstance(value, (int, float)):
        return check_instant("clock", value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"clock: {value!r} is not an ISO 8601 date-time (e.g. '2021-12-16T13:15:29+00:00')") from None
        if parsed.tzinfo is None:
            raise ValueError(f"clock: {value!r} has no UTC offset; write e.g. '{value}+00:00'")
        return parsed.timestamp()
    raise TypeError(f"clock: expected unix seconds, a datetime or an ISO 8601 string, got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """Per-test settings (the ``@pytest.mark.amojo(...)`` keywords). Field comments are the docs."""

    #: webhook format when connect does not name one (amojo's default is v1)
    hook_api_version: str = "v1"
    #: a private channel: only ``account_id`` (and ``allowed_accounts``) may connect; others get 403
    strict_accounts: bool = False
    #: extra accounts a strict channel accepts
    allowed_accounts: tuple[str, ...] = ()
    #: where the fake POSTs webhooks (``:scope_id`` is replaced); None: webhooks are only recorded
    webhook_url: str | None = None
    #: virtual clock start: unix seconds, datetime or ISO 8601 string; None: the wall clock at test start
    clock: float | None = None
    #: the channel's id and secret; None: fresh random ones per test
    channel_id: str | None = None
    channel_secret: str | None = None
    channel_name: str = "mock-amojo test channel"
    #: the account created for the test (its amojo_id); None: a fresh random one
    account_id: str | None = None
    #: whether the channel may start chats from the CRM ("write first")
    write_first: bool = True
    #: more hosts to route to the fake in process (e.g. your staging amojo URL's host)
    hosts: tuple[str, ...] = ()
    #: route httpx calls to amojo hosts into the fake with no socket
    inprocess: bool = True
    #: use the session's real HTTP server: ``base_url`` is then ``http://127.0.0.1:<port>``
    served: bool = False
    #: fail the test if the fake refused any request (as ``assert_all_accepted()`` at the end)
    assert_all_accepted: bool = False
    #: ids ``00000000-0000-4000-8000-000000000001``, ``…2`` … instead of random UUIDs
    sequential_ids: bool = False
    #: "sync": a manager action returns after its webhook was delivered (deterministic tests);
    #: "async": sent in the background as amojo does — use ``wait_for_webhook``
    webhook_mode: str = "sync"
    #: webhook misbehaviour for this channel: delay, duplicate, out_of_order, tamper_signature, stale_time
    faults: Mapping[str, Any] | None = None
    #: API failures: dicts like ``{"endpoint": "send_message", "status": 503, "times": 2}`` (see ``Sandbox.fail_next``)
    outages: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.clock is not None:
            check_instant("clock", self.clock)
        if self.hook_api_version not in ("v1", "v2"):
            raise ValueError(f"hook_api_version: 'v1' or 'v2', got {self.hook_api_version!r}")
        if self.webhook_url is not None and (problem := webhook_url_problem(self.webhook_url)):
            raise ValueError(f"webhook_url: {problem}, got {self.webhook_url!r}")
        if self.channel_secret is not None and (len(self.channel_secret) != 40 or self.channel_secret.strip("0123456789abcdef")):
            raise ValueError("channel_secret: 40 lowercase hex characters, as amoCRM issues them")
        if self.webhook_mode not in ("sync", "async"):
            raise ValueError(f"webhook_mode: 'sync' or 'async', got {self.webhook_mode!r}")
        if self.faults is not None:
            try:
                WebhookFaults.from_dict(dict(self.faults))
            except (AmojoError, TypeError) as err:
                raise ValueError(f"faults: {getattr(err, 'description', err)} {getattr(err, 'hint', '')}".strip()) from None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SandboxSettings:
        """Settings from keyword options, with an error naming any unknown or ill-typed one."""
        known = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for name, value in options.items():
            if name not in known:
                close = [k for k in known if name in k] or difflib.get_close_matches(name, known, n=1)
                suggestion = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                raise TypeError(f"unknown amojo setting {name!r}{suggestion}")
            if name == "clock":
                value = _timestamp(value)
            elif name in ("hosts", "allowed_accounts"):
                value = (value,) if isinstance(value, str) else tuple(value)
            elif name == "outages":
                value = tuple(Outage.from_options(o) for o in ([value] if isinstance(value, (dict, Outage)) else value))
            values[name] = value
        return cls(**values)


class SandboxHost:
    """One app and backend for many sandboxes (a test session); served over HTTP on demand."""

    def __init__(self, config: Config | None = None) -> None:
        # Served mode takes its HTTP protocol from MOCK_AMOJO_HTTP, as `mock-amojo serve` does.
        self.config = (config or Config(http=env_setting("http", os.environ))).replace(demo=False)
        self.backend = Backend(clock=ManualClock(), ids=RandomIds(), journal_size=self.config.journal_size)
        self.app = create_app(self.config, backend=self.backend)
        #: Injected API failures (``fail_next``); the app is wrapped so both transports honour them.
        self.outages = OutagePlan()
        self.inprocess_app = OutageApp(self.app, self.outages, self.backend, network_errors=True)
        self.served_app = OutageApp(self.app, self.outages, self.backend, network_errors=False)
        #: Routes amojo's hosts (and a test's extra hosts) to apps in process while a sandbox is open.
        self.routing = InProcessRouting(self.inprocess_app, AMOJO_HOSTS)
        self.webhooks: WebhookDispatcher = self.app.state.webhooks
        self.operator: Operator = self.app.state.operator
        self._server: ServerThread | None = None
        #: Serves the sandboxes' own clients in process, whether or not routing is on.
        self.transport = SyncASGITransport(self.inprocess_app)

    def serve(self) -> ServerThread:
        """Start the real HTTP server (once) and return it (``.url`` is its base URL)."""
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


class Sandbox:
    """The fake amojo of one test: a fresh channel and account, a virtual clock, state to assert on.

    Attributes: ``base_url`` (where the integration should send requests), ``channel_id``,
    ``channel_secret``, ``account_id``, ``scope_id`` (after :meth:`connect`), ``clock``
    (a :class:`~mock_amojo.domain._clock.ManualClock`: ``clock.advance(seconds)``), ``backend``, ``app``.
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
        self.base_url = host.serve().url if settings.served else DEFAULT_BASE_URL
        self._http: httpx.Client | None = None
        self._client: AmojoClient | None = None

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Stop routing amojo's hosts to the fake; the state stays readable until the next sandbox."""
        if self._routing is not None:
            for mounted in self._mounted:
                self._routing.unmount(mounted)
            self._mounted.clear()
            self._routing.pause()
            self._routing = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- setup helpers (straight to the backend: no HTTP, nothing in the journal) -----

    def connect(self, account_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Connect the channel to an account as the integration's connect call would; returns amojo's answer.

        ``fields`` are connect's body fields (``hook_api_version``, ``title``, ``is_time_window_disabled``).
        """
        scope = self.backend.connect(self.channel_id, {"account_id": account_id or self.account_id, **fields})
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
        self.backend.disconnect(self.channel_id, {"account_id": account_id or self.account_id})

    def add_account(self, amojo_id: str | None = None, *, name: str | None = None, users: list[str] | None = None) -> Account:
        """Another account (with CRM users named ``users``); a strict channel accepts it too."""
        account = self.backend.register_account(amojo_id=amojo_id, name=name, users=[{"name": u} for u in users or ()])
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
                self._http = httpx.Client(base_url=self.base_url)
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

    # -- state ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the fake holds (as ``GET /__mock__/state`` answers)."""
        return state_snapshot(self.backend)

    @property
    def chats(self) -> list[dict[str, Any]]:
        """Chats of every scope of this channel, oldest first."""
        return [views.chat_state(chat) for chat in self.backend.all_chats()]

    def chat(self, conversation_id: str) -> dict[str, Any]:
        """The chat with this integration-side id (KeyError naming the known ones if absent)."""
        for chat in self.chats:
            if chat["conversation_id"] == conversation_id:
                return chat
        known = [c["conversation_id"] for c in self.chats]
        raise KeyError(f"no chat with conversation_id {conversation_id!r}; the fake has {known}")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message the fake holds, oldest first (with direction, origin, statuses, reactions, edits)."""
        return [views.message_state(m) for chat in self.backend.all_chats() for m in chat.messages]

    def messages_in(self, conversation_id: str) -> list[dict[str, Any]]:
        """Messages of one chat, oldest first."""
        chat_id = self.chat(conversation_id)["id"]
        return [m for m in self.messages if m["chat_id"] == chat_id]

    @property
    def leads(self) -> list[dict[str, Any]]:
        """Incoming leads amoCRM created (one per chat's first non-silent client message)."""
        return [views.lead_state(lead) for lead in self.backend.snapshot().leads]

    # -- the journal and failure reporting ----------------------------------------------

    @property
    def journal(self) -> list[JournalEntry]:
        """Every amojo API request of this test, oldest first, with status and verdict."""
        return self.backend.journal.entries()

    @property
    def refused(self) -> list[JournalEntry]:
        """Requests the fake answered with 4xx/5xx (injected outages are not refusals: see ``outages_hit``)."""
        return [e for e in self.backend.journal.entries(refused_only=True) if not e.get("injected")]

    @property
    def outages_hit(self) -> list[JournalEntry]:
        """Requests failed on purpose by :meth:`fail_next` or the ``outages`` marker."""
        return [e for e in self.backend.journal.entries(refused_only=True) if e.get("injected")]

    def explain_refusals(self, *, include_injected: bool = False) -> str:
        """Every refused request of this test with the fake's explanation ('' if none); optionally injected failures too."""
        entries = self.backend.journal.entries(refused_only=True) if include_injected else self.refused
        return "\n\n".join(explain_entry(entry) for entry in entries)

    def fail_next(
        self, endpoint: str = "*", status: int = 503, *, times: int | None = 1, error: str | None = None, retry_after: int | None = None
    ) -> Outage:
        """Make the next ``times`` requests to ``endpoint`` fail (``times=None``: until the test ends).

        ``endpoint``: connect, disconnect, create_chat, send_message, delivery_status, history,
        typing, react, or ``"*"``. ``status``: the gateway's answer (503, 502, 504, 500, 429 with
        ``retry_after``…). ``error="timeout"`` / ``"connect"``: in process, the client raises
        ``httpx.ReadTimeout`` / ``httpx.ConnectError`` instead (served: 504). Returns the rule;
        its ``hits`` counts the failures so far.
        """
        return self.host.outages.add(Outage(endpoint=endpoint, status=status, times=times, error=error, retry_after=retry_after))

    def assert_all_accepted(self) -> None:
        """Fail (:class:`RefusedRequests`) if the fake refused any request of this test, saying why."""
        refused = self.refused
        if refused:
            raise RefusedRequests(f"mock-amojo refused {len(refused)} request(s):\n\n{self.explain_refusals()}")

    @property
    def server_errors(self) -> list[AmojoError]:
        """Unexpected failures of the fake while serving this test (each one is a mock-amojo bug)."""
        return [e for e in self.backend.server_errors if isinstance(e, AmojoError)]

    def take_new_server_errors(self) -> list[AmojoError]:
        """Server errors not reported yet (the pytest plugin fails the test on them)."""
        errors = self.server_errors
        new = errors[self._reported_errors :]
        self._reported_errors = len(errors)
        return new

    # -- acting as the CRM manager (each action sends the webhook amojo would) --------------

    def _scope_for(self, scope_id: str | None) -> str:
        scope = scope_id or self.scope_id
        if scope is None:
            raise RuntimeError("No connected scope: call amojo.connect() (or let your integration connect) first, or pass scope_id=.")
        return scope

    def reply(
        self,
        conversation_id: str | None = None,
        text: str | None = None,
        *,
        chat_id: str | None = None,
        user_id: str | None = None,
        scope_id: str | None = None,
        faults: Mapping[str, Any] | None = None,
        **message: Any,
    ) -> dict[str, Any]:
        """A manager answers in a chat; returns the ids and the webhook ``delivery``.

        ``message`` fields go into the hook's message (``type="picture", media=..., file_name=...,
        file_size=...``, ``markup=...``, ``template=...``); ``type`` defaults to text.
        """
        content = _message_content(text, message)
        return self.host.operator.reply(
            self._scope_for(scope_id),
            message=content,
            conversation_id=conversation_id,
            chat_id=chat_id,
            user_id=user_id,
            faults=dict(faults) if faults else None,
        )

    def initiate(
        self,
        phone: str,
        text: str | None = None,
        *,
        name: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
        scope_id: str | None = None,
        faults: Mapping[str, Any] | None = None,
        **message: Any,
    ) -> dict[str, Any]:
        """A manager writes first to ``phone`` ("write first"): the hook has no ``conversation.client_id``.

        Answer it with ``conversation_ref_id`` = the result's ``chat_id`` and
        ``sender.ref_id`` = its ``receiver_id``.
        """
        content = _message_content(text, message)
        return self.host.operator.initiate(
            self._scope_for(scope_id),
            phone=phone,
            message=content,
            name=name,
            user_id=user_id,
            source={"external_id": source} if source else None,
            faults=dict(faults) if faults else None,
        )

    def typing(
        self, conversation_id: str | None = None, *, chat_id: str | None = None, user_id: str | None = None, scope_id: str | None = None
    ) -> dict[str, Any]:
        """A manager types in a chat (the hook is sent at most once per 5 s of the virtual clock)."""
        return self.host.operator.typing(self._scope_for(scope_id), conversation_id=conversation_id, chat_id=chat_id, user_id=user_id)

    def react(
        self,
        message: str,
        emoji: str | None = "👍",
        *,
        unreact: bool = False,
        user_id: str | None = None,
        scope_id: str | None = None,
    ) -> dict[str, Any]:
        """A manager reacts to a message named by amojo's id or by your ``msgid``; ``unreact=True`` takes it back."""
        scope = self._scope_for(scope_id)
        target = self.backend.message_named(scope, message)
        message_id = target.id if target is not None else message
        return self.host.operator.react(
            scope, message_id=message_id, emoji=None if unreact else emoji, type="unreact" if unreact else "react", user_id=user_id
        )

    # -- webhooks -------------------------------------------------------------------------

    @property
    def webhooks(self) -> list[Delivery]:
        """Every webhook of this test (delivered, failed or skipped), oldest first: ``.json()``, ``.outcome``, ``.headers``."""
        return self.host.webhooks.deliveries()

    def wait_for_webhook(
        self,
        match: Mapping[str, Any] | Callable[[Delivery], bool] | None = None,
        *,
        kind: str | None = None,
        conversation_id: str | None = None,
        timeout: float = 5.0,
    ) -> Delivery:
        """The next webhook of this test matching all criteria — returned the moment it is sent, never by sleeping.

        ``match`` is a predicate on the :class:`~mock_amojo.webhooks.Delivery`, or a dict that
        must be contained in the hook's JSON body (nested: ``{"message": {"message": {"text": "Hi"}}}``).
        Each delivery is returned once, so consecutive calls walk through the hooks.
        """

        def wanted(delivery: Delivery) -> bool:
            if delivery.id in self._returned_webhooks:
                return False
            if kind is not None and delivery.kind != kind:
                return False
            if conversation_id is not None and delivery.conversation_id != conversation_id:
                return False
            if match is None:
                return True
            if callable(match):
                return bool(match(delivery))
            return webhook_matches(delivery.json(), match)

        delivery = self.host.webhooks.wait_for(wanted, timeout)
        self._returned_webhooks.add(delivery.id)
        return delivery

    async def wait_for_webhook_async(
        self,
        match: Mapping[str, Any] | Callable[[Delivery], bool] | None = None,
        *,
        kind: str | None = None,
        conversation_id: str | None = None,
        timeout: float = 5.0,
    ) -> Delivery:
        """:meth:`wait_for_webhook` for async tests (the event loop keeps running while it waits)."""
        return await asyncio.to_thread(self.wait_for_webhook, match, kind=kind, conversation_id=conversation_id, timeout=timeout)

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


def _message_content(text: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A manager's message: text unless ``type`` says otherwise."""
    content = {"type": "text", **fields}
    if text is not None:
        content["text"] = text
    return content


def webhook_matches(body: Any, expected: Any) -> bool:
    """Whether ``expected`` is contained in ``body``: dicts by subset (recursively), anything else by equality.

    >>> webhook_matches({"message": {"message": {"text": "Hi", "type": "text"}}}, {"message": {"message": {"text": "Hi"}}})
    True
    >>> webhook_matches({"action": {"typing": {}}}, {"action": {"reaction": {}}})
    False
    """
    if isinstance(expected, Mapping):
        return isinstance(body, Mapping) and all(k in body and webhook_matches(body[k], v) for k, v in expected.items())
    return bool(body == expected)
