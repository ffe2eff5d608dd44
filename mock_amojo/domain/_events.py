"""The durable format: every state change as a named domain event with named fields.

A state file records what happened in amojo's and amoCRM's terms — never a Python method and
its arguments — so renaming or reshaping a :class:`~mock_amojo.domain.Backend` method cannot
change what a file means. :data:`EVENTS` is the whole format (version :data:`FORMAT_VERSION`):
each event's fields, and the domain operation replay re-runs with them. Fields taken from an
amojo request keep amojo's names (amojo-api.md); an absent field stays absent. A request is
recorded as its typed value's JSON (:mod:`mock_amojo.wire._requests`, ``as_json``) and parsed
back into that value on replay, so explicit nulls, and unknown keys inside objects the domain
reads (a sender's), are not written; they never changed state, and files that have them load.

========================  ========================================================  ======================
event                     what happened                                             replay re-runs
========================  ========================================================  ======================
state_cleared             everything forgotten (reset)                              ``clear``
channel_registered        amoCRM support registered (or re-registered) a channel    ``register_channel``
channel_webhook_set       the channel's webhook URL changed                         ``set_webhook_url``
channel_changed           settings of a channel changed (the fields given)          ``update_channel``
account_registered        an account (and its CRM users) exists                     ``register_account``
account_allowed           a private channel accepts one more account                ``allow_account``
account_connected         the integration connected an account (a scope)            ``connect``
account_disconnected      the integration disconnected it                           ``disconnect``
chat_created              the integration created a chat                            ``create_chat``
message_received          a client's message came in (new_message, no receiver)     ``send_message``
message_imported          the integration imported an outgoing message              ``send_message``
message_edited            the integration edited a message (edit_message)           ``send_message``
delivery_status_reported  the integration reported a message's delivery status      ``delivery_status``
typing_reported           the integration reported a client typing                  ``typing``
reaction_reported         the integration reported a client's (un)reaction          ``react``
manager_replied           a manager answered in a chat                              ``operator_reply``
manager_wrote_first       a manager started a chat from a phone number              ``operator_initiate``
manager_typed             a manager typed                                           ``operator_typing``
manager_reacted           a manager reacted to a message (or took it back)          ``operator_react``
crm_subdomain_set         an account's REST API answers on another subdomain        ``set_subdomain``
integration_registered    an integration (OAuth client) was registered              ``register_integration``
integration_installed     an account installed it: an authorization code            ``install_integration``
integration_uninstalled   an account removed it: its tokens are revoked             ``uninstall_integration``
oauth_token_requested     POST /oauth2/access_token (code or refresh token)         ``oauth_token``
long_lived_token_issued   a long-lived token was issued (tests)                     ``issue_token``
pipelines_added           POST /api/v4/leads/pipelines                              ``add_pipelines``
sources_added             POST /api/v4/sources                                      ``add_sources``
sources_updated           PATCH /api/v4/sources[/{id}]                              ``update_sources``
sources_deleted           DELETE /api/v4/sources[/{id}]                             ``delete_sources``
leads_added               POST /api/v4/leads                                        ``add_leads``
leads_updated             PATCH /api/v4/leads[/{id}]                                ``update_leads``
contacts_added            POST /api/v4/contacts                                     ``add_contacts``
chats_linked              POST /api/v4/contacts/chats                               ``link_chats``
unsorted_accepted         POST /api/v4/leads/unsorted/{uid}/accept                  ``accept_unsorted``
unsorted_declined         DELETE /api/v4/leads/unsorted/{uid}/decline               ``decline_unsorted``
unsorted_linked           POST /api/v4/leads/unsorted/{uid}/link                    ``link_unsorted``
talk_closed               POST /api/v4/talks/{id}/close                             ``close_talk``
========================  ========================================================  ======================

The REST events keep the request body as amoCRM received it (``body``), so a replay re-runs the
same validation; the account is named by its amojo id.

A Backend method names the events it records (``@mutation("chat_created")``); at import its
parameters are checked against the event, so a renamed parameter fails loudly instead of
writing different files. Changing an event's name or fields is a new format: bump
:data:`FORMAT_VERSION` and add the upgrade to :mod:`mock_amojo.domain._upgrades`.

>>> EVENTS["account_connected"].fields
('channel_id', 'account_id', 'title', 'hook_api_version', 'is_time_window_disabled')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ..wire import _requests as requests
from ..wire import _rest_requests as rest
from ..wire._requests import EditMessage, NewMessage
from ..wire._rest_requests import RestBody
from ..wire._values import WireValue, parse_content
from ._parties import CHANNEL_SETTINGS, ChannelChanges

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["EVENTS", "FORMAT_VERSION", "Event", "recorder"]

#: The format state files are written in; older ones are upgraded (:mod:`mock_amojo.domain._upgrades`).
FORMAT_VERSION = 2

Data = dict[str, Any]


class Event(msgspec.Struct, frozen=True):
    """One kind of event: its name and fields (the format) and how it is recorded and replayed."""

    name: str
    fields: tuple[str, ...]
    #: Re-runs the domain operation with the event's fields.
    replay: Callable[[Backend, Data], object]
    #: The recording method's arguments, by parameter name -> the event's data, or None when a
    #: call of that method is another of its events. None here: the parameters are the fields.
    record: Callable[..., Data | None] | None = None


_CONNECT = ("account_id", "title", "hook_api_version", "is_time_window_disabled")
_CREATE_CHAT = ("conversation_id", "user", "source")
_NEW_MESSAGE = (
    "msgid",
    "conversation_id",
    "conversation_ref_id",
    "timestamp",
    "msec_timestamp",
    "sender",
    "message",
    "silent",
    "source",
    "reply_to",
    "forwards",
)
_EDIT_MESSAGE = ("id", "msgid", "conversation_id", "message")
_STATUS = ("delivery_status", "status_code", "error_code", "error")
_TYPING = ("conversation_id", "conversation_ref_id", "sender", "duration_ms")
_REACT = ("conversation_id", "conversation_ref_id", "id", "msgid", "user", "type", "emoji")


def _request(data: Data, *parameters: str) -> Data:
    """The amojo request an event's data came from: its fields without the operation's parameters."""
    return {name: value for name, value in data.items() if name not in parameters}


def _as(event_data: Data, request: WireValue) -> Data:
    """The event's data: the operation's parameters and the request's fields (:meth:`~mock_amojo.wire._values.WireValue.as_json`)."""
    event_data.update(request.as_json())
    return event_data


