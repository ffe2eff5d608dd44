"""amojo's requests as typed values, each parsed once from its schema-checked body.

One ``parse_*`` per endpoint (bound in the endpoint table, :mod:`._endpoints`): the pipeline
checks a body against its schema, then hands the parsed value to the handler and the domain.
Each value gives back its JSON with ``as_json`` — the fields the durable log records for it
(:mod:`mock_amojo.domain._events`), with amojo's names.

>>> request = parse_send_message({"event_type": "new_message", "payload": {
...     "timestamp": 1639604761, "msgid": "m1", "conversation_id": "c1",
...     "sender": {"id": "u1", "name": "Ann"}, "message": {"type": "text", "text": "Hi"}, "silent": None}})
>>> request.msgid, request.sender.name, request.message, request.silent
('m1', 'Ann', Text(text='Hi'), False)
>>> request.as_json()["message"]
{'type': 'text', 'text': 'Hi'}
>>> report = parse_delivery_status({"status_code": -1, "error_code": 905, "error": "Blocked"})
>>> report, report.as_json()
(StatusReport(code=-1, error_code=905, error='Blocked'), {'delivery_status': -1, 'error_code': 905, 'error': 'Blocked'})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ._limits import MAX_INTEGER
from ._values import JSONObject, JSONValue, MessageContent, Party, Value, WireValue, parse_content, parse_party

__all__ = [
    "HISTORY_MAX_LIMIT",
    "Connect",
    "CreateChat",
    "Disconnect",
    "EditMessage",
    "Forwards",
    "HistoryPage",
    "NewMessage",
    "Quote",
    "React",
    "StatusReport",
    "Typing",
    "parse_connect",
    "parse_create_chat",
    "parse_delivery_status",
    "parse_disconnect",
    "parse_edit_message",
    "parse_history_page",
    "parse_new_message",
    "parse_react",
    "parse_send_message",
    "parse_typing",
]

#: The most messages one history page holds.
HISTORY_MAX_LIMIT = 50


def _set(data: dict[str, JSONValue], name: str, field: JSONValue) -> None:
    if field is not None:
        data[name] = field


# -- connecting -------------------------------------------------------------------------------


class Connect(WireValue, frozen=True):
    """``POST /{channel_id}/connect``: an account connects to the channel (absent settings take the channel's)."""

    account_id: str
    title: str | None = None
    hook_api_version: str | None = None
    is_time_window_disabled: bool | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"account_id": self.account_id}
        _set(data, "title", self.title)
        _set(data, "hook_api_version", self.hook_api_version)
        _set(data, "is_time_window_disabled", self.is_time_window_disabled)
        return data


def parse_connect(body: Mapping[str, Any]) -> Connect:
    return Connect(body["account_id"], body.get("title"), body.get("hook_api_version"), body.get("is_time_window_disabled"))


class Disconnect(WireValue, frozen=True):
    """``DELETE /{channel_id}/disconnect``: an account disconnects."""

    account_id: str

    def as_json(self) -> dict[str, JSONValue]:
        return {"account_id": self.account_id}


def parse_disconnect(body: Mapping[str, Any]) -> Disconnect:
    return Disconnect(body["account_id"])


# -- chats and messages -----------------------------------------------------------------------


class CreateChat(WireValue, frozen=True):
    """``POST /{scope_id}/chats``: a chat for ``conversation_id`` with its client, from a source (its ``external_id``)."""

    conversation_id: str
    user: Party
    source: str | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"conversation_id": self.conversation_id, "user": self.user.as_json()}
        if self.source is not None:
            data["source"] = {"external_id": self.source}
        return data


def parse_create_chat(body: Mapping[str, Any]) -> CreateChat:
    source = body.get("source")
    return CreateChat(body["conversation_id"], parse_party(body["user"]), None if source is None else source["external_id"])


class Quote(WireValue, frozen=True):
    """A quoted (``reply_to``) or forwarded message: named by amojo's ``id`` or the integration's ``msgid``,
    else given in ``full``, which is shown as sent."""

    id: str | None
    msgid: str | None
    full: JSONObject

    def as_json(self) -> dict[str, JSONValue]:
        return dict(self.full)


def parse_quote(data: Mapping[str, Any]) -> Quote:
    return Quote(data.get("id"), data.get("msgid"), data)


class Forwards(WireValue, frozen=True):
    """Forwarded messages; ``rest`` is the rest of the object (the source chat's ids), shown as sent."""

    messages: tuple[Quote, ...]
    rest: JSONObject

    def as_json(self) -> dict[str, JSONValue]:
        return {**self.rest, "messages": [quote.as_json() for quote in self.messages]}


