"""The base of every refusal mock-amojo answers: :class:`AmojoError` (public as ``mock_amojo.errors.AmojoError``).

Its own module so that amojo's refusals (:mod:`mock_amojo.errors`) and amoCRM's REST refusals
(:mod:`mock_amojo._errors_crm`) derive from it without importing each other; users import
every error type from :mod:`mock_amojo.errors`.

>>> AmojoError("bad", hint="fix it").status
400
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["AmojoError"]


class AmojoError(Exception):
    """Base of every refusal. Subclasses set ``status`` and ``error_type``."""

    status: ClassVar[int] = 400
    error_type: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, description: str, *, hint: str = "", detail: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.hint = hint
        self.detail: dict[str, Any] = detail or {}

    @property
    def code(self) -> str:
        """The machine code a client or the journal keys on."""
        return self.error_type