# The Backend's own rule: edit_message edits; a new message with a receiver is an import.
def _received(scope_id: str, request: NewMessage | EditMessage) -> Data | None:
    if not isinstance(request, NewMessage) or request.receiver is not None:
        return None
    return _as({"scope_id": scope_id}, request)


def _imported(scope_id: str, request: NewMessage | EditMessage) -> Data | None:
    if not isinstance(request, NewMessage) or request.receiver is None:
        return None
    return _as({"scope_id": scope_id}, request)


def _edited(scope_id: str, request: NewMessage | EditMessage) -> Data | None:
    return _as({"scope_id": scope_id}, request) if isinstance(request, EditMessage) else None


def _send(parse: Callable[[Data], NewMessage | EditMessage]) -> Callable[[Backend, Data], object]:
    def replay(backend: Backend, data: Data) -> object:
        return backend.send_message(data["scope_id"], parse(_request(data, "scope_id")))

    return replay


def _with_content(data: Data) -> Data:
    """A manager action's data with its ``message`` parsed (the operator's content)."""
    return {**data, "message": parse_content(data["message"])}


def _table() -> dict[str, Event]:
    # A function, so that type checkers see the Backend's methods before checking the table.
    return {
        event.name: event
        for event in (
            Event("state_cleared", (), lambda b, d: b.clear()),
            Event(
                "channel_registered",
                ("id", "secret", "name", "webhook_url", "hook_api_version", "strict", "allowed_accounts", "write_first", "replace"),
                lambda b, d: b.register_channel(**d),
            ),
            Event("channel_webhook_set", ("channel_id", "webhook_url"), lambda b, d: b.set_webhook_url(**d)),
            Event(
                "channel_changed",
                ("channel_id", *CHANNEL_SETTINGS),
                lambda b, d: b.update_channel(d["channel_id"], ChannelChanges(**_request(d, "channel_id"))),
                lambda channel_id, changes: {"channel_id": channel_id, **changes.as_json()},
            ),
            Event("account_registered", ("amojo_id", "name", "users"), lambda b, d: b.register_account(**d)),
            Event("account_allowed", ("channel_id", "account_id"), lambda b, d: b.allow_account(**d)),
            Event(
                "account_connected",
                ("channel_id", *_CONNECT),
                lambda b, d: b.connect(d["channel_id"], requests.parse_connect(d)),
                lambda channel_id, request: _as({"channel_id": channel_id}, request),
            ),
            Event(
                "account_disconnected",
                ("channel_id", "account_id"),
                lambda b, d: b.disconnect(d["channel_id"], requests.parse_disconnect(d)),
                lambda channel_id, request: _as({"channel_id": channel_id}, request),
            ),
            Event(
                "chat_created",
                ("scope_id", *_CREATE_CHAT),
                lambda b, d: b.create_chat(d["scope_id"], requests.parse_create_chat(d)),
                lambda scope_id, request: _as({"scope_id": scope_id}, request),
            ),
            Event("message_received", ("scope_id", *_NEW_MESSAGE), _send(requests.parse_new_message), _received),
            Event("message_imported", ("scope_id", *_NEW_MESSAGE, "receiver"), _send(requests.parse_new_message), _imported),
            Event("message_edited", ("scope_id", *_EDIT_MESSAGE), _send(requests.parse_edit_message), _edited),
            Event(
                "delivery_status_reported",
                ("scope_id", "message_id", *_STATUS),
                lambda b, d: b.delivery_status(d["scope_id"], d["message_id"], requests.parse_delivery_status(d)),
                lambda scope_id, amojo_msgid, report: _as({"scope_id": scope_id, "message_id": amojo_msgid}, report),
            ),
            Event(
                "typing_reported",
                ("scope_id", *_TYPING),
                lambda b, d: b.typing(d["scope_id"], requests.parse_typing(d)),
                lambda scope_id, request: _as({"scope_id": scope_id}, request),
            ),
            Event(
                "reaction_reported",
                ("scope_id", *_REACT),
                lambda b, d: b.react(d["scope_id"], requests.parse_react(d)),
                lambda scope_id, request: _as({"scope_id": scope_id}, request),
            ),
            Event(
                "manager_replied",
                ("scope_id", "conversation_id", "chat_id", "message", "user_id", "reply_to"),
                lambda b, d: b.operator_reply(**_with_content(d)),
            ),
            Event(
                "manager_wrote_first",
                ("scope_id", "phone", "message", "name", "user_id", "source"),
                lambda b, d: b.operator_initiate(**_with_content(d)),
            ),
            Event("manager_typed", ("scope_id", "conversation_id", "chat_id", "user_id"), lambda b, d: b.operator_typing(**d)),
            Event("manager_reacted", ("scope_id", "message_id", "emoji", "type", "user_id"), lambda b, d: b.operator_react(**d)),
            Event("crm_subdomain_set", ("account_id", "subdomain"), lambda b, d: b.set_subdomain(**d)),
            Event(
                "integration_registered", ("client_id", "client_secret", "redirect_uri", "name"), lambda b, d: b.register_integration(**d)
            ),
            Event("integration_installed", ("client_id", "account_id"), lambda b, d: b.install_integration(**d)),
            Event("integration_uninstalled", ("client_id", "account_id"), lambda b, d: b.uninstall_integration(**d)),
            Event(
                "oauth_token_requested",
                ("client_id", "client_secret", "grant_type", "code", "refresh_token", "redirect_uri"),
                lambda b, d: b.oauth_token(**d),
            ),
            Event("long_lived_token_issued", ("client_id", "account_id", "lifetime"), lambda b, d: b.issue_token(**d)),
            Event(
                "pipelines_added",
                ("account_id", "body"),
                lambda b, d: b.add_pipelines(d["account_id"], rest.parse_pipelines_add(d["body"])),
            ),
            Event(
                "sources_added",
                ("account_id", "client_id", "body"),
                lambda b, d: b.add_sources(d["account_id"], d["client_id"], rest.parse_sources_add(d["body"])),
            ),
            Event(
                "sources_updated",
                ("account_id", "client_id", "body", "source_id"),
                lambda b, d: b.update_sources(
                    d["account_id"], d["client_id"], rest.parse_sources_update(d["body"], d["source_id"]), d["source_id"]
                ),
            ),
            Event("sources_deleted", ("account_id", "client_id", "source_ids"), lambda b, d: b.delete_sources(**d)),
            Event("leads_added", ("account_id", "body"), lambda b, d: b.add_leads(d["account_id"], rest.parse_leads_add(d["body"]))),
            Event(
                "leads_updated",
                ("account_id", "body", "lead_id"),
                lambda b, d: b.update_leads(d["account_id"], rest.parse_leads_update(d["body"], d["lead_id"]), d["lead_id"]),
            ),
            Event(
                "contacts_added", ("account_id", "body"), lambda b, d: b.add_contacts(d["account_id"], rest.parse_contacts_add(d["body"]))
            ),
            Event("chats_linked", ("account_id", "body"), lambda b, d: b.link_chats(d["account_id"], rest.parse_chat_links(d["body"]))),
            Event(
                "unsorted_accepted",
                ("account_id", "uid", "body"),
                lambda b, d: b.accept_unsorted(d["account_id"], d["uid"], rest.parse_accept(d["body"])),
            ),
            Event("unsorted_declined", ("account_id", "uid"), lambda b, d: b.decline_unsorted(**d)),
            Event(
                "unsorted_linked",
                ("account_id", "uid", "body"),
                lambda b, d: b.link_unsorted(d["account_id"], d["uid"], rest.parse_link_unsorted(d["body"])),
            ),
            Event("talk_closed", ("account_id", "talk_id", "force_close"), lambda b, d: b.close_talk(**d)),
        )
    }


