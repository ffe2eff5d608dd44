"""What an integration changes through amoCRM's REST API: leads, contacts, chat links, incoming leads, talks.

Each function checks the whole request before it changes anything (a refused batch leaves the
state as it was) and works on the same objects the chat flow creates (:mod:`._crm`).
"""

from __future__ import annotations

from typing import Any

from ..errors import CrmNotFound, CrmValidation
from ._accounts import LOST, WON, CrmAccount
from ._chats import Chat
from ._crm import Contact, Crm, Lead, Unsorted
from ._crm_input import Problems, body_list
from ._parties import normalize_phone
from ._talks import Talk

__all__ = [
    "accept_unsorted",
    "add_contacts",
    "add_leads",
    "close_talk",
    "decline_unsorted",
    "link_chats",
    "link_unsorted",
    "update_leads",
]


def _lead(crm: Crm, account: CrmAccount, lead_id: int) -> Lead:
    lead = crm.leads.get(lead_id)
    if lead is None or lead.account_id != account.amojo_id or lead.is_deleted:
        raise CrmNotFound("lead", lead_id)
    return lead


def _contact_ids(problems: Problems, crm: Crm, account: CrmAccount, item: dict[str, Any], rid: str) -> list[int]:
    embedded = item.get("_embedded") or {}
    contacts = embedded.get("contacts") if isinstance(embedded, dict) else None
    if contacts is None:
        return []
    found = []
    for n, entry in enumerate(contacts if isinstance(contacts, list) else [None]):
        cid = problems.integer(entry if isinstance(entry, dict) else {}, "id", f"{rid}._embedded.contacts.{n}", required=True)
        contact = crm.contacts.get(cid) if cid is not None else None
        if cid is not None and (contact is None or contact.account_id != account.amojo_id):
            problems.add(rid, "NotFound", f"{rid}._embedded.contacts.{n}.id", f"No contact {cid} in this account.")
        elif cid is not None:
            found.append(cid)
    return found


def _placement(problems: Problems, account: CrmAccount, item: dict[str, Any], rid: str, current: Lead | None) -> tuple[int, int]:
    """The (pipeline_id, status_id) a lead body asks for; a new lead goes to the main pipeline's first working stage."""
    pipeline_id = problems.integer(item, "pipeline_id", rid)
    status_id = problems.integer(item, "status_id", rid)
    pipeline = account.pipeline(pipeline_id) if pipeline_id is not None else None
    if pipeline_id is not None and pipeline is None:
        problems.add(rid, "NotFound", f"{rid}.pipeline_id", f"No pipeline {pipeline_id} in this account (GET /api/v4/leads/pipelines).")
        return 0, 0
    if status_id is not None:
        holder = pipeline or account.pipeline_of_status(status_id)
        if holder is None or (status_id not in (WON, LOST) and holder.status(status_id) is None):
            problems.add(rid, "NotFound", f"{rid}.status_id", f"No status {status_id} in the pipeline (GET /api/v4/leads/pipelines).")
            return 0, 0
        return holder.id, status_id
    if pipeline is not None:
        return pipeline.id, pipeline.first_working.id
    if current is not None:
        return current.pipeline_id, current.status_id
    return account.main_pipeline.id, account.main_pipeline.first_working.id


def _responsible(problems: Problems, account: CrmAccount, item: dict[str, Any], rid: str) -> int | None:
    user_id = problems.integer(item, "responsible_user_id", rid)
    if user_id is not None and account.amojo_user(user_id) is None:
        problems.add(rid, "NotFound", f"{rid}.responsible_user_id", f"No user {user_id} in this account (GET /api/v4/users).")
    return user_id


def add_leads(crm: Crm, account: CrmAccount, body: Any, now: float) -> list[tuple[Lead, str]]:
    """``POST /api/v4/leads``: each lead with its ``request_id``."""
    items = body_list(body, "leads")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        name = problems.text(item, "name", rid)
        price = problems.integer(item, "price", rid) or 0
        pipeline_id, status_id = _placement(problems, account, item, rid, None)
        responsible = _responsible(problems, account, item, rid)
        contact_ids = _contact_ids(problems, crm, account, item, rid)
        parsed.append((rid, name, price, pipeline_id, status_id, responsible, contact_ids))
    problems.raise_if_any("Fix the fields named in validation-errors; leads take name, price, pipeline_id, status_id, responsible_user_id.")
    added = []
    for rid, name, price, pipeline_id, status_id, responsible, contact_ids in parsed:
        lead_id = crm.new_id()
        lead = Lead(lead_id, account.amojo_id, "", "", contact_ids[0] if contact_ids else 0, "", now, None, "api")
        lead.name, lead.price, lead.pipeline_id, lead.status_id = name or f"Сделка #{lead_id}", price, pipeline_id, status_id
        lead.responsible_user_id, lead.updated_at = responsible or 0, now
        lead.closed_at = now if status_id in (WON, LOST) else None
        crm.leads[lead.id] = lead
        added.append((lead, rid))
    return added


