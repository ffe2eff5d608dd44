"""Acting as the CRM manager in a test: reply, write first, type, react — each sends the webhook amojo would.

A mixin of :class:`~mock_amojo.testing._sandbox.Sandbox` (the ``amojo`` fixture); the actions themselves are the
operator's (``crm/_operator.py``), this is their per-test face: the test's scope by default, text by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..domain import Backend
    from ._sandbox import SandboxHost

__all__ = ["ManagerActions"]


class ManagerActions:
    """The sandbox's manager: :meth:`reply`, :meth:`initiate`, :meth:`typing`, :meth:`react`."""

    host: SandboxHost
    backend: Backend

    @property
    def scope_id(self) -> str | None:
        raise NotImplementedError

    def _scope_for(self, scope_id: str | None) -> str:
        scope = scope_id or self.scope_id
        if scope is None:
            raise RuntimeError("No connected scope: call amojo.connect() (or let your integration connect) first, or pass scope_id=.")
        return scope

    def reply(
        self,
        conversation_id: str | None = None,
        text: str | None = None,
        *,
        chat_id: str | None = None,
        user_id: str | None = None,
        scope_id: str | None = None,
        faults: Mapping[str, Any] | None = None,
        **message: Any,
    ) -> dict[str, Any]:
        """A manager answers in a chat; returns the ids and the webhook ``delivery``.

        ``message`` fields go into the hook's message (``type="picture", media=..., file_name=...,
        file_size=...``, ``markup=...``, ``template=...``); ``type`` defaults to text.
        """
        content = _message_content(text, message)
        return self.host.operator.reply(
            self._scope_for(scope_id),
            message=content,
            conversation_id=conversation_id,
            chat_id=chat_id,
            user_id=user_id,
            faults=dict(faults) if faults else None,
        )

    def initiate(
        self,
        phone: str,
        text: str | None = None,
        *,
        name: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
        scope_id: str | None = None,
        faults: Mapping[str, Any] | None = None,
        **message: Any,
    ) -> dict[str, Any]:
        """A manager writes first to ``phone`` ("write first"): the hook has no ``conversation.client_id``.

        Answer it with ``conversation_ref_id`` = the result's ``chat_id`` and
        ``sender.ref_id`` = its ``receiver_id``.
        """
        content = _message_content(text, message)
        return self.host.operator.initiate(
            self._scope_for(scope_id),
            phone=phone,
            message=content,
            name=name,
            user_id=user_id,
            source={"external_id": source} if source else None,
            faults=dict(faults) if faults else None,
        )

    def typing(
        self, conversation_id: str | None = None, *, chat_id: str | None = None, user_id: str | None = None, scope_id: str | None = None
    ) -> dict[str, Any]:
        """A manager types in a chat (the hook is sent at most once per 5 s of the virtual clock)."""
        return self.host.operator.typing(self._scope_for(scope_id), conversation_id=conversation_id, chat_id=chat_id, user_id=user_id)

    def react(
        self,
        message: str,
        emoji: str | None = "👍",
        *,
        unreact: bool = False,
        user_id: str | None = None,
        scope_id: str | None = None,
    ) -> dict[str, Any]:
        """A manager reacts to a message named by amojo's id or by your ``msgid``; ``unreact=True`` takes it back."""
        scope = self._scope_for(scope_id)
        target = self.backend.message_named(scope, message)
        message_id = target.id if target is not None else message
        return self.host.operator.react(
            scope, message_id=message_id, emoji=None if unreact else emoji, type="unreact" if unreact else "react", user_id=user_id
        )


def _message_content(text: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A manager's message: text unless ``type`` says otherwise."""
    content = {"type": "text", **fields}
    if text is not None:
        content["text"] = text
    return content
