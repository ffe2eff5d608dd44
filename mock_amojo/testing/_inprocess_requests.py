"""In-process routing for ``requests``: calls to the routed hosts are served by their apps, built on ``responses``.

While an :class:`~mock_amojo.testing._inprocess.InProcessRouting` is active, a ``requests`` call (any
session, made anywhere in the code under test) to a host it routes is answered by that host's app
with no socket; every other URL passes through to the network as if nothing were patched. Loaded only
when ``responses`` is installed (``pip install 'mock-amojo[requests]'``).

>>> import requests
>>> from mock_amojo import create_app
>>> from mock_amojo.testing import InProcessRouting
>>> with InProcessRouting(create_app()):
...     requests.get("https://amojo.amocrm.com/__mock__/health").json()["status"]
'ok'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import requests
import responses
from responses.registries import FirstMatchRegistry

from ._inprocess_shared import ClientRouting, SharedPatch

if TYPE_CHECKING:
    from ._inprocess import InProcessRouting

__all__ = ["RequestsRouting"]

# What requests raises for the failures an outage injects in process (mock_amojo.testing._outages.NETWORK_ERRORS).
_NETWORK_ERRORS: dict[type[Exception], type[requests.RequestException]] = {
    httpx.TimeoutException: requests.exceptions.ReadTimeout,
    httpx.ConnectError: requests.exceptions.ConnectionError,
}


class _Registry(FirstMatchRegistry):
    """responses' registry with one answer for every routed host and method; nothing else matches (so it passes through)."""

    answer: responses.CallbackResponse

    def find(self, request: requests.PreparedRequest) -> tuple[responses.BaseResponse | None, list[str]]:
        host = urlsplit(request.url).hostname if request.url else None
        if host is not None and _SHARED.handler(host) is not None:
            return self.answer, []
        return None, []


class _Patch:
    """``HTTPAdapter.send`` patched through :class:`responses.RequestsMock`."""

    def __init__(self) -> None:
        # Every URL the registry does not claim goes to the network: the fake only takes its hosts.
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False, passthru_prefixes=(re.compile(""),), registry=_Registry)  # type: ignore[arg-type]
        registry = self.mock.get_registry()
        assert isinstance(registry, _Registry)
        self.registry = registry
        # content_type=None: the app's own Content-Type is the only one.
        self.registry.answer = responses.CallbackResponse("GET", re.compile(""), callback=_serve, content_type=None)

    def start(self) -> None:
        self.mock.start()

    def stop(self) -> None:
        self.mock.stop(allow_assert=False)

    def forget(self) -> None:
        calls = self.mock.calls
        if len(calls):  # most tests make no requests call: nothing to drop
            calls.reset()
            self.registry.answer.calls.reset()


class RequestsRouting(ClientRouting):
    """One routing's share of the ``requests`` patch."""

    def __init__(self, routing: InProcessRouting) -> None:
        super().__init__(_SHARED, routing)


def _serve(request: requests.PreparedRequest) -> tuple[int, list[tuple[str, str]], bytes] | Exception:
    url = request.url or ""
    handler = _SHARED.handler(urlsplit(url).hostname or "")
    if handler is None:  # unmounted between the registry's look-up and now
        return requests.exceptions.ConnectionError(f"mock-amojo no longer serves {url}", request=request)
    headers = [(name, value if isinstance(value, str) else value.decode("latin-1")) for name, value in request.headers.items()]
    call = httpx.Request(request.method or "GET", url, headers=headers, content=_body(request.body))
    try:
        answer = handler.serve(call)
    except (httpx.TimeoutException, httpx.ConnectError) as err:
        kind = next(mapped for raised, mapped in _NETWORK_ERRORS.items() if isinstance(err, raised))
        return kind(str(err), request=request)
    return answer.status_code, answer.headers.multi_items(), answer.read()


def _body(body: Any) -> bytes:
    """The bytes requests would send for a prepared body (urllib3 encodes text as UTF-8; a generator is sent chunk by chunk)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body(body.read())
    if isinstance(body, Iterable):
        return b"".join(_body(chunk) for chunk in body)
    raise TypeError(f"requests body of type {type(body).__name__} cannot be sent")


_SHARED = SharedPatch(_Patch())