def parse_forwards(data: Mapping[str, Any]) -> Forwards:
    return Forwards(tuple(parse_quote(m) for m in data["messages"]), {k: v for k, v in data.items() if k != "messages"})


class NewMessage(WireValue, frozen=True):
    """``new_message``: a client's message, or with a ``receiver`` an outgoing one the integration imports."""

    msgid: str
    conversation_id: str
    timestamp: int
    sender: Party
    message: MessageContent
    receiver: Party | None = None
    msec_timestamp: int | None = None
    conversation_ref_id: str | None = None
    silent: bool = False
    #: The source's ``external_id``.
    source: str | None = None
    reply_to: Quote | None = None
    forwards: Forwards | None = None
    #: reply_to came as Kommo's flat quote (stance reply_to_flat): the same quote, recorded in the RU shape.
    reply_to_flat: bool = False

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {
            "msgid": self.msgid,
            "conversation_id": self.conversation_id,
            "timestamp": self.timestamp,
            "sender": self.sender.as_json(),
            "message": self.message.as_json(),
        }
        if self.receiver is not None:
            data["receiver"] = self.receiver.as_json()
        _set(data, "msec_timestamp", self.msec_timestamp)
        _set(data, "conversation_ref_id", self.conversation_ref_id)
        if self.silent:
            data["silent"] = True
        if self.source is not None:
            data["source"] = {"external_id": self.source}
        if self.reply_to is not None:
            data["reply_to"] = {"message": self.reply_to.as_json()}
        if self.forwards is not None:
            data["forwards"] = self.forwards.as_json()
        return data


def parse_new_message(payload: Mapping[str, Any]) -> NewMessage:
    """A schema-checked ``new_message`` payload (the hot path: one call per message, nothing it does not need)."""
    get = payload.get
    receiver, source, reply_to, forwards = get("receiver"), get("source"), get("reply_to"), get("forwards")
    # The RU reference nests the quote as reply_to.message; Kommo's OpenAPI sends it as reply_to itself.
    quoted = None if reply_to is None else reply_to.get("message")
    return NewMessage(
        payload["msgid"],
        payload["conversation_id"],
        payload["timestamp"],
        parse_party(payload["sender"]),
        parse_content(payload["message"]),
        None if receiver is None else parse_party(receiver),
        get("msec_timestamp"),
        get("conversation_ref_id"),
        get("silent") is True,
        None if source is None else source["external_id"],
        None if reply_to is None else parse_quote(reply_to if quoted is None else quoted),
        None if forwards is None else parse_forwards(forwards),
        reply_to is not None and quoted is None,
    )


class StatusReport(WireValue, frozen=True):
    """A delivery status the integration reports: 1 delivered, 2 read, -1 error (with ``error_code``, ``error``)."""

    code: int | None
    error_code: int | None = None
    error: str | None = None

    def as_json(self) -> dict[str, JSONValue]:
        # The endpoint's name for the code; status_code, the other name it takes, means the same.
        return self._json("delivery_status")

    def _json(self, code_name: str) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {code_name: self.code}
        _set(data, "error_code", self.error_code)
        _set(data, "error", self.error)
        return data


def parse_delivery_status(body: Mapping[str, Any]) -> StatusReport:
    """``POST /{scope_id}/{msgid}/delivery_status`` (its status as ``delivery_status`` or ``status_code``)."""
    code = body.get("delivery_status")
    code = body.get("status_code") if code is None else code
    return StatusReport(_integer(code), _integer(body.get("error_code")), body.get("error"))


def _integer(code: Any) -> Any:
    """A status or error code as amojo reads it: Kommo's OpenAPI spells them as strings (stance delivery_status_string)."""
    return int(code) if code.__class__ is str else code


class EditMessage(WireValue, frozen=True):
    """``edit_message``: new content for the message ``id`` (amojo's; a ``msgid`` given too renames it) or ``msgid`` names,
    and the delivery status it reports, if any."""

    message: MessageContent
    id: str | None = None
    msgid: str | None = None
    conversation_id: str | None = None
    status: StatusReport | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {}
        _set(data, "id", self.id)
        _set(data, "msgid", self.msgid)
        _set(data, "conversation_id", self.conversation_id)
        message = self.message.as_json()
        if self.status is not None:
            # An edit's status names its code status_code only (definitions.json, message_delivery_status).
            message["delivery_status"] = self.status._json("status_code")
        data["message"] = message
        return data


