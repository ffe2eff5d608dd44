"""amojo's wire format, pure (no I/O, no state): signing, the endpoint table, limits, schemas, JSON rendering.

The place to look up an amojo rule: routes in ``_endpoints``, request/answer schemas in ``_validation``
(the files in ``schemas/``), value limits in ``_limits``, the signature in ``_signing``, the JSON
shapes of state in ``_views``, requests as typed values in ``_requests`` (parties and message contents in
``_values``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "ENDPOINTS": "_endpoints",
    "PREFIX": "_endpoints",
    "EndpointSpec": "_endpoints",
    "LIMITS": "_limits",
    "SchemaSet": "_validation",
    "load_schemas": "_validation",
    "Verdict": "_signing",
    "canonical_string": "_signing",
    "content_md5": "_signing",
    "format_date": "_signing",
    "sign_request": "_signing",
    "sign_webhook": "_signing",
    "verify_request": "_signing",
    "verify_webhook": "_signing",
    "Connect": "_requests",
    "CreateChat": "_requests",
    "Disconnect": "_requests",
    "EditMessage": "_requests",
    "Forwards": "_requests",
    "HistoryPage": "_requests",
    "NewMessage": "_requests",
    "Quote": "_requests",
    "React": "_requests",
    "StatusReport": "_requests",
    "Typing": "_requests",
    "parse_connect": "_requests",
    "parse_create_chat": "_requests",
    "parse_delivery_status": "_requests",
    "parse_disconnect": "_requests",
    "parse_edit_message": "_requests",
    "parse_history_page": "_requests",
    "parse_new_message": "_requests",
    "parse_react": "_requests",
    "parse_send_message": "_requests",
    "parse_typing": "_requests",
    "Content": "_values",
    "JSONObject": "_values",
    "JSONValue": "_values",
    "MessageContent": "_values",
    "Party": "_values",
    "Text": "_values",
    "parse_content": "_values",
    "parse_party": "_values",
}

if TYPE_CHECKING:
    from ._endpoints import ENDPOINTS, PREFIX, EndpointSpec
    from ._limits import LIMITS
    from ._requests import (
        Connect,
        CreateChat,
        Disconnect,
        EditMessage,
        Forwards,
        HistoryPage,
        NewMessage,
        Quote,
        React,
        StatusReport,
        Typing,
        parse_connect,
        parse_create_chat,
        parse_delivery_status,
        parse_disconnect,
        parse_edit_message,
        parse_history_page,
        parse_new_message,
        parse_react,
        parse_send_message,
        parse_typing,
    )
    from ._signing import (
        Verdict,
        canonical_string,
        content_md5,
        format_date,
        sign_request,
        sign_webhook,
        verify_request,
        verify_webhook,
    )
    from ._validation import SchemaSet, load_schemas
    from ._values import Content, JSONObject, JSONValue, MessageContent, Party, Text, parse_content, parse_party

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "ENDPOINTS",
    "LIMITS",
    "PREFIX",
    "Connect",
    "Content",
    "CreateChat",
    "Disconnect",
    "EditMessage",
    "EndpointSpec",
    "Forwards",
    "HistoryPage",
    "JSONObject",
    "JSONValue",
    "MessageContent",
    "NewMessage",
    "Party",
    "Quote",
    "React",
    "SchemaSet",
    "StatusReport",
    "Text",
    "Typing",
    "Verdict",
    "canonical_string",
    "content_md5",
    "format_date",
    "load_schemas",
    "parse_connect",
    "parse_content",
    "parse_create_chat",
    "parse_delivery_status",
    "parse_disconnect",
    "parse_edit_message",
    "parse_history_page",
    "parse_new_message",
    "parse_party",
    "parse_react",
    "parse_send_message",
    "parse_typing",
    "sign_request",
    "sign_webhook",
    "verify_request",
    "verify_webhook",
]
