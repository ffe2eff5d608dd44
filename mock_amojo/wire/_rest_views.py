"""amoCRM's REST API v4 answers for the CRM state: HAL JSON (``_links``, ``_embedded``, ``_page``).

Pure functions of domain entities and the base URL the request came to (links point back to it,
as amoCRM's point to ``https://{subdomain}.amocrm.ru``). Field names and nesting follow amoCRM's
v4 reference (RU ``/developers/content/crm_platform/…``, EN/Kommo ``developers.kommo.com``) and
the official PHP client ``amocrm/amocrm-api-php`` (its models' ``fromArray``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from ..domain._accounts import CrmAccount, Pipeline
    from ..domain._crm import Contact, Lead, Unsorted
    from ..domain._parties import Account
    from ..domain._sources import Source
    from ..domain._talks import Talk

__all__ = [
    "account_view",
    "contact_view",
    "crm_state",
    "lead_view",
    "link",
    "page_of",
    "pipeline_view",
    "source_view",
    "talk_view",
    "unsorted_view",
    "user_view",
]

#: amoCRM's field ids of the contact fields a chat fills (any ids would do; these are stable per fake).
PHONE_FIELD_ID, EMAIL_FIELD_ID = 1001, 1003


def link(base: str, path: str) -> dict[str, Any]:
    return {"self": {"href": f"{base}{path}"}}


def page_of(
    base: str, path: str, key: str, items: list[dict[str, Any]], page: int, limit: int, query: str = "", total: bool = False
) -> dict[str, Any] | None:
    """Page ``page`` (from 1) of ``items`` as a HAL collection; None when the page is empty (amoCRM answers 204)."""
    start = (page - 1) * limit
    chunk = items[start : start + limit]
    if not chunk:
        return None
    extra = f"&{query}" if query else ""
    links: dict[str, Any] = {"self": {"href": f"{base}{path}?page={page}&limit={limit}{extra}"}}
    if start + limit < len(items):
        links["next"] = {"href": f"{base}{path}?page={page + 1}&limit={limit}{extra}"}
    if page > 1:
        links["prev"] = {"href": f"{base}{path}?page={page - 1}&limit={limit}{extra}"}
    body: dict[str, Any] = {"_page": page, "_links": links, "_embedded": {key: chunk}}
    if total:
        body = {"_total_items": len(items), **body}
    return body


def account_view(base: str, crm: CrmAccount, account: Account, current_user: int, with_: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": crm.id,
        "name": account.name,
        "subdomain": crm.subdomain,
        "created_at": crm.created_at,
        "created_by": 0,
        "updated_at": crm.created_at,
        "updated_by": 0,
        "current_user_id": current_user,
        "country": "RU",
        "currency": "RUB",
        "currency_symbol": "₽",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": True,
        "contact_name_display_order": 1,
        "_links": link(base, "/api/v4/account"),
    }
    if "amojo_id" in with_:
        body["amojo_id"] = crm.amojo_id
    if "amojo_rights" in with_:
        body["amojo_rights"] = {"can_direct": True, "can_create_groups": True}
    if "users_groups" in with_:
        body["_embedded"] = {"users_groups": [{"id": 0, "name": "Отдел продаж", "uuid": None}]}
    return body


def user_view(base: str, user_id: int, amojo_id: str, name: str, with_: set[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user_id,
        "name": name,
        "email": f"user{user_id}@example.com",
        "lang": "ru",
        "rights": {"is_admin": True, "is_free": False, "is_active": True, "group_id": None, "role_id": None},
        "_links": link(base, f"/api/v4/users/{user_id}"),
    }
    if "amojo_id" in with_:
        body["amojo_id"] = amojo_id
    return body


def pipeline_view(base: str, crm: CrmAccount, pipeline: Pipeline) -> dict[str, Any]:
    path = f"/api/v4/leads/pipelines/{pipeline.id}"
    statuses = [
        {
            "id": s.id,
            "name": s.name,
            "sort": s.sort,
            "is_editable": s.is_editable,
            "pipeline_id": pipeline.id,
            "color": s.color,
            "type": s.type,
            "account_id": crm.id,
            "_links": link(base, f"{path}/statuses/{s.id}"),
        }
        for s in pipeline.statuses
    ]
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "sort": pipeline.sort,
        "is_main": pipeline.is_main,
        "is_unsorted_on": pipeline.is_unsorted_on,
        "is_archive": pipeline.is_archive,
        "account_id": crm.id,
        "_links": link(base, path),
        "_embedded": {"statuses": statuses},
    }


def _ref(base: str, kind: str, entity_id: int) -> dict[str, Any]:
    return {"id": entity_id, "_links": link(base, f"/api/v4/{kind}/{entity_id}")}


def lead_view(base: str, crm: CrmAccount, lead: Lead, with_: set[str], source: Source | None = None) -> dict[str, Any]:
    embedded: dict[str, Any] = {"tags": [], "companies": []}
    if "contacts" in with_:
        embedded["contacts"] = [{**_ref(base, "contacts", lead.contact_id), "is_main": True}] if lead.contact_id else []
    if "source" in with_ and source is not None:
        embedded["source"] = {"id": source.id, "name": source.name, "external_id": source.external_id}
    body: dict[str, Any] = {
        "id": lead.id,
        "name": lead.name,
        "price": lead.price,
        "responsible_user_id": lead.responsible_user_id,
        "group_id": 0,
        "status_id": lead.status_id,
        "pipeline_id": lead.pipeline_id,
        "loss_reason_id": None,
        "created_by": 0,
        "updated_by": 0,
        "created_at": int(lead.created_at),
        "updated_at": int(lead.updated_at or lead.created_at),
        "closed_at": int(lead.closed_at) if lead.closed_at is not None else None,
        "closest_task_at": None,
        "is_deleted": lead.is_deleted,
        "custom_fields_values": None,
        "score": None,
        "account_id": crm.id,
        "labor_cost": None,
        "_links": link(base, f"/api/v4/leads/{lead.id}"),
        "_embedded": embedded,
    }
    if "source_id" in with_ or "source" in with_:
        body["source_id"] = lead.source_id
    return body


def contact_fields(contact: Contact) -> list[dict[str, Any]] | None:
    fields = []
    if contact.phone:
        value = {"value": f"+{contact.phone}", "enum_id": 1, "enum_code": "WORK"}
        fields.append(
            {"field_id": PHONE_FIELD_ID, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext", "values": [value]}
        )
    if contact.email:
        value = {"value": contact.email, "enum_id": 2, "enum_code": "WORK"}
        fields.append(
            {"field_id": EMAIL_FIELD_ID, "field_name": "Email", "field_code": "EMAIL", "field_type": "multitext", "values": [value]}
        )
    return fields or None


def contact_view(base: str, crm: CrmAccount, contact: Contact, with_: set[str], lead_ids: Iterable[int] = ()) -> dict[str, Any]:
    first, _, last = contact.name.partition(" ")
    embedded: dict[str, Any] = {"tags": [], "companies": []}
    if "leads" in with_:
        embedded["leads"] = [_ref(base, "leads", lead_id) for lead_id in lead_ids]
    return {
        "id": contact.id,
        "name": contact.name,
        "first_name": first,
        "last_name": last,
        "responsible_user_id": contact.responsible_user_id,
        "group_id": 0,
        "created_by": 0,
        "updated_by": 0,
        "created_at": int(contact.created_at),
        "updated_at": int(contact.updated_at or contact.created_at),
        "closest_task_at": None,
        "is_deleted": False,
        "is_unsorted": False,
        "custom_fields_values": contact_fields(contact),
        "account_id": crm.id,
        "_links": link(base, f"/api/v4/contacts/{contact.id}"),
        "_embedded": embedded,
    }


def unsorted_view(base: str, crm: CrmAccount, unsorted: Unsorted) -> dict[str, Any]:
    """A chat's incoming lead, with the ``chats`` metadata the PHP client's ``ChatsMetadata`` reads."""
    return {
        "uid": unsorted.uid,
        "source_uid": unsorted.source_uid,
        "source_name": unsorted.source_name,
        "category": unsorted.category,
        "pipeline_id": unsorted.pipeline_id,
        "created_at": int(unsorted.created_at),
        "metadata": {
            "from": unsorted.client_name,
            "to": crm.name,
            "received_at": int(unsorted.created_at),
            "service": unsorted.service,
            "client": {"name": unsorted.client_name, "avatar": unsorted.client_avatar or None},
            "origin": {"chat_id": unsorted.chat_id, "ref": None, "visitor_uid": None},
            "last_message_text": unsorted.last_message_text,
            "source_name": unsorted.source_name,
        },
        "account_id": crm.id,
        "_links": link(base, f"/api/v4/leads/unsorted/{unsorted.uid}"),
        "_embedded": {
            "contacts": [_ref(base, "contacts", unsorted.contact_id)],
            "leads": [_ref(base, "leads", unsorted.lead_id)],
            "companies": [],
        },
    }


def sorted_view(base: str, unsorted: Unsorted, lead_id: int) -> dict[str, Any]:
    """The answer to accept, decline and link: the uid and the lead and contact it concerns."""
    return {
        "uid": unsorted.uid,
        "category": unsorted.category,
        "pipeline_id": unsorted.pipeline_id,
        "created_at": int(unsorted.created_at),
        "_embedded": {"leads": [_ref(base, "leads", lead_id)], "contacts": [_ref(base, "contacts", unsorted.contact_id)], "companies": []},
    }


def talk_view(base: str, crm: CrmAccount, talk: Talk) -> dict[str, Any]:
    return {
        "talk_id": talk.id,
        "created_at": int(talk.created_at),
        "updated_at": int(talk.updated_at),
        "rate": talk.rate,
        "contact_id": talk.contact_id,
        "chat_id": talk.chat_id,
        "entity_id": talk.lead_id,
        "entity_type": "lead" if talk.lead_id is not None else None,
        "is_in_work": talk.is_in_work,
        "is_read": talk.is_read,
        "origin": talk.origin,
        "missed_at": None,
        "account_id": crm.id,
        "_links": link(base, f"/api/v4/talks/{talk.id}"),
        "_embedded": {
            "contacts": [_ref(base, "contacts", talk.contact_id)] if talk.contact_id else [],
            "leads": [_ref(base, "leads", talk.lead_id)] if talk.lead_id is not None else [],
        },
    }


def source_view(base: str, source: Source) -> dict[str, Any]:
    return {
        "id": source.id,
        "name": source.name,
        "pipeline_id": source.pipeline_id,
        "external_id": source.external_id,
        "default": source.default,
        "origin_code": source.origin_code,
        "services": source.services,
        "_links": link(base, f"/api/v4/sources/{source.id}"),
    }


def crm_state(crm: dict[str, list[Any]]) -> dict[str, Any]:
    """The REST side as ``/__mock__/state`` shows it (integrations without their secret keys)."""
    return {
        "accounts": msgspec.to_builtins(crm["accounts"]),
        "sources": msgspec.to_builtins(crm["sources"]),
        "unsorted": msgspec.to_builtins(crm["unsorted"]),
        "talks": msgspec.to_builtins(crm["talks"]),
        "chat_links": [{"chat_id": chat, "contact_id": contact} for chat, contact in crm["chat_links"]],
        "integrations": [{"client_id": i.client_id, "name": i.name, "redirect_uri": i.redirect_uri} for i in crm["integrations"]],
    }
