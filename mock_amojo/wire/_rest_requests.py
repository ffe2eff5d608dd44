"""amoCRM's REST request bodies as typed values, each parsed once at the edge.

One ``parse_*`` per endpoint. A parse refuses at once what makes a body unreadable (not an
array, too many items: amoCRM's 400 before any field), and keeps in ``problems`` what the
body's fields break (a string where an int goes, a blank required field): the domain adds what
the state refuses (an unknown pipeline, a taken ``external_id``) and answers one
``validation-errors`` naming all of them, as amoCRM does. Nothing past the edge reads the JSON:
``recorded`` is the body as received, only for the durable log, whose events keep amoCRM's
request bodies (:mod:`mock_amojo.domain._events`).

>>> batch = parse_leads_add([{"name": "Deal", "price": 100}, {"price": "1000", "status_id": 142}])
>>> batch.items[0]
LeadFields(request_id='0', name='Deal', price=100, pipeline_id=None, status_id=None, responsible_user_id=None, contacts=(), id=None)
>>> batch.problems
(('1', 'InvalidType', '1.price', 'This value should be of type int.'),)
>>> parse_accept({"status_id": 142}).status_id, parse_accept(None).problems
(142, ())
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from ..errors import CrmValidation
from ._rest_input import Problem, Problems, body_list
from ._values import JSONObject, JSONValue, Value

__all__ = [
    "EXTERNAL_ID_LIMIT",
    "Accept",
    "Batch",
    "ChatLink",
    "ContactFields",
    "LeadFields",
    "LinkUnsorted",
    "RestBody",
    "SourceFields",
    "parse_accept",
    "parse_chat_links",
    "parse_close_talk",
    "parse_contacts_add",
    "parse_leads_add",
    "parse_leads_update",
    "parse_link_unsorted",
    "parse_pipelines_add",
    "parse_sources_add",
    "parse_sources_update",
]

#: amojo-api.md: source.external_id is at most 40 printable ASCII characters.
EXTERNAL_ID_LIMIT = 40

_T = TypeVar("_T")


class RestBody:
    """A parsed REST body: the problems its fields have, and the body as received (``recorded``) for the durable log."""

    __slots__ = ()
    problems: tuple[Problem, ...]
    recorded: JSONValue


class Batch(Value, RestBody, Generic[_T], frozen=True):
    """The items of an add or update (amoCRM takes up to 250 per request), the problems their fields have."""

    items: tuple[_T, ...]
    problems: tuple[Problem, ...]
    #: How to fix the body, for the 400 (the state's problems take the same hint).
    hint: str = ""
    #: The body as received: what the durable log records.
    recorded: JSONValue = None


def _batch(items: list[_T], problems: Problems, hint: str, body: Any) -> Batch[_T]:
    return Batch(tuple(items), tuple(problems.errors), hint, body)


# -- pipelines and sources --------------------------------------------------------------------


def parse_pipelines_add(body: Any) -> Batch[str]:
    """``POST /api/v4/leads/pipelines``: each pipeline's name."""
    items = body_list(body, "pipelines", limit=50)
    problems = Problems()
    names = [problems.text(problems.item(items, n), "name", str(n), required=True) for n in range(len(items))]
    return _batch(names, problems, "", body)


class SourceFields(Value, frozen=True):
    """One source of ``POST``/``PATCH /api/v4/sources``; None: not given (an update keeps the source's)."""

    request_id: str
    name: str
    external_id: str | None
    pipeline_id: int | None
    default: bool | None
    origin_code: str | None
    services: tuple[JSONObject, ...] | None
    id: int | None = None


def _services(problems: Problems, item: dict[str, Any], rid: str) -> tuple[JSONObject, ...]:
    services = item.get("services")
    if services is None:
        return ()
    if not isinstance(services, list) or not all(isinstance(s, dict) for s in services):
        problems.add(rid, "InvalidType", f"{rid}.services", "services is an array of objects ({type, pages}).")
        return ()
    return tuple(services)


def _external_id(problems: Problems, item: dict[str, Any], rid: str) -> str:
    found = problems.text(item, "external_id", rid, required=True, limit=EXTERNAL_ID_LIMIT)
    if found and not (found.isascii() and found.isprintable()):
        problems.add(rid, "InvalidValue", f"{rid}.external_id", "external_id takes printable ASCII characters only.")
    return found