def update_leads(crm: Crm, account: CrmAccount, body: Any, now: float, lead_id: int | None = None) -> list[tuple[Lead, str]]:
    """``PATCH /api/v4/leads`` (each item names its ``id``) or ``PATCH /api/v4/leads/{id}``."""
    items = body_list(body, "leads")
    problems = Problems()
    changes = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        target = lead_id if lead_id is not None else problems.integer(item, "id", rid, required=True)
        if target is None:
            continue
        lead = _lead(crm, account, target)
        name = problems.text(item, "name", rid)
        price = problems.integer(item, "price", rid)
        pipeline_id, status_id = _placement(problems, account, item, rid, lead)
        responsible = _responsible(problems, account, item, rid)
        contact_ids = _contact_ids(problems, crm, account, item, rid)
        changes.append((lead, rid, name, price, pipeline_id, status_id, responsible, contact_ids))
    problems.raise_if_any()
    for lead, _rid, name, price, pipeline_id, status_id, responsible, contact_ids in changes:
        lead.name = name or lead.name
        lead.price = lead.price if price is None else price
        if status_id != lead.status_id:
            lead.closed_at = now if status_id in (WON, LOST) else None
        lead.pipeline_id, lead.status_id = pipeline_id, status_id
        lead.responsible_user_id = lead.responsible_user_id if responsible is None else responsible
        if contact_ids:
            lead.contact_id = contact_ids[0]
        lead.updated_at = now
        # An accepted-by-moving incoming lead is sorted: amoCRM leaves the incoming-leads stage the same way.
        _sort_by_move(crm, lead, now)
    return [(change[0], change[1]) for change in changes]


def _sort_by_move(crm: Crm, lead: Lead, now: float) -> None:
    for unsorted in crm.unsorted.values():
        if unsorted.lead_id == lead.id and unsorted.state == "new":
            account = crm.accounts[lead.account_id]
            pipeline = account.pipeline(lead.pipeline_id)
            if pipeline is None or lead.status_id != pipeline.incoming.id:
                unsorted.state, unsorted.sorted_at = "accepted", now


def _fields(item: dict[str, Any]) -> tuple[str, str]:
    """The first PHONE and EMAIL values of a contact body's custom_fields_values."""
    phone = email = ""
    for entry in item.get("custom_fields_values") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
            continue
        values = [v.get("value") for v in entry["values"] if isinstance(v, dict)]
        first = next((v for v in values if isinstance(v, str) and v), "")
        if entry.get("field_code") == "PHONE" and not phone:
            phone = normalize_phone(first)
        elif entry.get("field_code") == "EMAIL" and not email:
            email = first
    return phone, email


def add_contacts(crm: Crm, account: CrmAccount, body: Any, now: float) -> list[tuple[Contact, str]]:
    """``POST /api/v4/contacts``; their phones and emails are the keys a chat's client is matched by."""
    items = body_list(body, "contacts")
    problems = Problems()
    parsed = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        name = problems.text(item, "name", rid)
        first, last = problems.text(item, "first_name", rid), problems.text(item, "last_name", rid)
        responsible = _responsible(problems, account, item, rid)
        values = item.get("custom_fields_values")
        if values is not None and not isinstance(values, list):
            problems.add(rid, "InvalidType", f"{rid}.custom_fields_values", "custom_fields_values is an array of {field_code, values}.")
        phone, email = _fields(item) if isinstance(values, list) else ("", "")
        parsed.append((rid, name or " ".join(p for p in (first, last) if p), responsible, phone, email))
    problems.raise_if_any()
    added = []
    for rid, name, responsible, phone, email in parsed:
        contact = crm.add_contact(Contact(crm.new_id(), account.amojo_id, name, phone, email, now, now, responsible or 0))
        added.append((contact, rid))
    return added


def link_chats(crm: Crm, chats: dict[str, Chat], account: CrmAccount, body: Any) -> list[tuple[str, int, str]]:
    """``POST /api/v4/contacts/chats``: later incoming leads of the chat take this contact."""
    items = body_list(body, "chat links")
    problems = Problems()
    links = []
    for index in range(len(items)):
        item = problems.item(items, index)
        rid = str(item.get("request_id", index))
        chat_id = problems.text(item, "chat_id", rid, required=True)
        contact_id = problems.integer(item, "contact_id", rid, required=True)
        chat = chats.get(chat_id)
        if chat_id and (chat is None or chat.scope_id.partition("_")[2] != account.amojo_id):
            problems.add(
                rid, "NotFound", f"{rid}.chat_id", "No chat with this id in the account: use amojo's chat id (create chat's answer, id)."
            )
        contact = crm.contacts.get(contact_id) if contact_id is not None else None
        if contact_id is not None and (contact is None or contact.account_id != account.amojo_id):
            problems.add(rid, "NotFound", f"{rid}.contact_id", f"No contact {contact_id} in this account.")
        linked = crm.chat_links.get(chat_id)
        if linked is not None and contact_id is not None and linked != contact_id:
            problems.add(rid, "AlreadyLinked", f"{rid}.chat_id", f"The chat is already linked to contact {linked}.")
        links.append((chat_id, contact_id or 0, rid))
    problems.raise_if_any("A chat links to one contact; link it before its first message to have the incoming lead use that contact.")
    for chat_id, contact_id, _rid in links:
        crm.chat_links[chat_id] = contact_id
    return links


