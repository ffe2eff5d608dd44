"""amoCRM's REST side loads on the first request that could reach it, and answers as if it had always been there.

A differential test: one corpus of REST, OAuth and integration requests (known and unknown paths, wrong
methods, bad bodies, a rate-limited burst), sent through the guard to an app whose REST side is still
unbuilt and to one whose REST side was built before its first request; every answer (status, headers,
body), the journal and the state must be the same.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route, Router

from mock_amojo import Config, create_app
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.http._app import MockAmojoApp
from mock_amojo.http._guard import guarded
from mock_amojo.http._lazy_routes import LazyRoutes, expand_routes
from mock_amojo.http._rest_side import PREFIXES
from mock_amojo.testing._inprocess import SyncASGITransport

Answer = tuple[int, list[tuple[str, str]], bytes]
#: One request: method, path, headers, body. ``{token}``, ``{code}`` and ``{uid}`` are filled in from earlier answers.
Step = tuple[str, str, dict[str, str], bytes | None]

_JSON = {"content-type": "application/json"}
_AUTH = {"authorization": "Bearer {token}"}
_AUTH_JSON = {**_AUTH, **_JSON}
_FORM = {"content-type": "application/x-www-form-urlencoded"}
_DEEP = b"[" * 200 + b"]" * 200


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


CORPUS: list[Step] = [
    # before any token: unknown paths, wrong methods, refused bodies
    ("GET", "/api/v4/nope", {}, None),
    ("GET", "/api/v4", {}, None),
    ("GET", "/api/v4/", {}, None),
    ("GET", "/api/v4/leads/abc", {}, None),
    ("PUT", "/api/v4/leads", {}, None),
    ("DELETE", "/api/v4/account", {}, None),
    ("OPTIONS", "/api/v4/sources/5", {}, None),
    ("GET", "/oauth2/access_token", {}, None),
    ("GET", "/oauth2/nope", {}, None),
    ("POST", "/oauth2/access_token", _FORM, b"client_id=x&grant_type=password"),
    ("POST", "/oauth2/access_token", _JSON, b"[]"),
    ("POST", "/oauth2/access_token", _JSON, b"{not json"),
    ("GET", "/api/v4/account", {}, None),
    ("POST", "/v2/origin/custom/nope/connect", _JSON, b"{}"),  # amojo's side: a journal entry
    ("GET", "/api/v4/account", {"authorization": "Basic abc"}, None),
    ("GET", "/api/v4/account", {"authorization": "Bearer unknown"}, None),
    # the control plane's integrations, a token, an install and its code exchanged
    ("GET", "/__mock__/integrations", {}, None),
    ("PUT", "/__mock__/integrations", _JSON, b"{}"),
    ("POST", "/__mock__/integrations", _JSON, _json({"redirect_uri": 5})),
    ("POST", "/__mock__/integrations", {"content-type": "text/plain"}, b"{}"),
    ("POST", "/__mock__/integrations", _JSON, _json({"redirect_uri": "https://i.test/oauth", "client_id": "c-1", "client_secret": "s"})),
    ("GET", "/__mock__/integrations", {}, None),
    ("POST", "/__mock__/integrations/nope/token", _JSON, b"{}"),
    ("GET", "/__mock__/integrations/c-1/token", {}, None),
    ("POST", "/__mock__/integrations/c-1/token", _JSON, b"{}"),
    ("POST", "/__mock__/integrations/c-1/install", _JSON, _json({"state": "s-7", "deliver": False})),
    ("POST", "/oauth2/access_token", _FORM, b"client_id=c-1&client_secret=s&grant_type=authorization_code&code={code}"),
    ("POST", "/oauth2/access_token", _FORM, b"client_id=c-1&client_secret=s&grant_type=authorization_code&code={code}"),
    ("POST", "/__mock__/crm/subdomain", _JSON, _json({"subdomain": "shop"})),
    ("POST", "/__mock__/crm/subdomain", _JSON, _json({"subdomain": "Not A Subdomain"})),
    ("GET", "/__mock__/crm/nope", {}, None),
    # the REST API with the token
    ("GET", "/api/v4/account?with=amojo_id,amojo_rights", _AUTH, None),
    ("HEAD", "/api/v4/account", _AUTH, None),
    ("GET", "/api/v4/account", {**_AUTH, "host": "other.amocrm.ru"}, None),
    ("GET", "/api/v4/account", {**_AUTH, "host": "shop.kommo.com"}, None),
    ("GET", "/api/v4/users?with=amojo_id", _AUTH, None),
    ("GET", "/api/v4/users/99999999999999999999", _AUTH, None),
    ("GET", "/api/v4/leads/pipelines", _AUTH, None),
    ("POST", "/api/v4/leads/pipelines", _AUTH_JSON, b"not json"),
    ("POST", "/api/v4/leads/pipelines", _AUTH_JSON, _json([{"name": "Sales"}])),
    ("GET", "/api/v4/leads/pipelines/1/statuses/2", _AUTH, None),
    ("POST", "/api/v4/leads", _AUTH_JSON, _json([{"name": "Deal", "price": 5}])),
    ("POST", "/api/v4/leads", _AUTH_JSON, _json([{"price": "five"}, {"name": 7}])),
    ("POST", "/api/v4/leads", _AUTH_JSON, _DEEP),
    ("PATCH", "/api/v4/leads/1", _AUTH_JSON, _json([{"name": "x"}])),
    ("PATCH", "/api/v4/leads", _AUTH_JSON, _json([{"id": 1, "name": "Renamed"}])),
    ("GET", "/api/v4/leads?filter[id]=abc", _AUTH, None),
    ("GET", "/api/v4/leads?page=0", _AUTH, None),
    ("GET", "/api/v4/leads?with=contacts,source&limit=1", _AUTH, None),
    ("GET", "/api/v4/leads/unsorted/summary", _AUTH, None),
    ("GET", "/api/v4/leads/unsorted", _AUTH, None),
    ("GET", "/api/v4/leads/unsorted?filter[category][]=fax", _AUTH, None),
    ("GET", "/api/v4/leads/unsorted/xyz", _AUTH, None),
    ("POST", "/api/v4/leads/unsorted/xyz/accept", _AUTH_JSON, b""),
    ("POST", "/api/v4/contacts", _AUTH_JSON, _json([{"name": "Ann"}])),
    ("GET", "/api/v4/contacts?with=leads&query=ann", _AUTH, None),
    ("GET", "/api/v4/contacts/chats", _AUTH, None),
    ("POST", "/api/v4/sources", _AUTH_JSON, _json([{"name": "Shop", "external_id": "e-1"}])),
    ("GET", "/api/v4/sources?filter[external_id][]=e-1", _AUTH, None),
    ("DELETE", "/api/v4/sources", _AUTH_JSON, b"{}"),
    ("GET", "/api/v4/talks/5", _AUTH, None),
    ("POST", "/api/v4/talks/5/close", _AUTH_JSON, b""),
    ("GET", "/__mock__/state", {}, None),
    ("GET", "/__mock__/journal", {}, None),
]
#: Sent with the rate limiter's clock frozen: the eighth request within one second is refused.
BURST: list[Step] = [("GET", "/api/v4/account", _AUTH, None)] * 9


@pytest.fixture
def fresh_secrets(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Tokens and codes drawn from a counter that :func:`_make` restarts: two apps hand out the same ones."""
    counter = itertools.count()
    monkeypatch.setattr(secrets, "token_urlsafe", lambda size=32: f"tok{next(counter):04d}")

    def restart() -> None:
        nonlocal counter
        counter = itertools.count()

    return restart


