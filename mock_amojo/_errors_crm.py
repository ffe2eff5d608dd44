"""amoCRM's REST refusals (``/api/v4``, ``/oauth2``): ``application/problem+json`` with ``title``, ``type``, ``status``, ``detail``.

The types users catch are re-exported by :mod:`mock_amojo.errors` (import them from there); the
HTTP mapping of every refusal, these included, stays in :func:`mock_amojo.errors.error_body` and
:func:`mock_amojo.errors.problem_body`.

>>> CrmValidation([("0", "NotBlank", "0.name", "This value should not be blank.")]).status
400
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._errors_base import AmojoError

__all__ = ["CrmError", "CrmForbidden", "CrmNotFound", "CrmTooManyRequests", "CrmUnauthorized", "CrmValidation", "OAuthRefused"]


class CrmError(AmojoError):
    """A refusal of amoCRM's REST API: ``application/problem+json`` with ``title``, ``type``, ``status``, ``detail``.

    The shape is amoCRM's (its error reference's validation example; the official PHP client
    reads ``detail`` and ``validation-errors``); ``hint`` is the fake's explanation, as on amojo.

    >>> CrmNotFound("lead", 7).problem()["type"]
    'https://httpstatus.es/404'
    """

    status = 400
    error_type = "BAD_REQUEST"
    title: ClassVar[str] = "Bad Request"
    media_type: ClassVar[str] = "application/problem+json"

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "title": self.title,
            "type": f"https://httpstatus.es/{self.status}",
            "status": self.status,
            "detail": self.description,
        }
        if self.hint:
            body["hint"] = self.hint
        return body


class CrmValidation(CrmError):
    """400 naming each bad field as amoCRM does: ``validation-errors`` of ``{request_id, errors: [{code, path, detail}]}``."""

    error_type = "VALIDATION"

    def __init__(self, errors: list[tuple[str, str, str, str]], *, hint: str = "") -> None:
        # (request_id, code, path, detail) per problem, grouped by request_id as amoCRM groups them.
        grouped: dict[str, list[dict[str, str]]] = {}
        for request_id, code, path, detail in errors:
            grouped.setdefault(request_id, []).append({"code": code, "path": path, "detail": detail})
        self.validation_errors = [{"request_id": rid, "errors": items} for rid, items in grouped.items()]
        first = errors[0] if errors else ("0", "", "", "invalid")
        super().__init__("Request validation failed", hint=hint or f"{first[2] or 'body'}: {first[3]}")

    def problem(self) -> dict[str, Any]:
        return {"validation-errors": self.validation_errors, **super().problem()}


class CrmUnauthorized(CrmError):
    """401: no bearer token, or one that is unknown, expired, revoked or for another account."""

    status = 401
    error_type = "UNAUTHORIZED"
    title = "Unauthorized"


class CrmForbidden(CrmError):
    status = 403
    error_type = "FORBIDDEN"
    title = "Forbidden"


class CrmNotFound(CrmError):
    status = 404
    error_type = "NOT_FOUND"
    title = "Not Found"

    def __init__(self, what: str, value: object, *, hint: str = "") -> None:
        super().__init__(f"No {what} with id {value!r} in this account.", hint=hint or f"List them with GET /api/v4/{what}s first.")


class CrmTooManyRequests(CrmError):
    """429: more than the integration's requests per second (amoCRM: 7)."""

    status = 429
    error_type = "TOO_MANY_REQUESTS"
    title = "Too Many Requests"


class OAuthRefused(CrmError):
    """``/oauth2/access_token`` refusals: amoCRM's OAuth problem (its OAuth server's ``hint`` says which check failed)."""

    error_type = "OAUTH_INVALID"
    title = "Некорректный запрос"

    def problem(self) -> dict[str, Any]:
        return {
            "hint": self.hint,
            "title": self.title,
            "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
            "status": self.status,
            "detail": self.description,
        }
