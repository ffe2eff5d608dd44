"""amojo's endpoint handlers: what each entry of the endpoint table does once a request passed every check.

A handler gets the request (:class:`~._exchange.Call`) and the typed value its schema-checked body was
parsed into (:mod:`mock_amojo.wire._requests`), asks the domain,
and answers amojo's JSON (:mod:`mock_amojo.wire._views`). :class:`Endpoint` binds an entry of
:data:`~mock_amojo.wire._endpoints.ENDPOINTS` to its handler; :mod:`._pipeline` runs the checks before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain import Backend
from ..wire import _views as views
from ..wire._endpoints import ENDPOINTS, EndpointSpec
from ..wire._requests import (
    HISTORY_MAX_LIMIT,
    Connect,
    CreateChat,
    Disconnect,
    EditMessage,
    NewMessage,
    React,
    StatusReport,
    Typing,
    parse_history_page,
)
from ._exchange import EMPTY_200, EMPTY_204, Call, Reply, json_reply

__all__ = ["HISTORY_MAX_LIMIT", "Endpoint", "Handlers"]


class Endpoint(EndpointSpec, frozen=True, kw_only=True):
    """An entry of amojo's endpoint table (:mod:`mock_amojo.wire._endpoints`) bound to the handler that answers it."""

    #: Takes the request and the typed value its body was parsed into (None for a GET).
    action: Callable[[Call, Any], Reply]

    @classmethod
    def bind(cls, spec: EndpointSpec, action: Callable[[Call, Any], Reply]) -> Endpoint:
        return cls(spec.name, spec.method, spec.path, spec.schema, spec.by_channel, spec.answers, spec.parse, action=action)


class Handlers:
    """The handlers of amojo's endpoints over one backend; :meth:`endpoints` binds them to the table."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def connect(self, call: Call, request: Connect) -> Reply:
        """Connect an account to the channel; answers the scope_id every other call uses (re-connecting is idempotent)."""
        scope = self.backend.connect(call.path_params["channel_id"], request)
        return json_reply(views.connect_response(scope))

    def disconnect(self, call: Call, request: Disconnect) -> Reply:
        """Disconnect an account: webhooks stop; 200 with no body."""
        self.backend.disconnect(call.path_params["channel_id"], request)
        return EMPTY_200

    def create_chat(self, call: Call, request: CreateChat) -> Reply:
        """Create a chat without a message, idempotent on conversation_id; answers amojo's chat and user ids."""
        chat = self.backend.create_chat(call.path_params["scope_id"], request)
        return json_reply(views.chat_response(chat))

    def send_message(self, call: Call, request: NewMessage | EditMessage) -> Reply:
        """Send a client message, import an outgoing one (sender.ref_id + receiver), or edit one (edit_message)."""
        message = self.backend.send_message(call.path_params["scope_id"], request)
        return json_reply(views.message_response(message, self.backend.chat_of(message)))

    def delivery_status(self, call: Call, report: StatusReport) -> Reply:
        """Report that a manager's message was delivered (1), read (2) or failed (-1 with error_code/error)."""
        self.backend.delivery_status(call.path_params["scope_id"], call.path_params["msgid"], report)
        return EMPTY_200

    def history(self, call: Call, request: None) -> Reply:
        """A chat's messages, newest first (offset, limit ≤ 50); 204 when there are none."""
        page = parse_history_page(call.query_param("offset"), call.query_param("limit"))
        messages = self.backend.history(call.path_params["scope_id"], call.path_params["chat_id"], page.offset, page.limit)
        if not messages:
            return EMPTY_204
        return json_reply(views.history_response(messages))

    def typing(self, call: Call, request: Typing) -> Reply:
        """The client is typing; 204."""
        self.backend.typing(call.path_params["scope_id"], request)
        return EMPTY_204

    def react(self, call: Call, request: React) -> Reply:
        """The client reacts to a message (react) or takes the reaction back (unreact)."""
        self.backend.react(call.path_params["scope_id"], request)
        return EMPTY_200

    def endpoints(self) -> list[Endpoint]:
        """Every entry of the endpoint table, bound to its handler here."""
        actions: dict[str, Callable[[Call, Any], Reply]] = {
            "send_message": self.send_message,
            "connect": self.connect,
            "disconnect": self.disconnect,
            "create_chat": self.create_chat,
            "history": self.history,
            "typing": self.typing,
            "react": self.react,
            "delivery_status": self.delivery_status,
        }
        return [Endpoint.bind(spec, actions[spec.name]) for spec in ENDPOINTS]