def _make(*, built: bool, restart: Callable[[], None]) -> MockAmojoApp:
    """An app on a manual clock and sequential ids.

    ``built``: its REST side made before any request and its routes put in the router's list in the group's
    place, as every app had them before the side loaded lazily.
    """
    restart()
    app = create_app(Config(), clock=ManualClock(1_764_000_000.0), ids=SequentialIds())
    if built:
        app.router.routes[:] = list(expand_routes(app.router.routes))
        assert not any(isinstance(route, LazyRoutes) for route in app.routes)
    assert app.state.crm_rest.route.loaded is built
    return app


def _send(http: httpx.Client, step: Step, found: dict[str, str]) -> Answer:
    method, path, headers, body = step
    filled = {name: value.format_map({"token": "none", **found}) for name, value in headers.items()}
    content = body.replace(b"{code}", found.get("code", "").encode()) if body is not None else None
    answer = http.request(method, path, headers=filled, content=content)
    if answer.headers.get("content-type", "").startswith("application/json") and answer.content:
        data = answer.json()
        if isinstance(data, dict):
            found.update({key: str(data[key]) for key in ("code",) if key in data})
            if "access_token" in data and "token" not in found:
                found["token"] = str(data["access_token"])
    if path == "/__mock__/journal":  # an entry's duration is measured: the one thing two runs do not share
        timed = re.sub(rb'"duration_ms":[0-9.e-]+', b'"duration_ms":0', answer.content)
        return answer.status_code, sorted(h for h in answer.headers.multi_items() if h[0] != "content-length"), timed
    return answer.status_code, sorted(answer.headers.multi_items()), answer.content


