"""How a signed hook leaves the fake: one :class:`HookSender` interface, its implementations, and the one
place that picks between them.

- ``httpx`` (:class:`HttpxSender`): httpx's own clients, so whatever intercepts httpx in the process
  sees every hook — respx mocks of your receiver, the pytest plugin's in-process routing to your app.
- ``lean`` (:class:`LeanSender`): a keep-alive HTTP/1.1 client on asyncio streams (:mod:`._hookclient`),
  far cheaper per hook than httpx and without importing it; nothing in the process can intercept it.

:func:`choose_client` is the choice: ``mock-amojo serve`` sends with ``lean`` (no test code shares its
process, and it keeps amojo's pace on one core); every other way of running the fake — ``create_app``,
:class:`~mock_amojo.serve._server.ServerThread`, the sandbox and the ``amojo`` fixture — sends with ``httpx``.
:attr:`Config.webhook_client <mock_amojo.config.Config.webhook_client>` (``--webhook-client``,
``MOCK_AMOJO_WEBHOOK_CLIENT``) overrides it.

>>> choose_client("auto", serve=True), choose_client("auto", serve=False), choose_client("httpx", serve=True)
('lean', 'httpx', 'httpx')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

from ._hookclient import HookClient, HookConnectError, HookProtocolError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_ANSWER",
    "Answer",
    "HookSender",
    "HttpxSender",
    "LeanSender",
    "Undelivered",
    "WebhookClient",
    "choose_client",
    "make_sender",
    "timeout_reason",
]

WebhookClient = Literal["lean", "httpx"]
#: Bytes of a receiver's answer a sender reads and the record keeps: a receiver streaming megabytes must not fill memory.
MAX_ANSWER = 2048


def choose_client(setting: str, *, serve: bool) -> WebhookClient:
    """The client hooks are sent with, for a ``webhook_client`` setting (``auto``, ``lean`` or ``httpx``).

    ``auto`` is ``lean`` when ``serve`` (the ``mock-amojo serve`` command), else ``httpx``.
    """
    if setting == "auto":
        return "lean" if serve else "httpx"
    if setting == "lean":
        return "lean"
    if setting == "httpx":
        return "httpx"
    raise ValueError(f"webhook client must be 'auto', 'lean' or 'httpx', got {setting!r}")


def make_sender(client: WebhookClient, timeout: float) -> HookSender:
    """The sender for ``client``, waiting at most ``timeout`` seconds for a blocking answer."""
    if client == "lean":
        return LeanSender(timeout)
    if client == "httpx":
        return HttpxSender(timeout)
    raise ValueError(f"webhook client must be 'lean' or 'httpx', got {client!r}")


class Answer(msgspec.Struct, frozen=True):
    """A receiver's answer: its status code and the first :data:`MAX_ANSWER` bytes of its body."""

    status_code: int
    head: bytes


class Undelivered(Exception):
    """No answer from the receiver; the message is the attempt's ``error`` as its record shows it."""


def timeout_reason(timeout: float) -> str:
    return f"timeout: no answer within {timeout:g} s (amojo gives up, no retry)"


class HookSender(Protocol):
    """POSTs one signed hook and reads the start of the answer; raises :class:`Undelivered` when there is none.

    :meth:`post` runs on the dispatcher's event loop (its caller bounds it with the timeout),
    :meth:`post_blocking` on the thread of a ``webhook_mode="sync"`` call. :meth:`aclose` is
    awaited on that loop when it stops, :meth:`close` once when the dispatcher closes.
    """

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...

    def post_blocking(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...

    def close(self) -> None: ...


class _Head:
    """The start of an answer's body, read chunk by chunk until :data:`MAX_ANSWER` bytes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; True once enough is read."""
        self.data += chunk
        return len(self.data) >= MAX_ANSWER


class HttpxSender:
    """Hooks through httpx's clients (async and sync), created on first use: httpx is not imported before."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._async: httpx.AsyncClient | None = None
        self._sync: httpx.Client | None = None

    def _settings(self) -> dict[str, Any]:
        # trust_env=False: a proxy from the environment must never intercept hooks to 127.0.0.1.
        return {"timeout": self.timeout, "trust_env": False, "follow_redirects": False}

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        import httpx

        if self._async is None:
            self._async = httpx.AsyncClient(**self._settings())
        head = _Head()
        try:
            async with self._async.stream("POST", url, content=body, headers=headers) as response:
                async for chunk in response.aiter_bytes():
                    if head.add(chunk):
                        break
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise self._undelivered(err) from err
        return Answer(response.status_code, head.data)

    def post_blocking(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        import httpx

        if self._sync is None:
            self._sync = httpx.Client(**self._settings())
        head = _Head()
        try:
            with self._sync.stream("POST", url, content=body, headers=headers) as response:
                for chunk in response.iter_bytes():
                    if head.add(chunk):
                        break
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise self._undelivered(err) from err
        return Answer(response.status_code, head.data)

    def _undelivered(self, error: Exception) -> Undelivered:
        import httpx

        if isinstance(error, httpx.TimeoutException):
            return Undelivered(timeout_reason(self.timeout))
        return Undelivered(f"{type(error).__name__}: {error or 'connection failed'}")

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None


class LeanSender:
    """Hooks through :class:`~._hookclient.HookClient`; a blocking send (sync mode) goes through httpx, the lean
    client being asyncio-only."""

    def __init__(self, timeout: float) -> None:
        self._client: HookClient | None = None
        self._blocking = HttpxSender(timeout)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        if self._client is None:
            self._client = HookClient()
        try:
            response = await self._client.post(url, body, dict(headers), max_body=MAX_ANSWER)
        except HookConnectError as err:
            raise Undelivered(f"ConnectError: {err or 'connection failed'}") from err
        except (HookProtocolError, OSError) as err:
            raise Undelivered(f"{type(err).__name__}: {err or 'connection failed'}") from err
        return Answer(response.status_code, response.body)

    def post_blocking(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        return self._blocking.post_blocking(url, body, headers)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def close(self) -> None:
        self._blocking.close()
