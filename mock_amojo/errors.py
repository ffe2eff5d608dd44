"""Every error mock-amojo raises, as a type; :func:`error_body` is the one place a refusal becomes HTTP.

amoCRM's REST refusals are defined in :mod:`mock_amojo._errors_crm` and the base in
:mod:`mock_amojo._errors_base` (each its own module); import them all from here.

Refusals of a request are :class:`AmojoError` subclasses. The rest are for people, not clients:
:class:`ConfigError` (a setting that cannot be used), :class:`RefusedRequests` and
:class:`ServerErrors` (what a test's sandbox asserts at its end).

Each error knows its HTTP status, a stable machine code (``error_type``), a sentence saying
what was wrong and a hint saying how to fix it. The body shape
``{"error_code", "error_type", "error_description"}`` is what real clients read (PHP
``fcritic/amojo-api-client``); ``hint`` and ``detail`` are the fake's additions.

>>> err = ChatNotFound("conversation_id", "c-42")
>>> err.status, err.error_type
(404, 'CHAT_NOT_FOUND')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ._errors_base import AmojoError
from ._errors_crm import CrmError, CrmForbidden, CrmNotFound, CrmTooManyRequests, CrmUnauthorized, CrmValidation, OAuthRefused

if TYPE_CHECKING:
    from .wire._signing import Verdict

__all__ = [
    "AccountNotAllowed",
    "AccountNotFound",
    "AmojoError",
    "BodyTooLarge",
    "ChannelExists",
    "ChannelNotFound",
    "ChatNotFound",
    "ConfigError",
    "ControlError",
    "ControlMediaType",
    "ControlTokenInvalid",
    "ControlTokenMissing",
    "CrmError",
    "CrmForbidden",
    "CrmNotFound",
    "CrmTooManyRequests",
    "CrmUnauthorized",
    "CrmValidation",
    "CrossOriginRefused",
    "DuplicateMessageId",
    "HostNotAllowed",
    "IntegrationNotFound",
    "InternalError",
    "InvalidJson",
    "InvalidQuery",
    "InvalidReference",
    "MessageNotFound",
    "MethodNotAllowed",
    "OAuthRefused",
    "RefusedRequests",
    "RouteNotFound",
    "SchemaViolation",
    "ScopeNotFound",
    "ServerErrors",
    "SignatureRejected",
    "StanceWarnings",
    "StateNotSaved",
    "SubdomainTaken",
    "UnsupportedMediaType",
    "UserNotFound",
    "WriteFirstDisabled",
    "error_body",
    "problem_body",
]


def error_body(error: AmojoError) -> dict[str, Any]:
    """The JSON body of an error response (amoCRM's REST API answers its own shape: :class:`CrmError`)."""
    if isinstance(error, CrmError):
        return error.problem()
    body: dict[str, Any] = {
        "error_code": error.status,
        "error_type": error.code,
        "error_description": error.description,
        "hint": error.hint,
    }
    if error.detail:
        body["detail"] = error.detail
    return body


def problem_body(error: AmojoError) -> dict[str, Any]:
    """Any refusal in amoCRM's REST shape (``application/problem+json``): what ``/api/v4`` and ``/oauth2`` answer."""
    if isinstance(error, CrmError):
        return error.problem()
    body = {"title": _TITLES.get(error.status, "Bad Request"), "type": f"https://httpstatus.es/{error.status}", "status": error.status}
    body["detail"] = error.description
    if error.hint:
        body["hint"] = error.hint
    return body


_TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error"}


# --- 400 -------------------------------------------------------------------------------


class InvalidJson(AmojoError):
    error_type = "INVALID_JSON"


class SchemaViolation(AmojoError):
    """The body is JSON but breaks the endpoint's schema; names pointer, rule and value."""

    error_type = "SCHEMA_VIOLATION"

    def __init__(
        self, schema: str, pointer: str, rule: str, message: str, value: Any, *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        where = pointer or "/"
        super().__init__(
            f"Body does not match {schema}: at {where}: {message}",
            hint=f"Fix the value at JSON pointer {where} (rule '{rule}'); see schemas/{schema} for the full contract.",
            detail={"schema": schema, "pointer": where, "rule": rule, "value": value, "errors": errors or []},
        )


class InvalidQuery(AmojoError):
    error_type = "INVALID_QUERY"


class DuplicateMessageId(AmojoError):
    error_type = "DUPLICATE_MSGID"


class InvalidReference(AmojoError):
    """A field refers to something that exists but cannot be used this way."""

    error_type = "INVALID_REFERENCE"


class ControlError(AmojoError):
    """A bad request to the fake's own control plane (``/__mock__``)."""

    error_type = "CONTROL_INVALID"


# --- 401 -------------------------------------------------------------------------------


class ControlTokenMissing(AmojoError):
    """The fake runs with ``--control-token`` and the request to its control plane or console carries none."""

    status = 401
    error_type = "CONTROL_TOKEN_MISSING"


class ControlTokenInvalid(AmojoError):
    """The control token sent is not the one the fake was started with (never echoed back)."""

    status = 401
    error_type = "CONTROL_TOKEN_INVALID"


# --- 403 -------------------------------------------------------------------------------


class HostNotAllowed(AmojoError):
    """The control plane or console was asked under a Host name it does not answer to (DNS rebinding)."""

    status = 403
    error_type = "HOST_NOT_ALLOWED"


class CrossOriginRefused(AmojoError):
    """A web page of another origin tried to change the fake's state through a browser."""

    status = 403
    error_type = "CROSS_ORIGIN_REFUSED"


class SignatureRejected(AmojoError):
    """Signing failed; ``error_type`` is the failed check (e.g. ``SIGNATURE_MISMATCH``)."""

    status = 403

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        detail = verdict.as_dict()
        detail.pop("hint", None)  # already the body's top-level hint
        super().__init__(_SIGNATURE_TEXT.get(verdict.check.value, "Request signature rejected."), hint=verdict.hint, detail=detail)

    @property
    def code(self) -> str:
        return self.verdict.check.value


_SIGNATURE_TEXT = {
    "MISSING_SIGNATURE": "The X-Signature header is missing.",
    "MISSING_DATE": "The Date header is missing; it is part of the signed string.",
    "MISSING_CONTENT_MD5": "The Content-MD5 header is missing.",
    "INVALID_DATE": "The Date header is not an RFC 2822 date.",
    "STALE_DATE": "The Date header is too old: amojo accepts a signature for 15 minutes.",
    "FUTURE_DATE": "The Date header is too far in the future.",
    "CONTENT_MD5_MISMATCH": "Content-MD5 does not match the MD5 of the body received.",
    "SIGNATURE_MISMATCH": "X-Signature does not match the signature of the canonical string.",
}


class AccountNotAllowed(AmojoError):
    status = 403
    error_type = "ACCOUNT_NOT_ALLOWED"


class WriteFirstDisabled(AmojoError):
    """A manager tried to start a chat on a channel without "write first" (amojo-api.md §4.2)."""

    status = 403
    error_type = "WRITE_FIRST_DISABLED"


# --- 404 -------------------------------------------------------------------------------


class _NotFound(AmojoError):
    status = 404
    what: ClassVar[str] = "object"
    fix: ClassVar[str] = ""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(
            f"No {self.what} with {field} {value!r}.",
            hint=self.fix,
            detail={"field": field, "value": value},
        )


class ChannelNotFound(_NotFound):
    error_type = "CHANNEL_NOT_FOUND"
    what = "channel"
    fix = "Use the channel id amoCRM issued (mock-amojo prints it at start-up; /__mock__/channels lists them)."


class ScopeNotFound(_NotFound):
    error_type = "SCOPE_NOT_FOUND"
    what = "connected scope"
    fix = "Call POST /v2/origin/custom/{channel_id}/connect first and use the scope_id it returns."


class ChatNotFound(_NotFound):
    error_type = "CHAT_NOT_FOUND"
    what = "chat in this scope"
    fix = "Use an id this scope created: conversation_id is yours, conversation_ref_id / the history path take amojo's chat id."


class MessageNotFound(_NotFound):
    error_type = "MESSAGE_NOT_FOUND"
    what = "message in this scope"
    fix = "Use amojo's message id (from the send response's new_message.msgid or the webhook's message.message.id), or your msgid where the endpoint takes it."


class AccountNotFound(_NotFound):
    error_type = "ACCOUNT_NOT_FOUND"
    what = "account"
    fix = "Register it with POST /__mock__/accounts; GET /__mock__/accounts lists them (ids are amojo ids)."


class IntegrationNotFound(_NotFound):
    error_type = "INTEGRATION_NOT_FOUND"
    what = "integration"
    fix = "Register it with POST /__mock__/integrations; GET /__mock__/integrations lists them."


class RouteNotFound(AmojoError):
    status = 404
    error_type = "ROUTE_NOT_FOUND"


# --- other -----------------------------------------------------------------------------


class MethodNotAllowed(AmojoError):
    status = 405
    error_type = "METHOD_NOT_ALLOWED"


class ChannelExists(AmojoError):
    status = 409
    error_type = "CHANNEL_EXISTS"


class SubdomainTaken(AmojoError):
    """Another account answers on this subdomain already."""

    status = 409
    error_type = "SUBDOMAIN_TAKEN"


class BodyTooLarge(AmojoError):
    status = 413
    error_type = "BODY_TOO_LARGE"


class UnsupportedMediaType(AmojoError):
    """Not ``application/json``. amojo lists only 200/400/403/404 per endpoint; the reference (§6) says 400."""

    error_type = "UNSUPPORTED_MEDIA_TYPE"


class ControlMediaType(UnsupportedMediaType):
    """A state-changing control-plane request not sent as JSON: 415, as the control plane is the fake's own."""

    status = 415


class UserNotFound(_NotFound):
    error_type = "USER_NOT_FOUND"
    what = "user in this scope"
    fix = "ref_id takes an amojo user id this scope knows: a chat participant's id (e.g. the webhook's receiver.id), an account user's amojo_id or the channel bot's id."


class InternalError(AmojoError):
    """A bug in the fake itself: reported as JSON, recorded, and surfaced to the test that caused it."""

    status = 500
    error_type = "INTERNAL_ERROR"


class StateNotSaved(AmojoError):
    """The durable store could not record a change, so the request is not acknowledged."""

    status = 503
    error_type = "STATE_NOT_SAVED"


class ConfigError(ValueError):
    """A setting that cannot be used; the message is one line meant for a person."""


class RefusedRequests(AssertionError):
    """Raised by :meth:`Sandbox.assert_all_accepted <mock_amojo.Sandbox.assert_all_accepted>`; the message explains every refusal."""


class StanceWarnings(AssertionError):
    """Raised by :meth:`Sandbox.assert_no_warnings <mock_amojo.Sandbox.assert_no_warnings>`: requests the fake accepted with a fidelity warning."""


class ServerErrors(AssertionError):
    """The fake failed while serving the test's requests (a bug in mock-amojo)."""