def _run(app: MockAmojoApp, steps: list[Step], burst: list[Step] | None = None) -> list[Answer]:
    side = app.state.crm_rest
    seconds = itertools.count(0.0, 2.0)
    side.limiter.clock = lambda: next(seconds)  # each request in a second of its own: none limited
    found: dict[str, str] = {}
    with httpx.Client(transport=SyncASGITransport(guarded(app)), base_url="http://127.0.0.1:8080") as http:
        answers = [_send(http, step, found) for step in steps]
        side.limiter.clock = lambda: 1_000_000.0
        answers += [_send(http, step, found) for step in burst or []]
    app.state.webhooks.close()
    return answers


def test_the_corpus_covers_what_the_rest_side_answers(fresh_secrets: Callable[[], None]) -> None:
    answers = _run(_make(built=True, restart=fresh_secrets), CORPUS, BURST)
    statuses = {status for status, _, _ in answers}
    assert {200, 201, 204, 400, 401, 404, 405, 415, 429} <= statuses
    assert [status for status, _, _ in answers[-len(BURST) :]] == [200] * 7 + [429] * 2


def test_a_lazily_built_rest_side_answers_as_one_built_at_start(fresh_secrets: Callable[[], None]) -> None:
    lazy = _run(_make(built=False, restart=fresh_secrets), CORPUS, BURST)
    eager = _run(_make(built=True, restart=fresh_secrets), CORPUS, BURST)
    assert len(lazy) == len(eager)
    for step, got, want in zip(CORPUS + BURST, lazy, eager, strict=True):
        assert got == want, step


@pytest.mark.parametrize("step", CORPUS[:15], ids=lambda step: f"{step[0]} {step[1]}")
def test_each_kind_of_first_request_answers_as_with_the_side_built(step: Step, fresh_secrets: Callable[[], None]) -> None:
    # The request that loads the REST side is answered by it: a 404, a 405 with its Allow, a refused body.
    lazy = _run(_make(built=False, restart=fresh_secrets), [step])
    eager = _run(_make(built=True, restart=fresh_secrets), [step])
    assert lazy == eager


def test_under_a_root_path_the_first_request_loads_the_side_as_well(fresh_secrets: Callable[[], None]) -> None:
    # A route matches the path less the root path: the prefix is looked for anywhere in the path.
    answers = []
    for built in (False, True):
        app = _make(built=built, restart=fresh_secrets)
        transport = SyncASGITransport(app, root_path="/mock")
        with httpx.Client(transport=transport, base_url="http://127.0.0.1:8080/mock") as http:
            answer = http.put("/api/v4/leads")
            answers.append((answer.status_code, answer.headers.get("allow"), answer.content))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (405, "GET, HEAD, POST, PATCH")


