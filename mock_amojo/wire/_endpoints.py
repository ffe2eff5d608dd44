"""amojo's endpoint table as data: names, methods, paths, request schemas, typed requests and success answers.

The one place an amojo route is declared. :mod:`mock_amojo.http._handlers` binds each entry to its
handler, :mod:`mock_amojo.testing._outages` and the journal name requests by it, the OpenAPI document
lists it, and :class:`Router` matches a request against it. No I/O, no state.

>>> endpoint_of("POST", PREFIX + "/ch-1_acc-1/chats"), endpoint_of("GET", "/__mock__/state")
('create_chat', None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from . import _requests as requests

__all__ = [
    "AMOJO_HOSTS",
    "CRM_DOMAINS",
    "ENDPOINTS",
    "ENDPOINT_NAMES",
    "LEGACY_SIGNED",
    "OAUTH_PREFIX",
    "PREFIX",
    "REST_PREFIX",
    "EndpointSpec",
    "Router",
    "endpoint_of",
]

#: Where amojo serves the custom chat channel API (amojo-api.md §3).
PREFIX = "/v2/origin/custom"

#: The hosts amojo answers on (amojo-api.md §1): routed to the fake in process, named in ``--tls`` certificates.
AMOJO_HOSTS = ("amojo.amocrm.com", "amojo.amocrm.ru", "amojo.kommo.com")

#: Where an amoCRM account serves its REST API v4 (leads, contacts, sources, talks: ``docs/crm.md``), and OAuth 2.0.
REST_PREFIX = "/api/v4"
OAUTH_PREFIX = "/oauth2/"
#: The domains amoCRM's accounts answer on: ``{subdomain}.{domain}``.
CRM_DOMAINS = ("amocrm.ru", "amocrm.com", "kommo.com")


class EndpointSpec(msgspec.Struct, frozen=True):
    """One amojo endpoint: route, request schema and its success answers (for the OpenAPI document)."""

    name: str
    method: str
    #: Relative to :data:`PREFIX`; ``{name}`` is a path parameter (one non-empty segment).
    path: str
    schema: str | None
    #: True when the path names a channel (``{channel_id}``), else a scope (``{scope_id}``).
    by_channel: bool = False
    #: (status, response schema or None for an empty body) of each success answer.
    answers: tuple[tuple[int, str | None], ...] = ((200, None),)
    #: Parses the schema-checked body into the typed request its handler takes (:mod:`._requests`).
    parse: Callable[[Any], object] | None = None


#: In the order they are matched: send_message first, the busiest route, whose one-segment pattern cannot shadow the others.
ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec(
        "send_message",
        "POST",
        "/{scope_id}",
        "message.request.json",
        answers=((200, "message.response.json"),),
        parse=requests.parse_send_message,
    ),
    EndpointSpec(
        "connect",
        "POST",
        "/{channel_id}/connect",
        "connect.request.json",
        by_channel=True,
        answers=((200, "connect.response.json"),),
        parse=requests.parse_connect,
    ),
    EndpointSpec(
        "disconnect", "DELETE", "/{channel_id}/disconnect", "disconnect.request.json", by_channel=True, parse=requests.parse_disconnect
    ),
    EndpointSpec(
        "create_chat",
        "POST",
        "/{scope_id}/chats",
        "create_chat.request.json",
        answers=((200, "create_chat.response.json"),),
        parse=requests.parse_create_chat,
    ),
    # No body: the page is in the query (requests.parse_history_page).
    EndpointSpec("history", "GET", "/{scope_id}/chats/{chat_id}/history", None, answers=((200, "history.response.json"), (204, None))),
    EndpointSpec("typing", "POST", "/{scope_id}/typing", "typing.request.json", answers=((204, None),), parse=requests.parse_typing),
    EndpointSpec("react", "POST", "/{scope_id}/react", "react.request.json", parse=requests.parse_react),
    EndpointSpec(
        "delivery_status",
        "POST",
        "/{scope_id}/{msgid}/delivery_status",
        "delivery_status.request.json",
        parse=requests.parse_delivery_status,
    ),
)

#: Every endpoint's name, as outage rules and the journal name them.
ENDPOINT_NAMES: tuple[str, ...] = tuple(spec.name for spec in ENDPOINTS)

#: The endpoints that predate amojo's request signing of autumn 2019 and still take a body-only signature.
LEGACY_SIGNED = frozenset({"connect", "disconnect"})


class _Routed(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


E = TypeVar("E", bound=_Routed)
H = TypeVar("H")
_Segments = tuple[str | None, ...]  # a route path split at "/"; None where a path parameter goes
_SEEN_PATHS = 1024
_PREFIX_SLASH = PREFIX + "/"


class Router(Generic[E, H]):
    """amojo's route table, matched segment by segment instead of by regular expression.

    It matches exactly what Starlette's ``Route("{PREFIX}/{scope_id}/…")`` patterns match (a
    parameter is one non-empty segment; routes are tried in order) but costs a ``split``
    instead of a regex search per route, which is most of what routing costs on the hot path.
    A path that matches with another method is not a match: Starlette answers that one (405).

    >>> router = Router([(EndpointSpec("history", "GET", "/{scope_id}/chats/{chat_id}/history", None), None)])
    >>> endpoint, params = router.match("GET", PREFIX + "/sc-1/chats/ch-9/history")
    >>> endpoint.name, params
    ('history', {'scope_id': 'sc-1', 'chat_id': 'ch-9'})
    >>> router.match("POST", PREFIX + "/sc-1/chats/ch-9/history") is None
    True
    """

    def __init__(self, routes: list[tuple[E, H]]) -> None:
        self._routes = routes
        # A client sends the same few paths over and over (one scope, a few chats): remember each
        # match. Bounded, so a client inventing paths cannot grow it; its parameters are shared
        # by every request to that path, so nobody may change them (nothing does).
        self._seen: dict[tuple[str, str], tuple[E, H, dict[str, str]]] = {}
        self._by_length: dict[int, list[tuple[_Segments, tuple[str, ...], E, H]]] = {}
        for endpoint, handler in routes:
            parts = endpoint.path.strip("/").split("/")
            segments: _Segments = tuple(None if p.startswith("{") else p for p in parts)
            names = tuple(p[1:-1] for p in parts if p.startswith("{"))
            self._by_length.setdefault(len(parts), []).append((segments, names, endpoint, handler))

    @property
    def entries(self) -> list[tuple[E, H]]:
        """The table: each endpoint with its handler, in matching order."""
        return list(self._routes)

    def match(self, method: str, path: str) -> tuple[E, dict[str, str]] | None:
        """The endpoint for ``method path`` and its path parameters, or None."""
        found = self._find(method, path)
        return None if found is None else (found[0], dict(found[2]))  # the caller's own copy

    def handler(self, method: str, path: str) -> tuple[H, dict[str, str]] | None:
        """The handler for ``method path`` and its path parameters (shared: do not change them), or None."""
        found = self._find(method, path)
        return None if found is None else (found[1], found[2])

    def _find(self, method: str, path: str) -> tuple[E, H, dict[str, str]] | None:
        found = self._seen.get((method, path))
        if found is None:
            found = self._match(method, path)
            if found is not None:
                if len(self._seen) >= _SEEN_PATHS:
                    self._seen.clear()
                self._seen[(method, path)] = found
        return found

    def _match(self, method: str, path: str) -> tuple[E, H, dict[str, str]] | None:
        if not path.startswith(_PREFIX_SLASH):
            return None
        parts = path[len(_PREFIX_SLASH) :].split("/")
        for segments, names, endpoint, handler in self._by_length.get(len(parts), ()):
            if endpoint.method != method:
                continue
            values = []
            for part, literal in zip(parts, segments, strict=True):
                if literal is None:
                    if not part:
                        break
                    values.append(part)
                elif part != literal:
                    break
            else:
                return endpoint, handler, dict(zip(names, values, strict=True))
        return None


_TABLE: Router[EndpointSpec, None] = Router([(spec, None) for spec in ENDPOINTS])


def endpoint_of(method: str, path: str) -> str | None:
    """The amojo endpoint a request is for (None: not an amojo endpoint)."""
    found = _TABLE.match(method, path)
    return None if found is None else found[0].name
