"""The API's own router (ApiRouter) and the app's fast path: same answers as Starlette's routing."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.middleware import Middleware
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_amojo import Config, create_app
from mock_amojo.http._api import PREFIX, ApiRouter, api_router
from mock_amojo.http._lazy_routes import expand_routes
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.wire._validation import load_schemas

from .conftest import Fake, text_payload

_ROUTER: ApiRouter = api_router(create_app(Config()).state.backend, Config(), load_schemas())
_SEGMENTS = st.sampled_from(["connect", "disconnect", "chats", "history", "typing", "react", "delivery_status", "ch_acc", "x", "", "a b"])


def _starlette_match(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """What Starlette's router picks from the same table: the first route that matches path and method."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in _ROUTER.routes():
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route.name, child["path_params"]
    return None


@given(method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]), segments=st.lists(_SEGMENTS, min_size=0, max_size=5))
def test_router_matches_what_starlette_matches(method: str, segments: list[str]) -> None:
    path = PREFIX + "/" + "/".join(segments)
    found = _ROUTER.match(method, path)
    expected = _starlette_match(method, path)
    if method == "HEAD" and expected is not None:
        # Starlette serves HEAD on GET routes; the fast path leaves HEAD to it (the app still answers it).
        assert found is None
        return
    assert (None if found is None else (found[0].name, found[1])) == expected


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("POST", "/ch_acc", "send_message", {"scope_id": "ch_acc"}),
        ("POST", "/ch/connect", "connect", {"channel_id": "ch"}),
        ("DELETE", "/ch/disconnect", "disconnect", {"channel_id": "ch"}),
        ("POST", "/ch_acc/chats", "create_chat", {"scope_id": "ch_acc"}),
        ("GET", "/ch_acc/chats/c-1/history", "history", {"scope_id": "ch_acc", "chat_id": "c-1"}),
        ("POST", "/ch_acc/typing", "typing", {"scope_id": "ch_acc"}),
        ("POST", "/ch_acc/react", "react", {"scope_id": "ch_acc"}),
        ("POST", "/ch_acc/m-1/delivery_status", "delivery_status", {"scope_id": "ch_acc", "msgid": "m-1"}),
    ],
)
def test_router_finds_every_endpoint(method: str, path: str, name: str, params: dict[str, str]) -> None:
    found = _ROUTER.match(method, PREFIX + path)
    assert found is not None and (found[0].name, found[1]) == (name, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ch_acc"),
        ("POST", "/ch_acc/"),
        ("POST", "//chats"),
        ("POST", ""),
        ("GET", "/__mock__/health"),
        ("POST", "/v2/origin/customx/a"),
    ],
)
def test_router_leaves_the_rest_to_starlette(method: str, path: str) -> None:
    assert _ROUTER.match(method, path if path.startswith("/v2") else PREFIX + path) is None


def test_fast_path_and_starlette_give_the_same_refusals(connected: Fake) -> None:
    # 405 (with Allow) and 404 come from Starlette's router, JSON in amojo's shape, as before.
    wrong_method = connected.http.get(f"{PREFIX}/{connected.scope_id}")
    assert wrong_method.status_code == 405 and wrong_method.json()["error_type"] == "METHOD_NOT_ALLOWED"
    assert "POST" in wrong_method.headers["allow"]
    trailing = connected.amojo.request("POST", f"{connected.scope_id}/", text_payload("m-1"))
    assert trailing.status_code == 404 and trailing.json()["error_type"] == "ROUTE_NOT_FOUND"
    assert connected.amojo.send_message(text_payload("m-1")).status_code == 200


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def test_every_405_allows_exactly_the_methods_its_path_serves() -> None:
    # Issue #14 item 6: Starlette named only the first route of a path (PATCH /__mock__/faults: "HEAD, GET").
    app = create_app(Config())
    served: dict[str, set[str]] = {}
    listed = create_app(Config())  # its REST side built to list its routes; `app`'s loads on its first REST request
    for route in expand_routes(listed.routes):
        assert isinstance(route, Route)
        served.setdefault(route.path, set()).update(route.methods or ())
    refusals = 0
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        for template, methods in served.items():
            path = re.sub(r"\{[^}]+\}", "p1", re.sub(r"\{\w+:int\}", "1", template))
            for method in sorted(_METHODS - methods):
                answer = http.request(method, path)
                assert answer.status_code == 405, (method, path)
                assert set(answer.headers["allow"].split(", ")) == methods, (method, path)
                if method != "HEAD":
                    hint = answer.json()["hint"]
                    assert ("amojo-api.md" in hint) == template.startswith(PREFIX + "/"), (path, hint)
                refusals += 1
    app.state.webhooks.close()
    listed.state.webhooks.close()
    assert refusals > len(served)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/__mock__/faults", {"GET", "HEAD", "PUT", "POST", "DELETE"}),
        ("OPTIONS", "/__mock__/channels", {"GET", "HEAD", "POST"}),
        ("OPTIONS", "/__mock__/accounts", {"GET", "HEAD", "POST"}),
    ],
)
def test_405_on_a_path_served_by_several_routes_names_them_all(fake: Fake, method: str, path: str, allow: set[str]) -> None:
    answer = fake.http.request(method, path)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == allow
    assert "amojo-api.md" not in answer.json()["hint"]


class _Tagging:
    """A user's middleware: marks every answer, so we see whether it ran."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tagged", b"1")]
            await send(message)

        await self.app(scope, receive, tagged)


def test_middleware_a_user_adds_sees_amojo_requests_too() -> None:
    config = Config()
    app = create_app(config)
    app.user_middleware.insert(0, Middleware(_Tagging))
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        response = amojo.connect(config.account_id)
    assert response.status_code == 200 and response.headers.get("x-tagged") == "1"


def test_an_app_mounted_under_a_root_path_still_answers() -> None:
    # Behind a prefix (root_path), routing is Starlette's: it strips the prefix before matching.
    config = Config()
    app = create_app(config)
    with httpx.Client(transport=SyncASGITransport(app, root_path="/amojo"), base_url="https://amojo.amocrm.com/amojo") as http:
        AmojoClient(http, config.channel_id, config.channel_secret).connect(config.account_id)
        assert http.get("/__mock__/health").status_code == 200
    [entry] = app.state.backend.journal.entries()
    assert entry["endpoint"] == "connect" and entry["path_params"] == {"channel_id": config.channel_id}


def test_remembered_matches_stay_bounded_and_private() -> None:
    router = _ROUTER
    for n in range(5000):  # a client inventing a new scope id on every request
        assert router.match("POST", f"{PREFIX}/scope-{n}") is not None
    assert len(router._seen) <= 1024
    endpoint, params = router.match("POST", f"{PREFIX}/scope-1") or (None, {})
    params["scope_id"] = "changed by the caller"
    assert router.match("POST", f"{PREFIX}/scope-1") == (endpoint, {"scope_id": "scope-1"})


@pytest.mark.parametrize(("method", "tail"), [("GET", ""), ("GET", "/x/y/z")], ids=["405", "404"])
def test_a_secret_in_an_unrouted_path_is_not_repeated_back(fake: Fake, method: str, tail: str) -> None:
    # 404 and 405 answers name the path; a client that put the channel secret in it must not get it back.
    secret = fake.config.channel_secret
    response = fake.http.request(method, f"/v2/origin/custom/{secret}{tail}")
    assert response.status_code in (404, 405)
    assert secret not in response.text
    assert "redacted" in response.json()["error_description"]