def test_the_openapi_document_is_the_same_lazily_built(fresh_secrets: Callable[[], None]) -> None:
    documents = []
    for built in (False, True):
        app = _make(built=built, restart=fresh_secrets)
        with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8080") as http:
            documents.append(http.get("/__mock__/openapi.json").content)
    lazy, eager = (json.loads(document) for document in documents)
    assert lazy == eager
    assert "/api/v4/leads/{id}" in lazy["paths"] and "/__mock__/integrations" in lazy["paths"]


def test_other_requests_leave_the_rest_side_unbuilt(fresh_secrets: Callable[[], None]) -> None:
    app = _make(built=False, restart=fresh_secrets)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8080") as http:
        assert http.get("/__mock__/health").status_code == 200
        assert http.patch("/__mock__/faults").status_code == 405  # its Allow header lists the methods without the REST side
        assert http.get("/v2/origin/custom/nope").status_code in (404, 405)
        assert http.get("/nothing/here").status_code == 404
        assert http.get("/__mock__/state").status_code == 200
        assert app.state.crm_rest.route.loaded is False
        assert http.get("/api/v4/account").status_code == 401
    assert app.state.crm_rest.route.loaded is True


def test_every_rest_route_is_inside_the_prefixes_that_load_it() -> None:
    app = create_app(Config())
    routes = list(app.state.crm_rest.route.routes)
    app.state.webhooks.close()
    assert routes and all(isinstance(route, Route) and route.path.startswith(PREFIXES) for route in routes)
    stray = LazyRoutes(("/api/",), lambda: [Route("/elsewhere", lambda request: None)])
    with pytest.raises(RuntimeError, match="/elsewhere"):
        _ = stray.routes


def test_routes_keep_their_order_and_names_once_built() -> None:
    app = create_app(Config())
    flat = list(expand_routes(app.routes))
    app.state.webhooks.close()
    paths = [route.path for route in flat if isinstance(route, Route)]
    assert paths.index("/__mock__/faults") < paths.index("/__mock__/integrations") < paths.index("/oauth2/access_token")
    assert paths.index("/api/v4/leads/unsorted") < paths.index("/api/v4/leads/{id:int}") < paths.index("/__mock__/ui")
    assert app.url_path_for("crm_lead", id=7) == "/api/v4/leads/7"
    with pytest.raises(NoMatchFound):
        app.url_path_for("no_such_route")


def test_the_first_build_runs_once_when_threads_race_to_it() -> None:
    builds: list[int] = []
    arrived = threading.Barrier(8)

    def build() -> list[Route]:
        builds.append(1)
        time.sleep(0.05)  # a wide window: without the lock another thread would build too
        return [Route("/api/thing", lambda request: None, methods=["GET"])]

    group = LazyRoutes(("/api/",), build)
    seen: list[list[Route]] = []

    def first_request() -> None:
        arrived.wait()
        match, _ = group.matches({"type": "http", "path": "/api/thing", "method": "GET", "path_params": {}})
        assert match is Match.FULL
        seen.append(group.routes)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == [1]
    assert len(seen) == 8 and all(routes is seen[0] for routes in seen)


def test_a_route_the_group_chose_is_the_one_the_scope_names() -> None:
    seen: list[Any] = []

    async def endpoint(request: Request) -> Response:
        seen.append(request.scope["route"])
        return Response(status_code=204)

    inner = Route("/api/thing", endpoint)
    routes: list[BaseRoute] = [LazyRoutes(("/api/",), lambda: [inner])]
    with httpx.Client(transport=SyncASGITransport(Router(routes=routes)), base_url="http://127.0.0.1") as http:
        assert http.get("/api/thing").status_code == 204
    assert seen == [inner]