def parse_sources_add(body: Any) -> Batch[SourceFields]:
    """``POST /api/v4/sources``: ``name`` and ``external_id`` required; ``pipeline_id``, ``default``, ``origin_code``, ``services``."""
    items = body_list(body, "sources")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        rid = str(index)
        item = problems.item(items, index)
        name = problems.text(item, "name", rid, required=True)
        external_id = _external_id(problems, item, rid)
        pipeline_id = problems.integer(item, "pipeline_id", rid)
        default = problems.flag(item, "default", rid)
        origin = problems.text(item, "origin_code", rid) or None
        parsed.append(SourceFields(rid, name, external_id, pipeline_id, default, origin, _services(problems, item, rid)))
    hint = "Each source needs name and a unique external_id (≤ 40 characters); pipeline_id must be a pipeline of the account."
    return _batch(parsed, problems, hint, body)


def parse_sources_update(body: Any, source_id: int | None = None) -> Batch[SourceFields]:
    """``PATCH /api/v4/sources`` (each item names its ``id``) or ``PATCH /api/v4/sources/{id}``; absent fields are kept."""
    items = body_list(body, "sources")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        rid = str(index)
        item = problems.item(items, index)
        sid = source_id if source_id is not None else problems.integer(item, "id", rid, required=True)
        if sid is None:
            continue
        name = problems.text(item, "name", rid)
        external_id = _external_id(problems, item, rid) if "external_id" in item else None
        pipeline_id = problems.integer(item, "pipeline_id", rid)
        default = problems.flag(item, "default", rid)
        services = _services(problems, item, rid) if "services" in item else None
        parsed.append(SourceFields(rid, name, external_id, pipeline_id, default, None, services, sid))
    return _batch(parsed, problems, "", body)


# -- leads and contacts ----------------------------------------------------------------------


class LeadFields(Value, frozen=True):
    """One lead of ``POST``/``PATCH /api/v4/leads``; ``contacts``: ``_embedded.contacts`` ids (None where one is unreadable)."""

    request_id: str
    name: str
    price: int | None
    pipeline_id: int | None
    status_id: int | None
    responsible_user_id: int | None
    contacts: tuple[int | None, ...]
    id: int | None = None


def _contacts(problems: Problems, item: dict[str, Any], rid: str) -> tuple[int | None, ...]:
    embedded = item.get("_embedded") or {}
    contacts = embedded.get("contacts") if isinstance(embedded, dict) else None
    if contacts is None:
        return ()
    return tuple(
        problems.integer(entry if isinstance(entry, dict) else {}, "id", f"{rid}._embedded.contacts.{n}", required=True)
        for n, entry in enumerate(contacts if isinstance(contacts, list) else [None])
    )


def _lead(problems: Problems, item: dict[str, Any], rid: str, lead_id: int | None) -> LeadFields:
    return LeadFields(
        rid,
        problems.text(item, "name", rid),
        problems.integer(item, "price", rid),
        problems.integer(item, "pipeline_id", rid),
        problems.integer(item, "status_id", rid),
        problems.integer(item, "responsible_user_id", rid),
        _contacts(problems, item, rid),
        lead_id,
    )


def parse_leads_add(body: Any) -> Batch[LeadFields]:
    """``POST /api/v4/leads``: each lead with its ``request_id`` (default: its index)."""
    items = body_list(body, "leads")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        parsed.append(_lead(problems, item, str(item.get("request_id", index)), None))
    hint = "Fix the fields named in validation-errors; leads take name, price, pipeline_id, status_id, responsible_user_id."
    return _batch(parsed, problems, hint, body)


def parse_leads_update(body: Any, lead_id: int | None = None) -> Batch[LeadFields]:
    """``PATCH /api/v4/leads`` (each item names its ``id``; one without is only refused) or ``PATCH /api/v4/leads/{id}``."""
    items = body_list(body, "leads")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        target = lead_id if lead_id is not None else problems.integer(item, "id", rid, required=True)
        if target is not None:
            parsed.append(_lead(problems, item, rid, target))
    return _batch(parsed, problems, "", body)


