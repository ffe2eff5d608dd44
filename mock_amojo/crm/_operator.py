"""The amoCRM manager: each action changes the state and sends the webhook amojo would send.

One place for the control plane (``POST /__mock__/operator/*``), the pytest plugin and
scripts. Every action takes the same fields as its control-plane body, checks them
against ``schemas/operator_*.request.json`` (a bad one is a
:class:`~mock_amojo.errors.SchemaViolation`, as over HTTP), parses the message into its
typed content (:func:`~mock_amojo.wire._values.parse_content`) for the domain, and returns
the created ids plus the delivery record.

>>> from mock_amojo import Config, create_app
>>> config = Config(hook_api_version="v2")
>>> app = create_app(config, webhook_mode="sync")
>>> backend, operator = app.state.backend, app.state.operator
>>> from mock_amojo.wire import Connect, CreateChat, Party
>>> scope = backend.connect(config.channel_id, Connect(config.account_id))
>>> _ = backend.create_chat(scope.id, CreateChat("c1", Party("u1", name="Ann")))
>>> result = operator.reply(scope.id, conversation_id="c1", message={"type": "text", "text": "Hello!"})
>>> result["delivery"]["outcome"], result["delivery"]["error"][:27]
('skipped', 'channel has no webhook_url ')
>>> result["delivery"]["payload"]["message"]["message"]["text"]
'Hello!'
"""

from __future__ import annotations

from typing import Any, Literal

from ..domain import Backend, Message
from ..webhooks import WebhookDispatcher, WebhookFaults
from ..wire import _views as views
from ..wire._validation import SchemaSet, load_schemas
from ..wire._values import parse_content

__all__ = ["Operator"]

Faults = WebhookFaults | dict[str, Any] | None


def _body(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _faults(faults: Faults) -> tuple[dict[str, Any] | None, WebhookFaults | None]:
    if isinstance(faults, WebhookFaults):
        return {k: v for k, v in faults.as_dict().items() if v}, faults
    return faults, WebhookFaults.from_dict(faults) if faults else None


class Operator:
    """A CRM manager acting on one backend, announced through one dispatcher."""

    def __init__(self, backend: Backend, dispatcher: WebhookDispatcher, schemas: SchemaSet | None = None) -> None:
        self.backend = backend
        self.dispatcher = dispatcher
        self.schemas = schemas or load_schemas()

    def reply(
        self,
        scope_id: str,
        *,
        message: dict[str, Any],
        conversation_id: str | None = None,
        chat_id: str | None = None,
        user_id: str | None = None,
        reply_to: dict[str, Any] | None = None,
        faults: Faults = None,
    ) -> dict[str, Any]:
        """A manager answers in a chat (named by the integration's ``conversation_id`` or amojo's ``chat_id``).

        ``reply_to={"message_id": ...}`` quotes a message of the same chat (amojo id).
        """
        raw_faults, parsed = _faults(faults)
        body = _body(
            scope_id=scope_id,
            conversation_id=conversation_id,
            chat_id=chat_id,
            user_id=user_id,
            message=message,
            reply_to=reply_to,
            faults=raw_faults,
        )
        self.schemas.validate("operator_reply.request.json", body)
        quoted = (reply_to or {}).get("message_id")
        sent = self.backend.operator_reply(
            scope_id, conversation_id=conversation_id, chat_id=chat_id, message=parse_content(message), user_id=user_id, reply_to=quoted
        )
        delivery = self.dispatcher.send_message_hook(sent, parsed)
        return self._message_result(sent, delivery.as_dict())

    def initiate(
        self,
        scope_id: str,
        *,
        phone: str,
        message: dict[str, Any],
        name: str | None = None,
        user_id: str | None = None,
        source: dict[str, Any] | None = None,
        faults: Faults = None,
    ) -> dict[str, Any]:
        """A manager writes first to ``phone``; answer with ``conversation_ref_id`` = ``chat_id`` and ``sender.ref_id`` = ``receiver_id``."""
        raw_faults, parsed = _faults(faults)
        body = _body(scope_id=scope_id, phone=phone, name=name, user_id=user_id, source=source, message=message, faults=raw_faults)
        self.schemas.validate("operator_initiate.request.json", body)
        sent = self.backend.operator_initiate(
            scope_id, phone=phone, message=parse_content(message), name=name, user_id=user_id, source=(source or {}).get("external_id")
        )
        delivery = self.dispatcher.send_message_hook(sent, parsed)
        return self._message_result(sent, delivery.as_dict())

    def typing(
        self,
        scope_id: str,
        *,
        conversation_id: str | None = None,
        chat_id: str | None = None,
        user_id: str | None = None,
        faults: Faults = None,
    ) -> dict[str, Any]:
        """A manager types in a chat; the hook is skipped within 5 s of the previous one."""
        raw_faults, parsed = _faults(faults)
        body = _body(scope_id=scope_id, conversation_id=conversation_id, chat_id=chat_id, user_id=user_id, faults=raw_faults)
        self.schemas.validate("operator_typing.request.json", body)
        chat = self.backend.operator_typing(scope_id, conversation_id=conversation_id, chat_id=chat_id, user_id=user_id)
        delivery = self.dispatcher.send_typing_hook(chat, parsed)
        typing = chat.operator_typing
        return {
            "scope_id": scope_id,
            "chat_id": chat.id,
            "conversation_id": chat.conversation_id,
            "user_id": None if typing is None else typing.user,
            "expired_at": None if typing is None else typing.expired_at,
            "delivery": delivery.as_dict(),
        }

    def react(
        self,
        scope_id: str,
        *,
        message_id: str,
        emoji: str | None = None,
        type: Literal["react", "unreact"] = "react",
        user_id: str | None = None,
        faults: Faults = None,
    ) -> dict[str, Any]:
        """A manager reacts to a message (amojo id); ``type="unreact"`` takes the reaction back."""
        raw_faults, parsed = _faults(faults)
        body = _body(scope_id=scope_id, message_id=message_id, type=type, emoji=emoji, user_id=user_id, faults=raw_faults)
        self.schemas.validate("operator_react.request.json", body)
        target = self.backend.operator_react(scope_id, message_id=message_id, emoji=emoji, type=type, user_id=user_id)
        user = self.backend.manager(scope_id, user_id)
        delivery = self.dispatcher.send_reaction_hook(target, user.id, type=type, emoji=emoji, faults=parsed)
        return {
            "scope_id": scope_id,
            "message_id": target.id,
            "chat_id": target.chat_id,
            "conversation_id": self.backend.chat_of(target).conversation_id,
            "reactions": [dict(r) for r in target.reactions],
            "delivery": delivery.as_dict(),
        }

    def _message_result(self, sent: Message, delivery: dict[str, Any]) -> dict[str, Any]:
        chat = self.backend.chat_of(sent)
        return {
            "scope_id": chat.scope_id,
            "chat_id": chat.id,
            "conversation_id": chat.conversation_id,
            "message_id": sent.id,
            "sender_id": sent.sender.id,
            "receiver_id": chat.client.id,
            "message": views.message_state(sent),
            "delivery": delivery,
        }