def parse_edit_message(payload: Mapping[str, Any]) -> EditMessage:
    message = payload["message"]
    status = message.get("delivery_status")
    if "delivery_status" in message:
        message = {k: v for k, v in message.items() if k != "delivery_status"}
    return EditMessage(
        parse_content(message),
        payload.get("id"),
        payload.get("msgid"),
        payload.get("conversation_id"),
        # An empty (or null) status reports nothing; one whose fields are all null reports an unknown status.
        StatusReport(status.get("status_code"), status.get("error_code"), status.get("error")) if status else None,
    )


def parse_send_message(body: Mapping[str, Any]) -> NewMessage | EditMessage:
    """``POST /{scope_id}``: ``new_message`` or ``edit_message`` (the top-level ``account_id`` some examples send is unused)."""
    if body["event_type"] == "edit_message":
        return parse_edit_message(body["payload"])
    return parse_new_message(body["payload"])


# -- what the client does in a chat ---------------------------------------------------------


class Typing(WireValue, frozen=True):
    """``POST /{scope_id}/typing``: the client types in the chat either id names, for ``duration_ms`` (5 s unless given)."""

    sender: Party
    conversation_id: str | None = None
    conversation_ref_id: str | None = None
    duration_ms: int | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {}
        _set(data, "conversation_id", self.conversation_id)
        _set(data, "conversation_ref_id", self.conversation_ref_id)
        data["sender"] = self.sender.as_json()
        _set(data, "duration_ms", self.duration_ms)
        return data


def parse_typing(body: Mapping[str, Any]) -> Typing:
    return Typing(parse_party(body["sender"]), body.get("conversation_id"), body.get("conversation_ref_id"), body.get("duration_ms"))


class React(WireValue, frozen=True):
    """``POST /{scope_id}/react``: the client reacts to a message (``id`` or ``msgid``) of a chat, or takes it back."""

    user: Party
    type: Literal["react", "unreact"]
    emoji: str | None = None
    id: str | None = None
    msgid: str | None = None
    conversation_id: str | None = None
    conversation_ref_id: str | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {}
        _set(data, "conversation_id", self.conversation_id)
        _set(data, "conversation_ref_id", self.conversation_ref_id)
        _set(data, "id", self.id)
        _set(data, "msgid", self.msgid)
        data["user"] = self.user.as_json()
        data["type"] = self.type
        _set(data, "emoji", self.emoji)
        return data


def parse_react(body: Mapping[str, Any]) -> React:
    return React(
        parse_party(body["user"]),
        body["type"],
        body.get("emoji"),
        body.get("id"),
        body.get("msgid"),
        body.get("conversation_id"),
        body.get("conversation_ref_id"),
    )


# -- history --------------------------------------------------------------------------------


class HistoryPage(Value, frozen=True):
    """``GET /{scope_id}/chats/{chat_id}/history``: ``offset`` newest messages skipped, at most ``limit`` shown."""

    offset: int = 0
    limit: int = HISTORY_MAX_LIMIT


def parse_history_page(offset: str | None, limit: str | None) -> HistoryPage:
    """The page the query asks for; a limit above :data:`HISTORY_MAX_LIMIT` is that limit (amojo's)."""
    return HistoryPage(
        _query_int("offset", offset, 0, minimum=0), min(_query_int("limit", limit, HISTORY_MAX_LIMIT, minimum=1), HISTORY_MAX_LIMIT)
    )


def _query_int(name: str, raw: str | None, default: int, *, minimum: int) -> int:
    if raw is None or raw == "":
        return default
    # Imported here: errors imports the signing module, which imports the endpoint table, which imports this module.
    from ..errors import InvalidQuery

    try:
        number = int(raw)
    except ValueError:
        raise InvalidQuery(
            f"Query parameter {name}={raw!r} is not an integer.",
            hint=f"Send {name} as a whole number.",
            detail={"parameter": name, "value": raw},
        ) from None
    if number < minimum:
        raise InvalidQuery(
            f"Query parameter {name}={number} is below {minimum}.",
            hint=f"Send {name} ≥ {minimum}.",
            detail={"parameter": name, "value": number},
        )
    if number > MAX_INTEGER:
        raise InvalidQuery(
            f"Query parameter {name}={number} is above {MAX_INTEGER}.",
            hint=f"Send {name} ≤ {MAX_INTEGER} (2^53 - 1, the largest integer JSON carries exactly).",
            detail={"parameter": name, "value": raw},
        )
    return number