class ContactFields(Value, frozen=True):
    """One contact of ``POST /api/v4/contacts``: ``phones`` the first value of each PHONE field, ``email`` the first EMAIL."""

    request_id: str
    name: str
    first_name: str
    last_name: str
    responsible_user_id: int | None
    phones: tuple[str, ...]
    email: str


def _field_values(values: list[Any]) -> tuple[tuple[str, ...], str]:
    phones: list[str] = []
    email = ""
    for entry in values:
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
            continue
        texts = [v.get("value") for v in entry["values"] if isinstance(v, dict)]
        first = next((v for v in texts if isinstance(v, str) and v), "")
        if entry.get("field_code") == "PHONE":
            phones.append(first)
        elif entry.get("field_code") == "EMAIL" and not email:
            email = first
    return tuple(phones), email


def parse_contacts_add(body: Any) -> Batch[ContactFields]:
    """``POST /api/v4/contacts``: names, ``responsible_user_id``, PHONE and EMAIL ``custom_fields_values``."""
    items = body_list(body, "contacts")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        name = problems.text(item, "name", rid)
        first, last = problems.text(item, "first_name", rid), problems.text(item, "last_name", rid)
        responsible = problems.integer(item, "responsible_user_id", rid)
        values = item.get("custom_fields_values")
        if values is not None and not isinstance(values, list):
            problems.add(rid, "InvalidType", f"{rid}.custom_fields_values", "custom_fields_values is an array of {field_code, values}.")
        phones, email = _field_values(values) if isinstance(values, list) else ((), "")
        parsed.append(ContactFields(rid, name, first, last, responsible, phones, email))
    return _batch(parsed, problems, "", body)


class ChatLink(Value, frozen=True):
    """One link of ``POST /api/v4/contacts/chats``: amojo's chat id and the contact it belongs to."""

    request_id: str
    chat_id: str
    contact_id: int | None


def parse_chat_links(body: Any) -> Batch[ChatLink]:
    items = body_list(body, "chat links")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        chat_id = problems.text(item, "chat_id", rid, required=True)
        parsed.append(ChatLink(rid, chat_id, problems.integer(item, "contact_id", rid, required=True)))
    hint = "A chat links to one contact; link it before its first message to have the incoming lead use that contact."
    return _batch(parsed, problems, hint, body)


# -- incoming leads and talks ----------------------------------------------------------------


class Accept(Value, RestBody, frozen=True):
    """``POST /api/v4/leads/unsorted/{uid}/accept``: the responsible ``user_id`` and the ``status_id`` to move to."""

    user_id: int | None
    status_id: int | None
    problems: tuple[Problem, ...] = ()
    recorded: JSONValue = None


def parse_accept(body: Any) -> Accept:
    item = body if isinstance(body, dict) else {}
    problems = Problems()
    user_id, status_id = problems.integer(item, "user_id", "0"), problems.integer(item, "status_id", "0")
    return Accept(user_id, status_id, tuple(problems.errors), body)


class LinkUnsorted(Value, RestBody, frozen=True):
    """``POST /api/v4/leads/unsorted/{uid}/link``: the lead (``link.entity_id``) the incoming lead joins."""

    entity_id: int | None
    problems: tuple[Problem, ...] = ()
    recorded: JSONValue = None

    HINT: ClassVar[str] = 'Send {"link": {"entity_id": <lead id>, "entity_type": "leads"}}.'


def parse_link_unsorted(body: Any) -> LinkUnsorted:
    link = body.get("link") if isinstance(body, dict) else None
    problems = Problems()
    entity_id = problems.integer(link if isinstance(link, dict) else {}, "entity_id", "link", required=True)
    if isinstance(link, dict) and link.get("entity_type") not in ("leads", None):
        problems.add("0", "NotSupportedChoice", "link.entity_type", "The fake links incoming leads to leads only (entity_type: leads).")
    return LinkUnsorted(entity_id, tuple(problems.errors), body)


def parse_close_talk(body: Any) -> bool:
    """``POST /api/v4/talks/{id}/close`` ``{force_close}``: whether to force it (no body: false)."""
    force = body.get("force_close", False) if isinstance(body, dict) else None
    if not isinstance(force, bool):
        raise CrmValidation([("0", "InvalidType", "force_close", "force_close is true or false.")])
    return force
