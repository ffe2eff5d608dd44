"""Who may drive a served fake: the Host, Origin, media-type and token checks in front of the control plane and console.

Every check lives here, in one ASGI middleware the server puts in front of the app
(:func:`guarded`; ``mock-amojo serve`` and :class:`~mock_amojo.serve.ServerThread` do). It looks at
``/__mock__/…`` (control plane and console) and ``/``; every other path — amojo's API under
``/v2/origin/custom/``, and any API with credentials of its own (a CRM REST API's OAuth tokens) —
passes after one prefix check, since a signature or token already says who is calling. In-process
transports call the app itself: no socket, so no web page and no other machine can reach them.

In the order they run:

- **Host** (DNS rebinding): loopback names (``localhost``, ``*.localhost``), IP addresses (a rebinding
  page has a name, never an address), amojo's own host names, the bound host and ``allowed_hosts``; others get 403.
- **Token**, with ``control_token``: ``Authorization: Bearer TOKEN``, or the console's session cookie,
  which a browser gets by opening any guarded page with ``?token=TOKEN`` once; else 401.
- **Origin**, on state-changing methods: a browser's ``Sec-Fetch-Site`` must say ``same-origin``, or (older
  browsers) its ``Origin`` match the Host or a name in ``allowed_hosts`` (as Go's ``net/http.CrossOriginProtection``);
  clients that send neither (curl, test code) pass; else 403.
- **JSON**, on state-changing methods: a body comes with ``Content-Type: application/json``, which
  no web page can send to another origin without a CORS preflight; else 415.

>>> from mock_amojo import Config, create_app
>>> from mock_amojo.testing._inprocess import SyncASGITransport
>>> import httpx
>>> app = guarded(create_app(Config()))
>>> with httpx.Client(transport=SyncASGITransport(app), base_url="http://127.0.0.1:8080") as http:
...     http.get("/__mock__/state", headers={"Host": "evil.example:8080"}).json()["error_type"]
'HOST_NOT_ALLOWED'
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from ..config import Config
from ..errors import AmojoError, ControlMediaType, ControlTokenInvalid, ControlTokenMissing, CrossOriginRefused, HostNotAllowed
from ..wire._endpoints import AMOJO_HOSTS
from ._app import _wants_html
from ._control import CONTROL_PREFIX
from ._exchange import error_response

__all__ = ["Guard", "GuardPolicy", "banner_lines", "guarded", "is_loopback"]

#: Methods that change nothing (Fetch's safe methods): only the Host and the token are checked on them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WANTED = frozenset(
    {b"host", b"origin", b"sec-fetch-site", b"content-type", b"content-length", b"transfer-encoding", b"authorization", b"accept"}
)
_SESSION_LABEL = b"mock-amojo console session"
_HOW_TO_AUTHENTICATE = (
    "Send 'Authorization: Bearer TOKEN' with the token the fake was started with (--control-token, MOCK_AMOJO_CONTROL_TOKEN, "
    "control_token in the config file; `--control-token auto` prints it at start-up). In a browser, open /__mock__/ui?token=TOKEN once."
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("app.localhost"), is_loopback("0.0.0.0"), is_loopback("mock-amojo")
    (True, True, False, False)
    """
    host = host.lower().removeprefix("[").removesuffix("]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress  # here, not at the top: a server's start-up does without it

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=256)
def _local_or_address(name: str) -> bool:
    """Whether ``name`` is a loopback name or any IP address; cached: a server sees a handful of Host names."""
    if is_loopback(name):
        return True
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _hostname(host: str) -> str:
    """The name in a Host header or an Origin's authority, without port, brackets or a trailing dot, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


class GuardPolicy(msgspec.Struct, frozen=True):
    """What :class:`Guard` admits, from a :class:`~mock_amojo.config.Config`."""

    names: frozenset[str]
    suffixes: tuple[str, ...]
    bound: frozenset[str]
    any_host: bool
    token: bytes | None
    session: str | None

    @classmethod
    def from_config(cls, config: Config, host: str | None = None) -> GuardPolicy:
        allowed = [_hostname(h) for h in config.allowed_hosts if h != "*" and not h.startswith(".")]
        suffixes = tuple(h for h in config.allowed_hosts if h.startswith("."))
        # amojo's own names too: only amoCRM can point them anywhere (a --tls fake is reached under them), so no page can rebind them.
        bound = {_hostname(h) for h in (config.host, host, *AMOJO_HOSTS) if h}
        token = config.control_token.encode() if config.control_token else None
        # The cookie holds a digest of the token, not the token: a stolen cookie jar does not give the header away.
        session = hmac.new(token, _SESSION_LABEL, hashlib.sha256).hexdigest() if token else None
        return cls(frozenset(allowed), suffixes, frozenset(bound), "*" in config.allowed_hosts, token, session)

    def explicit(self, name: str) -> bool:
        """Whether ``allowed_hosts`` admits ``name`` (by name or as a subdomain of a ``.suffix``)."""
        return name in self.names or any(name == s[1:] or name.endswith(s) for s in self.suffixes)

    def host_allowed(self, name: str) -> bool:
        # No Host at all is no browser; an address cannot be rebound (Vite and webpack-dev-server admit them too).
        return self.any_host or not name or _local_or_address(name) or name in self.bound or self.explicit(name)

    def token_matches(self, sent: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(sent.encode("latin-1"), self.token)

    def session_matches(self, sent: str) -> bool:
        assert self.session is not None
        return hmac.compare_digest(sent.encode("latin-1"), self.session.encode())


class Guard:
    """ASGI middleware refusing what :class:`GuardPolicy` does not admit on the control plane and console."""

    def __init__(self, app: Any, policy: GuardPolicy) -> None:
        self.app = app
        self.policy = policy
        self.state = getattr(app, "state", None)
        # The inline protocol answers amojo's API through this (never a guarded path): no extra call for it.
        self.fast_route = getattr(app, "fast_route", None)

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"].startswith(CONTROL_PREFIX) or scope["path"] == "/"):
            refusal = self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: ASGIScope) -> Response | None:
        """The answer refusing this request, or None to let it through."""
        headers: dict[bytes, str] = {}
        cookies: list[str] = []
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookies.append(value.decode("latin-1"))
            elif name in _WANTED and name not in headers:
                headers[name] = value.decode("latin-1")
        host = headers.get(b"host", "")
        name = _hostname(host)
        if not self.policy.host_allowed(name):
            return error_response(_host_refused(host[:200], name[:200]))
        if self.policy.token is not None:
            denied = self._unauthorized(scope, headers, "; ".join(cookies))
            if denied is not None:
                return denied
        method: str = scope["method"]
        if method in SAFE_METHODS:
            return None
        crossing = self._cross_origin(headers, host)
        if crossing is not None:
            return error_response(
                CrossOriginRefused(
                    f"{method} from a web page of another origin ({crossing[:200]}) is refused: pages may not change the fake's state.",
                    hint="Drive the fake from its console, curl or test code (they send no Origin). "
                    "If the page is this fake's own, served under another name, start it with --allowed-hosts NAME.",
                    detail={"origin": headers.get(b"origin"), "sec_fetch_site": headers.get(b"sec-fetch-site")},
                )
            )
        kind = headers.get(b"content-type")
        if kind is not None and kind.split(";", 1)[0].strip().lower() == "application/json":
            return None
        if kind is None and headers.get(b"content-length", "0") == "0" and b"transfer-encoding" not in headers:
            return None  # no body (curl -X POST …/reset): nothing a form could have sent
        got = f"Content-Type {kind[:100]!r}" if kind is not None else "a body without Content-Type"
        return error_response(
            ControlMediaType(
                f"{method} {scope['path']} takes JSON sent with Content-Type: application/json; got {got}.",
                hint="Send the body as JSON with 'Content-Type: application/json' (curl -H; httpx json=). Forms and text/plain are "
                "refused because any web page can send them; a JSON request from another origin needs a CORS preflight the fake never grants.",
                detail={"content_type": kind},
            )
        )

    def _cross_origin(self, headers: dict[bytes, str], host: str) -> str | None:
        """What shows a browser request came from another origin, or None (same origin, or no browser)."""
        origin = headers.get(b"origin")
        site = headers.get(b"sec-fetch-site")
        if site is not None:
            return None if site in ("same-origin", "none") else f"Sec-Fetch-Site: {site}"
        if origin is None:
            return None
        authority = _authority(origin)
        # A browser without Sec-Fetch-Site behind a proxy that rewrites Host: the page's name, if allowed_hosts names it
        # exactly (a '.suffix' would admit pages anyone can publish under it, e.g. any tunnel's subdomain).
        if authority and (authority == host.strip().lower() or _hostname(authority) in self.policy.names):
            return None
        return f"Origin: {origin}"

    def _unauthorized(self, scope: ASGIScope, headers: dict[bytes, str], cookies: str) -> Response | None:
        """None if the request carries the token (header or session cookie); else the 401, or the browser's hand-off."""
        policy = self.policy
        error: AmojoError
        authorization = headers.get(b"authorization")
        if authorization is not None:
            scheme, _, sent = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and policy.token_matches(sent.strip()):
                return None
            error = ControlTokenInvalid("The Authorization header does not carry this fake's control token.", hint=_HOW_TO_AUTHENTICATE)
            return self._denied(scope, headers, error)
        cookie = _cookie_name(scope)
        for part in cookies.split(";"):
            key, _, value = part.strip().partition("=")
            if key == cookie and policy.session_matches(value):
                return None
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = [value for key, value in query if key == "token"]
        if offered and scope["method"] == "GET":
            if policy.token_matches(offered[-1]):
                # The token leaves the address bar at once; the session cookie carries it from here on.
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
                secure = scope.get("scheme") == "https"
                response.set_cookie(cookie, policy.session or "", path="/", httponly=True, samesite="strict", secure=secure)
                return response
            return self._denied(
                scope, headers, ControlTokenInvalid("The token given is not this fake's control token.", hint=_HOW_TO_AUTHENTICATE)
            )
        error = ControlTokenMissing("This fake runs with a control token; the request carries none.", hint=_HOW_TO_AUTHENTICATE)
        return self._denied(scope, headers, error)

    def _denied(self, scope: ASGIScope, headers: dict[bytes, str], error: AmojoError) -> Response:
        challenge = {"WWW-Authenticate": 'Bearer realm="mock-amojo"'}
        if scope["method"] == "GET" and _wants_html(headers.get(b"accept", "")):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            return HTMLResponse(_login_page(error, query), status_code=401, headers={**challenge, **_PAGE_HEADERS})
        response = error_response(error)
        response.headers.update(challenge)
        return response