#: Every event of the format, by name.
EVENTS: Mapping[str, Event] = _table()

#: A mutation's call (positional and keyword arguments) -> its event's name and data.
Recorder = Callable[[tuple[Any, ...], dict[str, Any]], tuple[str, Data]]


def recorder(method: Callable[..., Any], names: tuple[str, ...]) -> Recorder:
    """How calls of the Backend ``method`` are recorded as the events ``names``; checked once, at import.

    The method's parameters must be the event's fields, or the parameters of the event's
    ``record``: a renamed parameter raises here rather than writing another format.
    """
    signature = inspect.signature(method)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    params = tuple(p.name for p in parameters)
    where = method.__qualname__  # its signature is formatted only for an error: formatting one per method slowed every start
    unknown = [name for name in names if name not in EVENTS]
    if not names or unknown:
        raise TypeError(
            f"{where}{signature}: records no event of the format, or unknown ones {unknown}; see mock_amojo.domain._events.EVENTS"
        )
    events = [EVENTS[name] for name in names]
    for event in events:
        if event.record is None:
            if len(events) > 1 or set(params) != set(event.fields):
                raise TypeError(
                    f"{where}{signature}: its parameters are no longer the fields {event.fields} of event {event.name!r}; "
                    "give the event a record function, or change the format (mock_amojo.domain._upgrades)"
                )
        elif _shape(inspect.signature(event.record).parameters.values()) != _shape(parameters):
            raise TypeError(
                f"{where}{signature}: the parameters of event {event.name!r}'s record function differ; update it in mock_amojo.domain._events"
            )
    if events[0].record is None:
        return _fields_recorder(events[0].name, signature, parameters)
    records = tuple((event.name, event.record) for event in events if event.record is not None)

    def record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Data]:
        try:
            for name, make in records:
                data = make(*args, **kwargs)
                if data is not None:
                    return name, data
        except TypeError:
            signature.bind(None, *args, **kwargs)  # the TypeError Python gives a call with wrong arguments
            raise
        raise TypeError(f"{where}{signature}: a call that is none of its events {names}")

    return record


def _shape(parameters: Iterable[inspect.Parameter]) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in parameters]


def _fields_recorder(name: str, signature: inspect.Signature, parameters: list[inspect.Parameter]) -> Recorder:
    """Records calls of a method whose parameters are the event's fields, defaults written out."""
    params = tuple(p.name for p in parameters)
    positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)
    allowed = frozenset(params)
    defaults = {p.name: p.default for p in parameters if p.default is not p.empty}

    def record(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Data]:
        if len(args) > positional or (kwargs and not (kwargs.keys() <= allowed and kwargs.keys().isdisjoint(params[: len(args)]))):
            signature.bind(None, *args, **kwargs)  # the TypeError Python gives a call with wrong arguments
        bound = {**defaults, **dict(zip(params, args, strict=False)), **kwargs}
        if len(bound) < len(params):
            signature.bind(None, *args, **kwargs)
        for key, field in bound.items():
            if isinstance(field, WireValue):  # a manager's message: its JSON
                bound[key] = field.as_json()
            elif isinstance(field, RestBody):  # amoCRM's REST bodies are recorded as received
                bound[key] = field.recorded
        return name, bound

    return record