def _unsorted(crm: Crm, account: CrmAccount, uid: str) -> Unsorted:
    found = crm.unsorted.get(uid)
    if found is None or found.account_id != account.amojo_id:
        raise CrmNotFound("unsorted", uid, hint="Incoming leads are named by uid: GET /api/v4/leads/unsorted lists them.")
    if found.state != "new":
        raise CrmValidation(
            [("0", "AlreadySorted", "uid", f"This incoming lead was already {found.state}.")],
            hint="An incoming lead is accepted, declined or linked once.",
        )
    return found


def accept_unsorted(crm: Crm, account: CrmAccount, uid: str, body: Any, now: float) -> Unsorted:
    """Accept: the lead moves to ``status_id`` (default: the stage after incoming leads), ``user_id`` becomes responsible."""
    item = body if isinstance(body, dict) else {}
    unsorted = _unsorted(crm, account, uid)
    problems = Problems()
    user_id = problems.integer(item, "user_id", "0")
    status_id = problems.integer(item, "status_id", "0")
    pipeline = account.pipeline(unsorted.pipeline_id) or account.main_pipeline
    if user_id is not None and account.amojo_user(user_id) is None:
        problems.add("0", "NotFound", "user_id", f"No user {user_id} in this account (GET /api/v4/users).")
    if status_id is not None and (pipeline.status(status_id) is None or status_id == pipeline.incoming.id):
        problems.add("0", "NotFound", "status_id", f"status_id must be a stage of pipeline {pipeline.id} other than incoming leads.")
    problems.raise_if_any()
    lead = crm.leads[unsorted.lead_id]
    lead.status_id = status_id if status_id is not None else pipeline.first_working.id
    lead.responsible_user_id = user_id if user_id is not None else lead.responsible_user_id
    lead.updated_at = now
    lead.closed_at = now if lead.status_id in (WON, LOST) else None
    unsorted.state, unsorted.sorted_at = "accepted", now
    return unsorted


def decline_unsorted(crm: Crm, chats: dict[str, Chat], account: CrmAccount, uid: str, now: float) -> Unsorted:
    """Decline: the lead is deleted and the talk closed; the chat's next client message opens a new incoming lead."""
    unsorted = _unsorted(crm, account, uid)
    lead = crm.leads[unsorted.lead_id]
    lead.is_deleted, lead.updated_at = True, now
    chat = chats.get(unsorted.chat_id)
    if chat is not None and chat.lead_id == lead.id:
        chat.lead_id = None
    talk = crm.talks.open.get(unsorted.chat_id)
    if talk is not None:
        crm.talks.close(talk, now)
    unsorted.state, unsorted.sorted_at = "declined", now
    return unsorted


def link_unsorted(crm: Crm, chats: dict[str, Chat], account: CrmAccount, uid: str, body: Any, now: float) -> tuple[Unsorted, Lead]:
    """Link a chat's incoming lead to an existing lead: the chat and its talk now belong to that lead."""
    unsorted = _unsorted(crm, account, uid)
    link = body.get("link") if isinstance(body, dict) else None
    problems = Problems()
    entity_id = problems.integer(link if isinstance(link, dict) else {}, "entity_id", "link", required=True)
    if isinstance(link, dict) and link.get("entity_type") not in ("leads", None):
        problems.add("0", "NotSupportedChoice", "link.entity_type", "The fake links incoming leads to leads only (entity_type: leads).")
    problems.raise_if_any('Send {"link": {"entity_id": <lead id>, "entity_type": "leads"}}.')
    assert entity_id is not None
    target = _lead(crm, account, entity_id)
    own = crm.leads[unsorted.lead_id]
    own.is_deleted, own.updated_at = True, now
    chat = chats.get(unsorted.chat_id)
    if chat is not None:
        chat.lead_id = target.id
    target.chat_id = target.chat_id or unsorted.chat_id
    target.updated_at = now
    talk = crm.talks.open.get(unsorted.chat_id)
    if talk is not None:
        talk.lead_id = target.id
    unsorted.state, unsorted.sorted_at = "linked", now
    return unsorted, target


def close_talk(crm: Crm, account: CrmAccount, talk_id: int, now: float) -> Talk:
    """``POST /api/v4/talks/{id}/close`` (``force_close`` only decides on an NPS bot, which the fake has not)."""
    talk = crm.talks.by_id.get(talk_id)
    if talk is None or talk.account_id != account.amojo_id:
        raise CrmNotFound("talk", talk_id, hint="A talk id comes from the chat's incoming lead or GET /api/v4/talks/{id}.")
    return crm.talks.close(talk, now)
