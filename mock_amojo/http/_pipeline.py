"""The amojo request pipeline: every request to ``/v2/origin/custom`` checked exactly as amojo does.

Each request goes through the same steps, in amojo's order: body size → channel → signature
(Date, Content-MD5, X-Signature) → Content-Type → JSON → schema → typed request (parsed once,
:mod:`mock_amojo.wire._requests`) → state (the endpoint's handler, :mod:`._handlers`). The first failure becomes an error answer (see :mod:`mock_amojo.errors`); every
request, accepted or not, lands in the journal with its verdict (:mod:`._api_journal`).
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from starlette.types import Receive
from starlette.types import Scope as ASGIScope

from ..config import Config
from ..domain import Backend, Channel
from ..errors import AmojoError, InternalError, SignatureRejected, UnsupportedMediaType, error_body
from ..wire._endpoints import LEGACY_SIGNED
from ..wire._signing import Verdict, redact_secrets, verify_request
from ..wire._stance_checks import BodyCheck, body_checks
from ..wire._stances import FIRED, Stances, StanceWarning, take_warnings
from ..wire._validation import SchemaSet
from ._api_journal import ApiEntry, mentions_secret, scrubbed
from ._exchange import Call, Reply, error_reply, parse_json, receive_body, with_warnings
from ._handlers import Endpoint

__all__ = ["Pipeline"]


class Pipeline:
    """Runs a request to one of amojo's endpoints through every check, its handler and the journal.

    Holds what every request needs (no per-request lookups of app state).
    """

    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas
        # What the backend's stances make of each endpoint, worked out again only when they change (a sandbox's settings).
        self._stances: Stances | None = None
        self._checks: dict[str, BodyCheck] = {}
        self._legacy_signed: frozenset[str] = LEGACY_SIGNED

    def _use(self, stances: Stances) -> None:
        """Work out what ``stances`` (new: a sandbox's settings) make of each endpoint."""
        self._checks = body_checks(stances)
        legacy = LEGACY_SIGNED if self.config.allow_legacy_signature else frozenset()
        if legacy and stances.stance("legacy_signature_new_message") != "strict":
            legacy = legacy | {"send_message"}
        self._legacy_signed = legacy
        self._stances = stances

    async def handle(self, endpoint: Endpoint, scope: ASGIScope, receive: Receive) -> Reply | None:
        """Read the body (413 as soon as it is known to be too big), then :meth:`answer`; None if the client left."""
        started = time.perf_counter()
        call: Call | None = None
        try:
            call = Call(scope)
            body = await receive_body(call.headers.get("content-length"), receive, self.config.body_limit)
        except Exception as exc:
            return self._failed(exc, endpoint, scope, call, b"", None, started, None)
        if body is None:
            return None
        return self.answer(endpoint, scope, body, started, call)

    def answer(self, endpoint: Endpoint, scope: ASGIScope, body: bytes, started: float, call: Call | None = None) -> Reply:
        """Check a request whose whole body is read (and within the limit), apply it, journal it: amojo's answer."""
        verdict: Verdict | None = None
        secrets: tuple[str, ...] | None = None  # None until the channel is known
        try:
            stances = self.backend.stances
            if stances is not self._stances:
                self._use(stances)
            if call is None:
                call = Call(scope)
            params = call.path_params
            channel = (
                self.backend.channel(params["channel_id"]) if endpoint.by_channel else self.backend.channel_for_scope(params["scope_id"])
            )
            secrets = (channel.secret,) if mentions_secret(channel.secret, call, body) else ()
            verdict = self._verify(call, endpoint, channel, body)
            if endpoint.method == "GET":
                request: Any = None  # amojo ignores a GET body; only its MD5 counts
            else:
                _check_content_type(call)
                request = parse_json(body)
                if endpoint.schema is not None:
                    self.schemas.validate(endpoint.schema, request, raw=body)
                    check = self._checks.get(endpoint.name)
                    if check is not None:
                        check(stances, params, request)
                if endpoint.parse is not None:
                    # Once, here: past this point the request is a typed value (mock_amojo.wire._requests).
                    request = endpoint.parse(request)
            reply = endpoint.action(call, request)
        except Exception as exc:
            return self._failed(exc, endpoint, scope, call, body, verdict, started, secrets)
        warnings = take_warnings() if FIRED.warnings is not None else None
        if warnings:
            warnings = _without_secrets(warnings, secrets)
            reply = with_warnings(reply, warnings)
        self._journal(scope, call, endpoint, body, reply, verdict, started, None, secrets, warnings)
        return reply

    def _failed(
        self,
        exc: Exception,
        endpoint: Endpoint,
        scope: ASGIScope,
        call: Call | None,
        body: bytes,
        verdict: Verdict | None,
        started: float,
        secrets: tuple[str, ...] | None,
    ) -> Reply:
        """The answer to a refused request (amojo's error) or to a bug in the fake (500 JSON; the server keeps serving)."""
        if secrets is None:
            secrets = self._secrets_sent(call, body)
        if isinstance(exc, AmojoError):
            error: AmojoError = exc
        else:
            error = InternalError(
                redact_secrets(f"mock-amojo failed on this request: {type(exc).__name__}: {exc}", secrets),
                hint="This is a bug in mock-amojo, not in your request; the journal has the details.",
                detail={"traceback": redact_secrets("".join(traceback.format_exception(exc, limit=8)), secrets)},
            )
            self.backend.server_errors.append(error)
        answer = error_body(error)
        if secrets:
            answer = scrubbed(answer, secrets)
        reply = error_reply(answer, error.status, bare=self.backend.stances.error_bodies == "bare")
        # Rules a request broke (warn) before it was refused: said too, the refusal may come from one of them.
        warnings = take_warnings()
        if warnings:
            warnings = _without_secrets(warnings, secrets)
            reply = with_warnings(reply, warnings)
        self._journal(scope, call, endpoint, body, reply, verdict, started, error, secrets, warnings)
        return reply

    def _secrets_sent(self, call: Call | None, body: bytes) -> tuple[str, ...]:
        """The secrets of any channel a request whose channel is unknown carries (a secret sent as the channel or scope id)."""
        if call is None:
            return ()
        known = self.backend.channel_secrets()
        return tuple(secret for secret in known if mentions_secret(secret, call, body))

    def _verify(self, call: Call, endpoint: Endpoint, channel: Channel, body: bytes) -> Verdict:
        verdict = verify_request(
            channel.secret,
            call.method,
            call.raw_path,
            body,
            call.headers,
            now=self.backend.clock.now(),
            max_age=self.config.max_age,
            max_future_skew=self.config.max_future_skew,
            allow_legacy=endpoint.name in self._legacy_signed,
        )
        if not verdict.ok:
            raise SignatureRejected(verdict)
        if verdict.scheme == "legacy" and endpoint.name not in LEGACY_SIGNED:
            _warn_legacy(self.backend.stances)
        return verdict

    def _journal(
        self,
        scope: ASGIScope,
        call: Call | None,
        endpoint: Endpoint,
        body: bytes,
        reply: Reply,
        verdict: Verdict | None,
        started: float,
        error: AmojoError | None,
        secrets: tuple[str, ...],
        warnings: list[StanceWarning] | None = None,
    ) -> None:
        entry = ApiEntry(
            self.backend.clock.now(),
            endpoint.name,
            scope,
            call.headers if call is not None else {},
            body,
            reply,
            verdict,
            time.perf_counter() - started,
            error,
            warnings,
        )
        # A client that sent the secret itself gets it redacted from what the journal keeps.
        self.backend.journal.record(scrubbed(entry.build(), secrets) if secrets else entry)


def _without_secrets(warnings: list[StanceWarning], secrets: tuple[str, ...] | None) -> list[StanceWarning]:
    """Warnings quote what a client sent: one that sent the secret itself does not get it echoed in a header."""
    if not secrets:
        return warnings
    return [w._replace(message=redact_secrets(w.message, secrets)) for w in warnings]


def _warn_legacy(stances: Stances) -> None:
    stances.fire(
        "legacy_signature_new_message",
        "signed the legacy way (X-Signature over the body alone, no Date, no Content-MD5), which amoCRM keeps only for "
        "existing connections and the methods that used it",
        # Not raised: the strict stance refuses it in the signature check already (no legacy scheme on send_message).
        AmojoError("legacy signature"),
    )


def _check_content_type(call: Call) -> None:
    content_type = call.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported." if content_type else "Content-Type is missing.",
            hint="amojo accepts JSON only: send Content-Type: application/json (and sign that exact value).",
            detail={"received": content_type},
        )
