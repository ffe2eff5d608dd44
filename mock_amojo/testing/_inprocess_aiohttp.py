"""In-process routing for ``aiohttp``: calls to the routed hosts are served by their apps, built on ``aioresponses``.

While an :class:`~mock_amojo.testing._inprocess.InProcessRouting` is active, an ``aiohttp.ClientSession``
request (any session, made anywhere in the code under test) to a host it routes is answered by that
host's app with no socket; every other URL passes through to the network as if nothing were patched.
Loaded only when ``aioresponses`` is installed (``pip install 'mock-amojo[aiohttp]'``).

>>> import asyncio, aiohttp
>>> from mock_amojo import create_app
>>> from mock_amojo.testing import InProcessRouting
>>> async def health() -> str:
...     async with aiohttp.ClientSession() as session, session.get("https://amojo.amocrm.com/__mock__/health") as response:
...         return (await response.json())["status"]
>>> with InProcessRouting(create_app()):
...     asyncio.run(health())
'ok'
"""

from __future__ import annotations

import contextvars
import inspect
import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import aiohttp
import httpx
from aiohttp import payload
from aioresponses import aioresponses
from aioresponses.core import RequestMatch
from multidict import CIMultiDict
from yarl import URL

from ._inprocess_shared import ClientRouting, SharedPatch

if TYPE_CHECKING:
    from ._inprocess import InProcessRouting

__all__ = ["AiohttpRouting"]

# The session making the request being matched: its JSON encoder makes the body bytes (aioresponses passes only the keywords).
_SESSION: contextvars.ContextVar[aiohttp.ClientSession | None] = contextvars.ContextVar("mock_amojo_aiohttp_session", default=None)


class _Mock(aioresponses):
    """aioresponses whose only match is "a host the routing serves", answered by that host's app; the rest passes through.

    It patches ``ClientSession._request`` with a plain function rather than aioresponses' autospec mock: an
    integrator's own ``aioresponses`` patches on top of it (autospec cannot spec a mock, so two of aioresponses'
    own patches cannot stack), and requests it passes through reach the fake.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mock = self

        async def _request(session: aiohttp.ClientSession, method: str, url: Any, *args: Any, **options: Any) -> Any:
            return await mock._request_mock(session, method, url, *args, **options)

        self.patcher = patch("aiohttp.client.ClientSession._request", new=_request)

    async def _request_mock(self, orig_self: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            target: URL | None = URL(url)
        except (TypeError, ValueError):
            target = None  # aiohttp itself says what is wrong with it
        if target is None or (target.absolute and _SHARED.handler(target.host or "") is None):
            # Not ours: straight on, untouched (aioresponses would first read a streamed body and keep a copy of the request).
            return await self.patcher.temp_original(orig_self, method, url, *args, **kwargs)
        token = _SESSION.set(orig_self)
        try:
            return await super()._request_mock(orig_self, method, url, *args, **kwargs)
        finally:
            _SESSION.reset(token)

    async def match(self, method: str, url: URL, allow_redirects: bool = True, **kwargs: Any) -> aiohttp.ClientResponse | None:
        handler = _SHARED.handler(url.host or "")
        if handler is None:
            return None  # not ours: aioresponses sends it on (passthrough_unmatched)
        body, headers = await _request_body(kwargs)
        try:
            answer = await handler.serve_async(httpx.Request(method.upper(), str(url), headers=headers, content=body))
        except httpx.TimeoutException as err:
            raise aiohttp.ServerTimeoutError(str(err)) from None
        except httpx.ConnectError as err:
            raise aiohttp.ClientConnectionError(str(err)) from None
        answer_headers = CIMultiDict(answer.headers.multi_items())
        content_type = answer_headers.pop("content-type", "")
        built = RequestMatch(
            url,
            method=method,
            status=answer.status_code,
            body=answer.content,
            headers=answer_headers,
            content_type=content_type,
            response_class=_Response,
        )
        response = await built.build_response(url, **kwargs)
        assert isinstance(response, aiohttp.ClientResponse)  # an exception only for a match made with exception=
        return response


class _Response(aiohttp.ClientResponse):
    """aiohttp's response as aioresponses builds it, given the ``stream_writer`` aiohttp 3.14 requires and aioresponses
    0.7.9 does not pass (https://github.com/pnuckowski/aioresponses/issues/289): the request was already sent in full."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


class _Patch:
    """``ClientSession._request`` patched through :class:`aioresponses.aioresponses`."""

    def __init__(self) -> None:
        self.mock = _Mock(passthrough_unmatched=True)

    def start(self) -> None:
        self.mock.start()

    def stop(self) -> None:
        self.mock.stop()

    def forget(self) -> None:
        # aioresponses keeps a deep copy of every request's keywords and every response.
        mock = self.mock
        if mock.requests or mock._responses:
            mock.requests.clear()
            mock._responses.clear()


_SHARED = SharedPatch(_Patch())


class AiohttpRouting(ClientRouting):
    """One routing's share of the ``aiohttp`` patch."""

    def __init__(self, routing: InProcessRouting) -> None:
        super().__init__(_SHARED, routing)


class _Sink:
    """Collects what an aiohttp payload writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self.chunks.append(bytes(chunk))


async def _request_body(kwargs: dict[str, Any]) -> tuple[bytes, list[tuple[str, str]]]:
    """The body bytes and headers aiohttp would send for a request's keywords (``data=`` or ``json=``)."""
    headers = CIMultiDict[str]()
    given = kwargs.get("headers")
    if given:
        headers.extend(given.items() if hasattr(given, "items") else given)
    data: Any = kwargs.get("data")
    document = kwargs.get("json")
    if document is not None:
        session = _SESSION.get()
        data = payload.JsonPayload(document, dumps=session.json_serialize if session is not None else json.dumps)
    if data is None:
        return b"", list(headers.items())
    if isinstance(data, aiohttp.FormData):
        data = data()
    try:
        body = payload.PAYLOAD_REGISTRY.get(data, disposition=None)
    except payload.LookupError:
        body = aiohttp.FormData(data)()  # a dict or pairs: a form, as aiohttp sends it
    sink = _Sink()
    await body.write(sink)  # type: ignore[arg-type]
    for name, value in body.headers.items():
        if name not in headers:
            headers[name] = value
    return b"".join(sink.chunks), list(headers.items())
