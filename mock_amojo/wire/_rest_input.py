"""Reading an amoCRM REST body field by field, collecting amoCRM's validation errors (``path`` like ``0.name``).

Every problem is kept, so one 400 names every bad field (amoCRM's ``validation-errors``): the
edge (:mod:`._rest_requests`) adds what a body alone breaks, the domain what the state refuses.

>>> problems = Problems()
>>> item = problems.item([{"name": 5}], 0)
>>> problems.text(item, "name", "0"), problems.errors[0][1:3]
('', ('InvalidType', '0.name'))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import CrmValidation
from ._limits import MAX_INTEGER

__all__ = ["Problem", "Problems", "body_list"]

#: One validation error: (request_id, code, path, detail).
Problem = tuple[str, str, str, str]


def body_list(body: Any, what: str, *, limit: int = 250) -> list[Any]:
    """A body that must be a non-empty array of objects (amoCRM adds and updates in batches of up to 250)."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        raise CrmValidation(
            [("0", "InvalidType", "", f"The body must be a non-empty array of {what}.")],
            hint=f"Send a JSON array of {what} objects, e.g. [{{...}}].",
        )
    if len(body) > limit:
        raise CrmValidation(
            [("0", "TooMany", "", f"At most {limit} {what} per request.")], hint=f"Split the batch into requests of {limit}."
        )
    return body


class Problems:
    """Validation problems found so far; :meth:`raise_if_any` refuses the request naming all of them."""

    def __init__(self, found: Iterable[Problem] = ()) -> None:
        self.errors: list[Problem] = list(found)

    def add(self, request_id: str, code: str, path: str, detail: str) -> None:
        self.errors.append((request_id, code, path, detail))

    def item(self, body: list[Any], index: int) -> dict[str, Any]:
        value = body[index]
        if not isinstance(value, dict):
            self.add(str(index), "InvalidType", str(index), "This value should be of type object.")
            return {}
        return value

    def text(self, item: dict[str, Any], key: str, request_id: str, *, required: bool = False, limit: int = 255) -> str:
        value = item.get(key)
        path = f"{request_id}.{key}"
        if value is None:
            if required:
                self.add(request_id, "NotBlank", path, "This value should not be blank.")
            return ""
        if not isinstance(value, str):
            self.add(request_id, "InvalidType", path, "This value should be of type string.")
            return ""
        if required and not value.strip():
            self.add(request_id, "NotBlank", path, "This value should not be blank.")
        elif len(value) > limit:
            self.add(request_id, "Length", path, f"This value is too long. It should have {limit} characters or less.")
        return value

    def integer(self, item: dict[str, Any], key: str, request_id: str, *, required: bool = False) -> int | None:
        value = item.get(key)
        path = f"{request_id}.{key}"
        if value is None:
            if required:
                self.add(request_id, "NotBlank", path, "This value should not be blank.")
            return None
        # bool is an int in Python, not in JSON; a float (even 3.0, NaN, inf) is not an int in amoCRM's API.
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(request_id, "InvalidType", path, "This value should be of type int.")
            return None
        if not 0 <= value <= MAX_INTEGER:
            self.add(request_id, "Range", path, f"This value should be between 0 and {MAX_INTEGER}.")
            return None
        return value

    def flag(self, item: dict[str, Any], key: str, request_id: str) -> bool | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(request_id, "InvalidType", f"{request_id}.{key}", "This value should be of type bool.")
            return None
        return value

    def raise_if_any(self, hint: str = "") -> None:
        if self.errors:
            raise CrmValidation(self.errors, hint=hint)