def _authority(origin: str) -> str | None:
    """``host[:port]`` of an Origin header, lower case; None for ``null`` or anything unparsable."""
    try:
        return urlsplit(origin).netloc.lower() or None
    except ValueError:
        return None


def _cookie_name(scope: ASGIScope) -> str:
    # Browsers share cookies across ports: two fakes on one machine keep one cookie each.
    server = scope.get("server")
    return f"mock_amojo_session_{server[1]}" if server and server[1] else "mock_amojo_session"


def _host_refused(host: str, name: str) -> HostNotAllowed:
    return HostNotAllowed(
        f"Host {host!r} is not a name the control plane and console answer to.",
        hint=f"They answer to localhost, IP addresses, the bound host and --allowed-hosts. If {name!r} is this fake's "
        f"(a compose service, a tunnel), start it with --allowed-hosts {name} (MOCK_AMOJO_ALLOWED_HOSTS, allowed_hosts in the config "
        "file). This stops DNS-rebinding web pages; amojo's API answers to any Host.",
        detail={"host": host},
    )


_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mock-amojo: control token</title>
<style>body{{font:16px system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2633}}
input{{font:inherit;padding:.45rem;width:100%;box-sizing:border-box}}button{{font:inherit;margin-top:.7rem;padding:.45rem 1.2rem}}
.failed{{color:#b00020}}code{{background:#eef1f5;padding:0 .2rem}}</style></head>
<body><h1>mock-amojo</h1>
<p>This fake was started with a control token: its console and control plane answer only to whoever has it. It is the
<code>--control-token</code> value (<code>MOCK_AMOJO_CONTROL_TOKEN</code>); with <code>--control-token auto</code> the server printed it at start-up.</p>
<p class="{status}" role="status">{problem}</p>
<form method="get">{kept}<label for="token">Control token</label>
<input id="token" name="token" type="password" autocomplete="off" autofocus required>
<button type="submit">Open</button></form></body></html>
"""


def _login_page(error: AmojoError, query: list[tuple[str, str]]) -> str:
    import html  # only for this page: not on a server's start-up

    kept = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query if k != "token")
    invalid = isinstance(error, ControlTokenInvalid)
    problem = "That is not this fake's token." if invalid else "Enter the token once; this browser keeps it until it closes."
    return _PAGE.format(status="failed" if invalid else "", problem=problem, kept=kept)


def guarded(app: Any, host: str | None = None) -> Any:
    """``app`` behind :class:`Guard`, as its ``app.state.config`` says (an app without one is returned as it is).

    ``host`` is the address the server binds, if not ``config.host``: its name is admitted too.
    """
    config = getattr(getattr(app, "state", None), "config", None)
    if not isinstance(config, Config):
        return app
    return Guard(app, GuardPolicy.from_config(config, host))


def banner_lines(config: Config, base_url: str) -> list[str]:
    """What the start-up banner says about who may drive the fake: the token, extra hosts, or a warning.

    >>> banner_lines(Config(host="0.0.0.0"), "http://0.0.0.0:8080")[0].split()[:4]
    ['WARNING', 'listening', 'on', '0.0.0.0']
    """
    lines = []
    if config.control_token is None and not is_loopback(config.host):
        lines.append(
            f"  WARNING         listening on {config.host} without --control-token: whoever reaches this port can read the state "
            "and the journal (request bodies), reset them, register channels and have signed webhooks sent to your integration. "
            "Add --control-token auto."
        )
    if config.control_token is not None:
        # Only a generated token is shown: one you chose may be in a shared environment, and this banner ends up in logs.
        shown = config.control_token if config.token_generated else "TOKEN"
        lines.append(f"  control token   {shown if config.token_generated else 'required (the one you set; not shown)'}")
        lines.append(f"                  send 'Authorization: Bearer {shown}'; in a browser open {base_url}/__mock__/ui?token={shown}")
    if config.allowed_hosts:
        unsafe = "  (any Host: a DNS-rebinding web page can reach the control plane)" if "*" in config.allowed_hosts else ""
        lines.append(f"  allowed hosts   {', '.join(config.allowed_hosts)}{unsafe}")
    return lines
