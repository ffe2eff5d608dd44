"""amoCRM's REST API v4 at the HTTP edge: bearer tokens, the rate limit, query parameters, problem+json.

Not the control plane: every ``/api/v4`` route needs ``Authorization: Bearer <access token>``
(``/oauth2/access_token`` hands them out). A request to ``{subdomain}.amocrm.ru|.amocrm.com|.kommo.com``
must carry a token of that account; on any other host (``127.0.0.1:port``) the token picks the account.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..domain import Account, Backend
from ..domain._accounts import CrmAccount
from ..domain._oauth import Token
from ..errors import AmojoError, CrmNotFound, CrmTooManyRequests, CrmUnauthorized, CrmValidation, InternalError, problem_body
from ..wire._endpoints import CRM_DOMAINS
from ..wire._limits import MAX_DEPTH, MAX_INTEGER, too_deep
from ._exchange import parse_json, read_body
from ._ratelimit import RateLimiter

__all__ = ["Rest", "RestCall", "hal_response", "path_int", "problem_response"]

_FILTER = re.compile(r"filter\[([a-z_]+)\](?:\[[^\]]*\])?")
_HAL = "application/hal+json"


def path_int(value: int | str, name: str = "id") -> int:
    """An id in a path (``{id:int}`` makes it one): a whole number up to 2^53, else 404 as for an unknown id."""
    if isinstance(value, int):
        if value > MAX_INTEGER:
            raise CrmNotFound(name, value)
        return value
    if not (value.isascii() and value.isdigit() and len(value) <= 16):
        raise CrmNotFound(name, value, hint="Ids in amoCRM's REST paths are whole numbers.")
    return int(value)


def problem_response(error: AmojoError) -> Response:
    return Response(orjson.dumps(problem_body(error)), status_code=error.status, media_type="application/problem+json")


def hal_response(data: Any, status: int = 200) -> Response:
    """A HAL answer; ``None`` is amoCRM's empty list: 204 with no body."""
    if data is None:
        return Response(status_code=204)
    return Response(orjson.dumps(data), status_code=status, media_type=_HAL)


@dataclass(slots=True)
class RestCall:
    """One authorised REST request: its token, account and the query parameters amoCRM reads."""

    request: Request
    token: Token
    crm: CrmAccount
    account: Account
    base: str

    @property
    def account_id(self) -> str:
        return self.crm.amojo_id

    @property
    def with_(self) -> set[str]:
        raw = self.request.query_params.get("with", "")
        return {part.strip() for part in raw.split(",") if part.strip()}

    def page(self) -> tuple[int, int]:
        """``page`` (from 1) and ``limit`` (1..250, default 50), or 400 naming the parameter."""
        return self._number("page", 1, 1, 10**9), self._number("limit", 50, 1, 250)

    def _number(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and low <= int(raw) <= high):
            raise CrmValidation(
                [("0", "InvalidValue", name, f"{name} must be a whole number from {low} to {high}.")], hint=f"e.g. ?{name}={default}"
            )
        return int(raw)

    def filters(self) -> dict[str, list[str]]:
        """``filter[name]=v``, ``filter[name][]=v`` and ``filter[name][0]=v`` as name -> values."""
        found: dict[str, list[str]] = {}
        for key, value in self.request.query_params.multi_items():
            match = _FILTER.fullmatch(key)
            if match:
                found.setdefault(match.group(1), []).extend(v for v in value.split(",") if v)
        return found

    def ints(self, name: str, values: list[str]) -> set[int]:
        if not all(v.isascii() and v.isdigit() and len(v) <= 16 for v in values):
            raise CrmValidation([("0", "InvalidType", name, f"{name} takes whole numbers.")])
        return {int(v) for v in values}

    def query_list(self, name: str) -> list[str]:
        """``name=v``, ``name[]=v`` and ``name[0]=v`` values."""
        return [v for k, v in self.request.query_params.multi_items() if k == name or (k.startswith(name + "[") and k.endswith("]"))]

    async def body(self, *, optional: bool = False) -> Any:
        """The JSON body; 400 in amoCRM's shape when it is not JSON or nests deeper than the fake can store.

        ``optional``: an empty body is ``{}`` (accept, close).
        """
        raw = await read_body(self.request, self.request.app.state.config.body_limit)
        if optional and not raw.strip():
            return {}
        data = parse_json(raw)
        deep = too_deep(data, raw)
        if deep is not None:
            path = ".".join(str(p) for p in deep)
            raise CrmValidation([("0", "TooDeep", path, f"Nests deeper than {MAX_DEPTH} levels (mock-amojo's limit).")])
        return data


class Rest:
    """The REST API's gate: who is calling (bearer token, account, host) and how often (rate limit)."""

    def __init__(self, backend: Backend, limiter: RateLimiter) -> None:
        self.backend = backend
        self.limiter = limiter

    def call(self, request: Request) -> RestCall:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise CrmUnauthorized(
                "No access token." if not header else "The Authorization header is not 'Bearer <access token>'.",
                hint="amoCRM's REST API takes 'Authorization: Bearer <access_token>' from POST /oauth2/access_token "
                "(in tests: amojo.crm.token()).",
            )
        token = self.backend.authenticate(value.strip())
        crm = self.backend.crm_account(token.account_id)
        host = request.headers.get("host", "").split(":", 1)[0].lower()
        subdomain = next((host[: -len(d) - 1] for d in CRM_DOMAINS if host.endswith("." + d)), None)
        # amojo's own host (amojo.amocrm.com) names no account: the token does, as on 127.0.0.1.
        if subdomain is not None and subdomain != "amojo" and subdomain != crm.subdomain:
            raise CrmUnauthorized(
                f"The token is for account {crm.subdomain!r}, not {subdomain!r}.",
                hint=f"Call https://{crm.subdomain}.amocrm.ru (the referer the install redirect carried) with this token.",
            )
        if not self.limiter.allow(token.client_id):
            raise CrmTooManyRequests(
                f"More than {self.limiter.per_second} requests in one second from this integration.",
                hint="amoCRM allows 7 requests per second per integration; slow down and retry (switch off: crm_rate_limit=0).",
            )
        account = self.backend.account(crm.amojo_id)
        assert account is not None
        return RestCall(request, token, crm, account, f"{request.url.scheme}://{request.headers.get('host', 'localhost')}")


Handler = Callable[[RestCall], Awaitable[Response]]


def guarded(rest: Rest, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route: authorise, run, answer every refusal as problem+json (a bug is a 500 the test is told of)."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        try:
            return await handler(rest.call(request))
        except AmojoError as error:
            return problem_response(error)
        except Exception as error:  # a bug in the fake: the test hears of it, the client gets JSON
            rest.backend.server_errors.append(error)
            return problem_response(
                InternalError(f"mock-amojo failed: {type(error).__name__}", hint="A bug in mock-amojo; please report it.")
            )

    return route
